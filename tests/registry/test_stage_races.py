"""Staged publishing under concurrency: a stage and a publish of one version, and two
decisions on one staged release, each in its own thread and connection. They must hold
on PostgreSQL, where the transactions really overlap.

On SQLite (a file, as in the embedded mode) BEGIN IMMEDIATE makes the second writer wait
for the first to commit, so there the transactions take turns.
"""

import json
import threading
import time
from contextlib import contextmanager

import pytest
from django.db import connection, transaction
from django.test import Client

from accounts.actors import Actor
from accounts.models import SecurityEvent, User
from registry.models import Maintainer, Package, Packument, StagedApproval, StagedRelease, Version
from registry.services import publish as publish_service
from registry.services import stage as stage_service
from registry.services.metadata import maintainers_set
from tests.accounts.factors import app_code, enroll_app
from tests.packages import publish_body
from tests.registry.helpers import publish

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(*requests) -> list:
    """Run each `request(client)` in its own thread; returns their responses in order."""
    responses: list = [None] * len(requests)

    def run(index: int, request) -> None:
        try:
            responses[index] = request(Client())
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


class Meeting:
    """Two threads enter their next transaction together (on SQLite: one after the other)."""

    def __init__(self):
        self.barrier = threading.Barrier(2)

    @contextmanager
    def around(self, context):
        self.barrier.wait(timeout=20)
        with context as value:
            yield value


def events(action: str, name: str) -> int:
    return SecurityEvent.objects.filter(action=action, package_name=name).count()


def packument(name: str) -> dict:
    return json.loads(bytes(Packument.objects.get(name=name).full))


def error_of(response) -> str:
    return response.json()["error"]


# --- a stage and a publish of the same version ---------------------------------------------------


@pytest.fixture
def make_stage_and_publish_meet(monkeypatch):
    """Once armed, the stage and the publish both pass their checks (the version is free for
    both), then open their writing transactions together."""
    meeting = Meeting()

    def arm():
        for service in (stage_service, publish_service):
            real = service.blob_cleanup
            monkeypatch.setattr(service, "blob_cleanup", lambda real=real: meeting.around(real()))

    return arm


@pytest.mark.parametrize("package_exists", [False, True], ids=["new-package", "new-version"])
def test_a_stage_and_a_publish_of_one_version_at_once_leave_it_to_one(
    package_exists, alice_token, make_stage_and_publish_meet
):
    if package_exists:
        assert publish(Client(), alice_token, "contest", "0.1.0").status_code == 201
    make_stage_and_publish_meet()
    # Different bytes, so whichever loses cannot slip its tarball in.
    staging = publish_body("contest", "1.0.0", package_json={"description": "staged"})
    publishing = publish_body("contest", "1.0.0", package_json={"description": "published"})

    staged, published = run_together(
        lambda client: client.post(
            "/-/stage/package/contest",
            data=json.dumps(staging),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {alice_token}",
        ),
        lambda client: client.put(
            "/contest",
            data=json.dumps(publishing),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {alice_token}",
        ),
    )

    # The publish that loses to a staged release hears that it waits for approval (409);
    # the stage that loses to a published version hears it exists (403).
    assert sorted([staged.status_code, published.status_code]) in ([201, 403], [201, 409]), (
        staged.content,
        published.content,
    )
    loser = published if staged.status_code == 201 else staged
    expected = "waits for approval" if loser.status_code == 409 else "You cannot publish over"
    assert expected in error_of(loser)
    version = Version.objects.get(package__name="contest", version="1.0.0")
    if staged.status_code == 201:
        assert version.state == "staged"
        assert version.manifest["description"] == "staged"
        assert StagedRelease.objects.get().version == version
        # A package that was only staged has no packument yet.
        installable = packument("contest")["versions"] if package_exists else {}
        assert "1.0.0" not in installable
    else:
        assert version.state == "published"
        assert version.manifest["description"] == "published"
        assert not StagedRelease.objects.exists()
        assert packument("contest")["versions"]["1.0.0"]["description"] == "published"
    assert Package.objects.filter(name="contest").count() == 1
    assert list(Maintainer.objects.values_list("user__username", flat=True)) == ["alice"]


# --- two decisions on one staged release ---------------------------------------------------------


@pytest.fixture
def make_decisions_meet(monkeypatch):
    """Once armed, both decisions pass their checks (the release is still staged for both),
    then open the service's transactions together."""
    meeting = Meeting()

    class Transactions:
        @staticmethod
        def atomic():
            return meeting.around(transaction.atomic())

    return lambda: monkeypatch.setattr(stage_service, "transaction", Transactions)


@pytest.fixture
def two_approvers(alice, bob, alice_token):
    """A staged release of `decided` that alice or bob alone may approve."""
    response = Client().post(
        "/-/stage/package/decided",
        data=json.dumps(publish_body("decided", "1.0.0")),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {alice_token}",
    )
    assert response.status_code == 201, response.content
    Maintainer.objects.create(package=Package.objects.get(name="decided"), user=bob)
    codes = {
        user.username: app_code(enroll_app(user, mode="auth-only")[0], steps_ahead=1)
        for user in (alice, bob)
    }
    return StagedRelease.objects.get(pk=response.json()["stageId"]), codes


