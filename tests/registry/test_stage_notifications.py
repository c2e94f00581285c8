"""Emails about staged releases: through a real Celery worker over Redis (the path production
takes: enqueued on commit, consumed by a worker), and eagerly for who gets which email."""

import threading
import time
import uuid
from datetime import timedelta

import pytest
from celery.signals import task_postrun
from django.core import mail
from django.db import transaction
from django.utils import timezone

from accounts.actors import Actor
from accounts.services.tokens import token_issue
from registry.models import Maintainer, Package, StagedApproval, StagedRelease, Version
from registry.notifications import staged_release_mail_send, staged_release_notify
from registry.orgs.models import Org
from registry.services.stage import (
    decision_operation,
    staged_release_approve,
    staged_release_reject,
)
from registry.tasks import staged_releases_sweep
from tests.accounts.factors import enroll_app
from tests.registry.helpers import publish
from tests.registry.test_staging_views import RISKY, stage

WAIT_SECONDS = 20
Status = StagedRelease.Status


def key_approved(user, staged, verb: str) -> Actor:
    """`user` right after a security-key assertion bound to deciding `staged` (the review
    page's ceremony, tested in tests/browser/test_staging.py)."""
    return Actor(user=user, key_proof=decision_operation(staged, verb).key)


@pytest.fixture
def finished():
    """Names and return values of the tasks the worker finished, in order."""
    done: list[tuple[str, object]] = []
    lock = threading.Lock()

    def record(sender=None, retval=None, **kwargs):
        with lock:
            done.append((sender.name, retval))

    task_postrun.connect(record, weak=False)
    yield done
    task_postrun.disconnect(record)


def sweep_results(finished) -> list:
    return [retval for name, retval in finished if name == staged_releases_sweep.name]


def wait_for(condition, what: str):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def wait_for_mail(count: int, about: str) -> list:
    """The emails whose subject names `about` (other emails, e.g. "a second factor was
    added", are not this module's business), once `count` arrived and no more follow."""

    def matching():
        return [m for m in mail.outbox if f" {about} " in m.subject]

    wait_for(lambda: len(matching()) >= count, f"{count} emails about {about}")
    time.sleep(0.2)
    return matching()


def by_recipient(messages) -> dict[str, object]:
    found = {}
    for message in messages:
        [to] = message.to
        assert to not in found, f"two emails to {to}"
        found[to] = message
    return found


def _package(name: str) -> Package:
    return Package.objects.get(name=name)


def add_maintainer(staged_or_package, user) -> None:
    package = getattr(staged_or_package, "package", staged_or_package)
    Maintainer.objects.create(package=package, user=user)


@pytest.mark.django_db(transaction=True)
def test_staging_emails_every_maintainer_the_review_link(
    client, alice_token, bob, bob_token, carol, real_worker
):
    publish(client, alice_token, "mailed", "1.0.0")
    add_maintainer(_package("mailed"), bob)

    staged = stage(bob_token, "mailed", "1.1.0", **RISKY)

    sent = by_recipient(wait_for_mail(2, "mailed@1.1.0"))
    assert set(sent) == {"alice@example.com", "bob@example.com"}
    link = f"http://localhost:8000/staging/{staged.pk}/"
    for message in sent.values():
        assert message.subject == "Gatehouse: mailed@1.1.0 is waiting for your review"
        assert link in message.body
        assert "bob (token test) staged mailed@1.1.0" in message.body
        assert "Review signals: 2 high-risk signals: install script added, git dependency" in (
            message.body
        )
    assert sent["alice@example.com"].body.startswith("Hello alice,")


@pytest.mark.django_db(transaction=True)
def test_approval_emails_the_maintainers_and_the_stager(
    client, alice, alice_token, bob, bob_token, real_worker
):
    publish(client, alice_token, "approved-mail", "1.0.0")
    add_maintainer(_package("approved-mail"), bob)
    staged = stage(bob_token, "approved-mail", "1.1.0")
    wait_for_mail(2, "approved-mail@1.1.0")
    mail.outbox.clear()
    Maintainer.objects.filter(user=bob).delete()  # the stager hears of it all the same
    enroll_app(alice)

    staged_release_approve(actor=key_approved(alice, staged, "approve"), stage_id=staged.pk)

    sent = by_recipient(wait_for_mail(2, "approved-mail@1.1.0"))
    assert set(sent) == {"alice@example.com", "bob@example.com"}
    for message in sent.values():
        assert message.subject == "Gatehouse: approved-mail@1.1.0 was published"
        assert "was published by alice" in message.body
        assert 'Installers now get it with the tag "latest".' in message.body
        assert f"/staging/{staged.pk}/" in message.body


