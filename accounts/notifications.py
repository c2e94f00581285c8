"""Emails to people about their own account, sent by Celery after the change commits."""

from functools import partial

from django.db import transaction
from django.template.loader import render_to_string


def notify(user, template: str, *, to: str | None = None, **context) -> None:
    """Email `user` (or the address `to`) the message in templates/emails/<template>.txt.

    The first line of the template is the subject.
    """
    from accounts.tasks import email_send

    text = render_to_string(f"emails/{template}.txt", {"user": user, **context})
    subject, _, body = text.strip().partition("\n")
    address = to or user.email
    if address:
        transaction.on_commit(partial(email_send.delay, address, subject.strip(), body.strip()))