def decision(verb: str, release, token: str, code: str):
    def request(client):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_NPM_OTP": code}
        if verb == "approve":
            return client.post(f"/-/stage/{release.pk}/approve", **headers)
        return client.delete(f"/-/stage/{release.pk}", **headers)

    return request


def test_two_approvals_at_once_publish_the_release_once(
    two_approvers, alice_token, bob_token, make_decisions_meet
):
    release, codes = two_approvers
    make_decisions_meet()

    responses = run_together(
        decision("approve", release, alice_token, codes["alice"]),
        decision("approve", release, bob_token, codes["bob"]),
    )

    assert sorted(r.status_code for r in responses) == [200, 409], [r.content for r in responses]
    (late,) = [r for r in responses if r.status_code == 409]
    assert (
        error_of(late) == "decided@1.0.0 was already published; there is nothing left to approve."
    )
    version = Version.objects.get(package__name="decided", version="1.0.0")
    assert version.state == "published"
    assert StagedApproval.objects.count() == 1
    assert events("package:stage-approve", "decided") == 1
    assert events("package:publish", "decided") == 1
    document = packument("decided")
    assert list(document["versions"]) == ["1.0.0"]
    assert document["dist-tags"] == {"latest": "1.0.0"}


def test_an_approval_and_a_rejection_at_once_decide_the_release_once(
    two_approvers, alice_token, bob_token, make_decisions_meet
):
    release, codes = two_approvers
    make_decisions_meet()

    approved, rejected = run_together(
        decision("approve", release, alice_token, codes["alice"]),
        decision("reject", release, bob_token, codes["bob"]),
    )

    assert sorted([approved.status_code, rejected.status_code]) == [200, 409]
    release.refresh_from_db()
    versions = Version.objects.filter(package__name="decided")
    if approved.status_code == 200:
        assert release.status == StagedRelease.Status.PUBLISHED
        assert error_of(rejected) == (
            "decided@1.0.0 was already published; there is nothing left to reject."
        )
        assert list(versions.values_list("state", flat=True)) == ["published"]
        assert list(packument("decided")["versions"]) == ["1.0.0"]
    else:
        assert release.status == StagedRelease.Status.REJECTED
        assert error_of(approved) == (
            "decided@1.0.0 was already rejected; there is nothing left to approve."
        )
        assert not versions.exists()
        assert not StagedApproval.objects.exists()
        assert events("package:publish", "decided") == 0


# --- an approval and the removal of an earlier approver -----------------------------------------


def test_an_approval_never_counts_an_approver_removed_before_it(client, alice, alice_token, bob):
    """bob approved; carol's approval, which completes the quorum of two, races alice's
    removal of bob as a maintainer. 50 times: whichever goes first, the release is published
    only if bob was still a maintainer when it was, and stays staged otherwise."""
    carol = User.objects.create_user(username="carol2", email="c2@example.com", password="x")
    for person in (alice, bob, carol):
        enroll_app(person, mode="auth-only")
    published = staged = 0
    for attempt in range(50):
        name = f"race-quorum-{attempt}"
        assert publish(client, alice_token, name, "1.0.0").status_code == 201
        package = Package.objects.get(name=name)
        Package.objects.filter(pk=package.pk).update(approvals_required=2)
        for person in (bob, carol):
            Maintainer.objects.create(package=package, user=person)
        release = stage_service.version_stage(
            actor=Actor(user=alice), name=name, body=publish_body(name, "1.1.0")
        )
        approve_as(bob, release)

        meeting = Meeting()

        def approve(_client, release=release, meeting=meeting):
            with meeting.around(transaction.atomic()):
                approve_as(carol, release)

        def remove_bob(_client, name=name, meeting=meeting):
            with meeting.around(transaction.atomic()):
                maintainers_set(
                    actor=Actor(user=alice, session_factor_at=time.time()),
                    name=name,
                    rev=None,
                    maintainers=[{"name": "alice"}, {"name": "carol2"}],
                )

        run_together(approve, remove_bob)

        release.refresh_from_db()
        removal = SecurityEvent.objects.get(action="package:owner-remove", package_name=name)
        if release.status == StagedRelease.Status.PUBLISHED:
            went_out = SecurityEvent.objects.get(
                action="package:publish", package_name=name, details__version="1.1.0"
            )
            assert went_out.pk < removal.pk, f"attempt {attempt}: published after bob left"
            published += 1
        else:
            assert release.status == StagedRelease.Status.STAGED
            assert carol.pk in set(release.approvals.values_list("user_id", flat=True))
            staged += 1
    assert published + staged == 50


def approve_as(user, release) -> None:
    """`user` approves with a security-key assertion bound to this release."""
    key = stage_service.decision_operation(release, "approve").key
    stage_service.staged_release_approve(actor=Actor(user=user, key_proof=key), stage_id=release.pk)
