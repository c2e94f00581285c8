"""Emails to people about their own account, sent by Celery after the change commits."""

from functools import partial

from celery import shared_task
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string


def notify(user, template: str, *, to: str | None = None, **context) -> None:
    """Email `user` (or the address `to`) the message in templates/emails/<template>.txt.

    The first line of the template is the subject.
    """
    text = render_to_string(f"emails/{template}.txt", {"user": user, **context})
    subject, _, body = text.strip().partition("\n")
    address = to or user.email
    if address:
        transaction.on_commit(partial(email_send.delay, address, subject.strip(), body.strip()))


# Defined beside `notify`, which enqueues it, so no service has to import accounts.tasks;
# its name is the one the queue has always known it by.
@shared_task(
    name="accounts.tasks.email_send", autoretry_for=(OSError,), retry_backoff=True, max_retries=5
)
def email_send(address: str, subject: str, body: str) -> None:
    send_mail(subject, body, None, [address])