@pytest.mark.django_db(transaction=True)
def test_partial_approval_and_rejection_email_maintainers_and_the_stager(
    client, alice, alice_token, bob, bob_token, real_worker
):
    publish(client, alice_token, "rejected-mail", "1.0.0")
    add_maintainer(_package("rejected-mail"), bob)
    staged = stage(bob_token, "rejected-mail", "1.1.0")
    staged.package.approvals_required = 2
    staged.package.save()
    wait_for_mail(2, "rejected-mail@1.1.0")
    mail.outbox.clear()
    enroll_app(alice)

    staged_release_approve(actor=key_approved(alice, staged, "approve"), stage_id=staged.pk)
    approval = by_recipient(wait_for_mail(2, "rejected-mail@1.1.0"))
    assert approval["bob@example.com"].subject == (
        "Gatehouse: rejected-mail@1.1.0 was approved by alice"
    )
    assert "1 of 2 approvals are in" in approval["bob@example.com"].body
    mail.outbox.clear()

    staged_release_reject(actor=key_approved(alice, staged, "reject"), stage_id=staged.pk)

    sent = by_recipient(wait_for_mail(2, "rejected-mail@1.1.0"))
    assert set(sent) == {"alice@example.com", "bob@example.com"}
    for message in sent.values():
        assert message.subject == "Gatehouse: rejected-mail@1.1.0 was rejected"
        assert "was rejected by alice" in message.body
        assert "Its version number is free again." in message.body


@pytest.mark.django_db(transaction=True)
def test_the_sweep_expires_an_overdue_release(client, alice_token, finished, real_worker):
    publish(client, alice_token, "overdue", "1.0.0")
    staged = stage(alice_token, "overdue", "1.1.0")
    wait_for_mail(1, "overdue@1.1.0")
    mail.outbox.clear()
    StagedRelease.objects.filter(pk=staged.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    staged_releases_sweep.delay()

    [message] = wait_for_mail(1, "overdue@1.1.0")
    assert message.subject == "Gatehouse: overdue@1.1.0 was expired"
    assert "Nobody approved it in time" in message.body
    staged.refresh_from_db()
    assert staged.status == Status.EXPIRED and staged.version is None
    assert not Version.objects.filter(package__name="overdue", version="1.1.0").exists()
    assert sweep_results(finished) == [(1, 0)]
    # The version number is free again: it can be published.
    assert publish(client, alice_token, "overdue", "1.1.0").status_code == 201


@pytest.mark.django_db(transaction=True)
def test_the_sweep_reminds_approvers_once(
    client, alice, alice_token, bob, carol, finished, real_worker
):
    publish(client, alice_token, "reminded", "1.0.0")
    for user in (bob, carol):
        add_maintainer(_package("reminded"), user)
    staged = stage(alice_token, "reminded", "1.1.0")
    staged.package.approvals_required = 3
    staged.package.save()
    wait_for_mail(3, "reminded@1.1.0")
    mail.outbox.clear()
    enroll_app(bob)
    staged_release_approve(actor=key_approved(bob, staged, "approve"), stage_id=staged.pk)
    wait_for_mail(3, "reminded@1.1.0")  # 1 of 3 approvals are in
    mail.outbox.clear()
    StagedRelease.objects.filter(pk=staged.pk).update(
        expires_at=timezone.now() + timedelta(hours=2)
    )

    staged_releases_sweep.delay()
    staged_releases_sweep.delay()
    wait_for(lambda: len(sweep_results(finished)) == 2, "two sweeps")

    sent = by_recipient(wait_for_mail(2, "reminded@1.1.0"))
    assert set(sent) == {"alice@example.com", "carol@example.com"}  # bob approved already
    for message in sent.values():
        assert message.subject == "Gatehouse: reminded@1.1.0 expires soon"
        assert f"/staging/{staged.pk}/" in message.body
    assert sweep_results(finished) == [(0, 1), (0, 0)]  # (expired, reminded) by each run
    staged.refresh_from_db()
    assert staged.reminded_at is not None and staged.status == Status.STAGED


# Eagerly: who gets which email --------------------------------------------------------------


@pytest.mark.django_db
def test_emails_wait_for_the_commit(alice_token, django_capture_on_commit_callbacks):
    staged = stage(alice_token, "uncommitted")
    mail.outbox.clear()

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        staged_release_notify(staged, "staged")
        raise RuntimeError("rolled back")
    assert callbacks == [] and mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        staged_release_notify(staged, "staged")
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


@pytest.mark.django_db
def test_unknown_events_are_refused(alice_token):
    staged = stage(alice_token, "unknown-event")
    with pytest.raises(ValueError, match="unknown staged-release event"):
        staged_release_notify(staged, "approve")


@pytest.mark.django_db
def test_a_vanished_release_sends_nothing():
    assert staged_release_mail_send(str(uuid.uuid4()), "staged") == 0


@pytest.mark.django_db
def test_reminders_skip_approvers_and_every_email_skips_the_unreachable(
    alice, alice_token, bob, carol, django_capture_on_commit_callbacks
):
    staged = stage(alice_token, "recipients")
    for user in (bob, carol):
        add_maintainer(staged, user)
    enroll_app(bob, mode="auth-only")  # an approval counts while its approver holds a factor
    StagedApproval.objects.create(staged_release=staged, user=bob, factor="app", sha512="x")
    carol.is_active = False
    carol.save()
    mail.outbox.clear()

    assert staged_release_mail_send(str(staged.pk), "reminder") == 1
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    mail.outbox.clear()

    alice.email = ""
    alice.save()
    assert staged_release_mail_send(str(staged.pk), "staged") == 1
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]


