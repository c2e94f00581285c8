"""Governance beyond the matrix (tests/test_governance_matrix.py): approvals that stop
counting, the notices every governance change sends, and the portal's proof."""

import time

import pytest
from django.core import mail

from accounts import sudo
from accounts.actors import Actor
from accounts.models import SecurityEvent
from accounts.second_factor import OTPRequired
from portal.errors import PermissionDenied
from registry.models import Maintainer, Package, StagedRelease
from registry.services.metadata import maintainers_set
from registry.services.package_settings import package_settings_update
from registry.services.stage import decision_operation, staged_release_approve
from tests.accounts.factors import Codes, with_fresh_factor
from tests.conftest import PASSWORD
from tests.packages import publish_body
from tests.registry.helpers import publish, write

pytestmark = pytest.mark.django_db


def stage(client, token: str, name: str, version: str) -> StagedRelease:
    response = write(client, "post", f"/-/stage/package/{name}", token, publish_body(name, version))
    assert response.status_code == 201, response.content
    return StagedRelease.objects.get(pk=response.json()["stageId"])


def approve(client, staged, token: str, code: str):
    return client.post(
        f"/-/stage/{staged.pk}/approve", HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_NPM_OTP=code
    )


@pytest.fixture
def quorum(client, alice, alice_token, bob):
    """`quorum` needs two approvals; alice and bob maintain it, both with an app."""
    assert publish(client, alice_token, "quorum", "1.0.0").status_code == 201
    Maintainer.objects.create(package=Package.objects.get(name="quorum"), user=bob)
    Package.objects.filter(name="quorum").update(approvals_required=2)
    return Codes(alice, mode="auth-only"), Codes(bob, mode="auth-only")


def test_an_approval_stops_counting_when_its_approver_loses_access(
    client, quorum, alice_token, bob, bob_token
):
    alice_codes, bob_codes = quorum
    staged = stage(client, alice_token, "quorum", "1.1.0")
    assert approve(client, staged, bob_token, bob_codes()).json()["approvals"] == "1 of 2"
    Maintainer.objects.filter(user=bob).delete()

    response = approve(client, staged, alice_token, alice_codes())

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "staged"
    assert response.json()["approvals"] == "1 of 2"
    staged.refresh_from_db()
    assert staged.status == StagedRelease.Status.STAGED


def test_an_approval_stops_counting_when_its_approver_loses_the_second_factor(
    client, quorum, alice_token, bob, bob_token
):
    alice_codes, bob_codes = quorum
    staged = stage(client, alice_token, "quorum", "1.1.0")
    approve(client, staged, bob_token, bob_codes())
    type(bob).objects.filter(pk=bob.pk).update(tfa_mode="disabled")

    response = approve(client, staged, alice_token, alice_codes())

    assert response.json()["status"] == "staged"


def test_approvals_that_still_count_publish(client, quorum, alice_token, bob_token):
    alice_codes, bob_codes = quorum
    staged = stage(client, alice_token, "quorum", "1.1.0")
    approve(client, staged, bob_token, bob_codes())

    response = approve(client, staged, alice_token, alice_codes())

    assert response.json()["status"] == "published"


def test_a_portal_session_alone_never_approves_a_release(client, quorum, alice, alice_token):
    staged = stage(client, alice_token, "quorum", "1.1.0")
    fresh = Actor(user=alice, session_factor_at=time.time())

    with pytest.raises(OTPRequired):
        staged_release_approve(actor=fresh, stage_id=staged.pk)

    assert not staged.approvals.exists()


def test_a_key_assertion_approves_only_the_release_it_was_bound_to(
    client, quorum, alice, alice_token
):
    first = stage(client, alice_token, "quorum", "1.1.0")
    second = stage(client, alice_token, "quorum", "1.2.0")
    bound_to_first = decision_operation(first, "approve").key

    staged_release_approve(actor=Actor(user=alice, key_proof=bound_to_first), stage_id=first.pk)
    with pytest.raises(OTPRequired):
        staged_release_approve(
            actor=Actor(user=alice, key_proof=bound_to_first), stage_id=second.pk
        )

    assert first.approvals.get().factor == "security-key"
    assert not second.approvals.exists()


def test_a_governance_change_is_recorded_and_emailed_to_every_maintainer(
    client, alice, alice_token, bob, carol, django_capture_on_commit_callbacks
):
    publish(client, alice_token, "told", "1.0.0")
    Maintainer.objects.create(package=Package.objects.get(name="told"), user=bob)
    actor = with_fresh_factor(alice)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        maintainers_set(
            actor=actor,
            name="told",
            rev=None,
            maintainers=[{"name": "alice"}, {"name": "bob"}, {"name": "carol"}],
        )

    told = sorted(message.to[0] for message in mail.outbox)
    assert told == ["alice@example.com", "bob@example.com", "carol@example.com"]
    assert all("added carol" in message.body for message in mail.outbox)
    assert SecurityEvent.objects.filter(action="package:owner-add", user=carol).exists()


def test_a_settings_change_without_a_second_factor_enrolled_says_to_enrol_one(
    client, alice, alice_token
):
    publish(client, alice_token, "bare", "1.0.0")

    with pytest.raises(PermissionDenied) as refused:
        package_settings_update(
            actor=Actor(user=alice, session_factor_at=time.time()),
            name="bare",
            changes={"require_staged": True},
        )

    assert "you need a second factor" in refused.value.message
    assert "/account/security/" in refused.value.message
    assert Package.objects.get(name="bare").require_staged is False


def test_the_settings_page_saves_with_a_fresh_factor_and_not_with_an_old_one(
    client, alice, alice_token
):
    publish(client, alice_token, "paged", "1.0.0")
    Codes(alice, mode="auth-only")
    client.force_login(alice)
    session = client.session
    session[sudo.SESSION_KEY] = session[sudo.FACTOR_KEY] = int(time.time())
    session.save()
    form = {"access": "public", "mfa": "publish", "approvals_required": "1"}

    saved = client.post("/package/paged/settings/", form)

    assert saved.status_code == 302
    assert Package.objects.get(name="paged").publish_requires_tfa is True

    session = client.session
    session[sudo.SESSION_KEY] = session[sudo.FACTOR_KEY] = int(time.time()) - 3600
    session.save()
    stale = client.post("/package/paged/settings/", {**form, "mfa": "none"})

    assert stale.status_code == 302
    assert stale["Location"].startswith("/account/sudo/")
    assert Package.objects.get(name="paged").publish_requires_tfa is True


def test_a_password_stamp_is_no_second_factor(client, alice, alice_token):
    publish(client, alice_token, "pw", "1.0.0")
    client.post("/account/login/", {"username": "alice", "password": PASSWORD})

    response = client.post(
        "/package/pw/settings/", {"access": "public", "mfa": "publish", "approvals_required": "1"}
    )

    assert response.status_code == 200
    assert "you need a second factor" in response.content.decode()
    assert Package.objects.get(name="pw").publish_requires_tfa is False
