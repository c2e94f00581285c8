"""Emails about staged releases, sent by Celery once the change has committed."""

from functools import partial

from celery import shared_task
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from portal.links import registry_url
from registry.approvals import approvals_summary
from registry.authz import package_writers
from registry.models import StagedRelease

# What happened → (template, who hears of it)
EVENTS = {
    "staged": "stage_created",
    "reminder": "stage_reminder",
    "approval": "stage_approval",
    "approved": "stage_decided",
    "rejected": "stage_decided",
    "expired": "stage_decided",
}


def staged_release_notify(staged: StagedRelease, event: str) -> None:
    """Enqueue the emails for `event` after the current transaction commits."""
    if event not in EVENTS:
        raise ValueError(f"unknown staged-release event {event!r}")
    transaction.on_commit(partial(staged_release_mail_task.delay, str(staged.pk), event))


# Defined beside `staged_release_notify`, which enqueues it, so the services need not import
# registry.tasks; its name is the one the queue has always known it by.
@shared_task(
    name="registry.tasks.staged_release_mail",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def staged_release_mail_task(stage_id: str, event: str) -> int:
    return staged_release_mail_send(stage_id, event)


def staged_release_mail_send(stage_id: str, event: str) -> int:
    """Send the emails for `event`; returns how many went. Safe to run twice (at worst a
    duplicate email, never a wrong one)."""
    staged = (
        StagedRelease.objects.select_related("package__org", "actor").filter(pk=stage_id).first()
    )
    if staged is None:
        return 0
    maintainers = list(package_writers(staged.package))
    if event == "reminder":
        approved = set(staged.approvals.values_list("user_id", flat=True))
        people = [user for user in maintainers if user.pk not in approved]
    else:
        people = maintainers + (
            [staged.actor] if staged.actor and staged.actor not in maintainers else []
        )
    approvals, required = approvals_summary(staged)
    context = {
        "staged": staged,
        "event": event,
        "review_url": registry_url(reverse("registry:staged-review", args=[staged.pk])),
        # Counted as the approval service counts them (the org's quorum, if higher).
        "approvals": approvals,
        "approvals_required": required,
    }
    sent = 0
    for user in people:
        if not user.email or not user.is_active:
            continue
        text = render_to_string(f"emails/{EVENTS[event]}.txt", {**context, "user": user})
        subject, _, body = text.strip().partition("\n")
        send_mail(subject.strip(), body.strip(), None, [user.email])
        sent += 1
    return sent