@pytest.mark.django_db
def test_eager_sweep_expires_and_reminds(alice_token, django_capture_on_commit_callbacks):
    overdue = stage(alice_token, "eager-overdue")
    soon = stage(alice_token, "eager-soon")
    later = stage(alice_token, "eager-later")
    now = timezone.now()
    StagedRelease.objects.filter(pk=overdue.pk).update(expires_at=now - timedelta(seconds=1))
    StagedRelease.objects.filter(pk=soon.pk).update(expires_at=now + timedelta(hours=23))
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert staged_releases_sweep.delay().get() == (1, 1)
    subjects = sorted(m.subject for m in mail.outbox)
    assert subjects == [
        "Gatehouse: eager-overdue@1.0.0 was expired",
        "Gatehouse: eager-soon@1.0.0 expires soon",
    ]
    later.refresh_from_db()
    assert later.status == Status.STAGED and later.reminded_at is None


@pytest.mark.django_db
def test_emails_count_approvals_as_the_service_does(
    alice, alice_token, bob, django_capture_on_commit_callbacks
):
    """The org's quorum, when higher than the package's, is the one the emails state."""
    staged = stage(alice_token, "org-quorum")
    add_maintainer(staged, bob)
    staged.package.org = Org.objects.create(name="quorum-org", approvals_required=3)
    staged.package.save()
    mail.outbox.clear()

    staged_release_mail_send(str(staged.pk), "staged")
    assert "only when 3 maintainers approve it" in mail.outbox[0].body

    enroll_app(bob, mode="auth-only")  # an approval counts while its approver holds a factor
    StagedApproval.objects.create(staged_release=staged, user=bob, factor="app", sha512="x")
    mail.outbox.clear()
    staged_release_mail_send(str(staged.pk), "approval")
    assert mail.outbox[0].subject == "Gatehouse: org-quorum@1.0.0 was approved by bob"
    assert "1 of 3 approvals are in" in mail.outbox[0].body


@pytest.mark.django_db
def test_plain_text_emails_are_not_html_escaped(alice, django_capture_on_commit_callbacks):
    token = token_issue(actor=Actor(user=alice), user=alice, name="""Al's "CI" & <release>""")
    staged = stage(token, "unescaped")
    mail.outbox.clear()

    staged_release_mail_send(str(staged.pk), "staged")

    assert """alice (token Al's "CI" & <release>) staged unescaped@1.0.0""" in mail.outbox[0].body
    assert "&" + "#x27;" not in mail.outbox[0].body and "&amp;" not in mail.outbox[0].body
