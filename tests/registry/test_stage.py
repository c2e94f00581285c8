"""`npm stage …` through the registry API (npm-protocol §20): who may see and decide a
staged release, the quorum, what approving and rejecting write, the status CI polls, and
that a refused stage leaves nothing behind. tests/e2e/test_stage.py drives the same
routes with the real npm CLI; tests/registry/test_stage_races.py runs them at once."""

import base64
import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import storages
from django.test import Client
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import SecurityEvent, Token
from registry.models import Blob, Maintainer, Package, Packument, StagedRelease, Version
from registry.services.stage import (
    decision_operation,
    staged_release_approve,
    staged_releases_sweep,
)
from tests.accounts.factors import app_code, enroll_app
from tests.conftest import issue_token
from tests.packages import publish_body
from tests.registry.helpers import publish, write

pytestmark = pytest.mark.django_db

Status = StagedRelease.Status
NO_SUCH_ID = "0b7c8a1e-5f0d-4c2b-9a51-3c1d2e4f5a6b"


# --- helpers -----------------------------------------------------------------------------


def stage(client, token: str, name: str, version: str = "1.0.0", **kwargs):
    """`npm stage publish`: the publish body, POSTed to the staging route."""
    body = publish_body(name, version, **kwargs)
    return write(client, "post", f"/-/stage/package/{name}", token, body)


def staged(token: str, name: str, version: str = "1.0.0", **kwargs) -> StagedRelease:
    response = stage(Client(), token, name, version, **kwargs)
    assert response.status_code == 201, response.content
    return StagedRelease.objects.get(pk=response.json()["stageId"])


def tarball_of(body: dict) -> bytes:
    (attachment,) = body["_attachments"].values()
    return base64.b64decode(attachment["data"])


def get(client, path: str, token: str | None = None):
    return client.get(path, **({"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}))


def decide(client, verb: str, stage_id, token: str, otp: str | None = None):
    """`npm stage approve|reject <id> [--otp=…]`."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if otp:
        headers["HTTP_NPM_OTP"] = otp
    if verb == "approve":
        return client.post(f"/-/stage/{stage_id}/approve", **headers)
    return client.delete(f"/-/stage/{stage_id}", **headers)


def error_of(response) -> str:
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    return body["error"]


class Authenticator:
    """A person's authenticator app: one fresh app code, then their recovery codes."""

    def __init__(self, user):
        self.device, self.spare = enroll_app(user, mode="auth-only")
        self.app_code_used = False

    def code(self) -> str:
        if not self.app_code_used:
            self.app_code_used = True
            return app_code(self.device, steps_ahead=1)
        return self.spare.pop()


def read_only_token(user) -> str:
    secret = issue_token(user)
    Token.objects.filter(pk=Token.objects.filter(user=user).latest("pk").pk).update(readonly=True)
    return secret


def add_maintainer(package_name: str, user) -> None:
    Maintainer.objects.create(package=Package.objects.get(name=package_name), user=user)


def set_policy(owner, name: str, **changes) -> None:
    """Arrange a policy (changing one is governance, tested in test_package_policy.py)."""
    Package.objects.filter(name=name).update(**changes)


def packument(client, name: str) -> dict:
    response = client.get(f"/{name}")
    assert response.status_code == 200, response.content
    return response.json()


def events(name: str) -> list[str]:
    return list(
        SecurityEvent.objects.filter(package_name=name)
        .order_by("created_at", "id")
        .values_list("action", flat=True)
    )


def stored_files() -> list[str]:
    root = Path(storages["tarballs"].location)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def staging_state() -> dict:
    """Everything a stage writes; a refused stage must leave all of it as it was."""
    return {
        "packages": sorted(Package.objects.values_list("name", "revision")),
        "versions": sorted(Version.objects.values_list("package__name", "version", "state")),
        "staged": StagedRelease.objects.count(),
        "blobs": sorted(Blob.objects.values_list("sha512", flat=True)),
        "packuments": sorted(Packument.objects.values_list("name", "rev")),
        "events": SecurityEvent.objects.filter(action__startswith="package:").count(),
        "files": stored_files(),
    }


# --- staging -------------------------------------------------------------------------------


def test_a_staged_release_is_invisible_to_installers(client, alice_token):
    assert publish(client, alice_token, "quiet", "0.9.0").status_code == 201

    response = stage(client, alice_token, "quiet", "1.0.0")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["stageId"] == body["id"]
    assert (body["packageName"], body["version"], body["tag"], body["status"]) == (
        "quiet",
        "1.0.0",
        "latest",
        "staged",
    )
    assert Version.objects.get(package__name="quiet", version="1.0.0").state == "staged"
    document = packument(client, "quiet")
    assert list(document["versions"]) == ["0.9.0"]
    assert document["dist-tags"] == {"latest": "0.9.0"}
    assert client.get("/quiet/-/quiet-1.0.0.tgz").status_code == 404
    assert events("quiet")[-1] == "package:stage"


def test_a_staged_new_package_is_not_installable_at_all(client, alice_token):
    staged(alice_token, "brand-new")

    assert client.get("/brand-new").status_code == 404
    assert client.get("/brand-new/-/brand-new-1.0.0.tgz").status_code == 404


def test_a_staged_version_number_does_not_leak_through_the_packument_time(
    client, alice, alice_token
):
    publish(client, alice_token, "leaky", "1.0.0")
    staged(alice_token, "leaky", "2.0.0-secret")
    set_policy(alice, "leaky", require_staged=True)  # any write rebuilds the packument

    assert "2.0.0-secret" not in packument(client, "leaky")["time"]


def test_the_staged_tarball_is_exactly_the_staged_bytes(client, alice_token, bob, bob_token):
    body = publish_body("exact", "1.0.0", extra_files={"lib.js": "exports.x = 1\n"})
    response = write(client, "post", "/-/stage/package/exact", alice_token, body)
    stage_id = response.json()["stageId"]

    download = get(client, f"/-/stage/{stage_id}/tarball", alice_token)

    assert download.status_code == 200
    assert download.content == tarball_of(body)
    digest = base64.b64encode(hashlib.sha512(download.content).digest()).decode()
    assert response.json()["integrity"] == f"sha512-{digest}"
    assert 'filename="exact-1.0.0.tgz"' in download["Content-Disposition"]
    # Only maintainers review; to anyone else the release does not exist.
    assert get(client, f"/-/stage/{stage_id}/tarball", bob_token).status_code == 404


def test_staging_a_version_that_is_already_staged_names_the_waiting_release(client, alice_token):
    first = staged(alice_token, "twice")

    response = stage(client, alice_token, "twice", "1.0.0", package_json={"description": "b"})

    assert response.status_code == 409, response.content
    assert error_of(response) == (
        "twice@1.0.0 is staged and waits for approval. Approve or reject it first "
        "(`npm stage list twice` shows its id), or release another version."
    )
    assert list(StagedRelease.objects.all()) == [first]


def test_staging_a_published_version_is_refused_like_publishing_it(client, alice_token):
    publish(client, alice_token, "done", "1.0.0")

    response = stage(client, alice_token, "done", "1.0.0")

    assert response.status_code == 403
    assert "You cannot publish over the previously published versions: 1.0.0." in error_of(response)


@pytest.mark.parametrize(
    "attempt, status, text",
    [
        ("private", 400, 'has "private": true in package.json'),
        ("outsider", 403, "You are not a maintainer of kept"),
        ("tampered", 400, "does not match the integrity"),
        ("published", 403, "You cannot publish over the previously published versions"),
        ("read-only", 403, "This token is read-only"),
        ("anonymous", 401, "You must be logged in"),
    ],
)
def test_a_refused_stage_writes_nothing(
    client, alice_token, carol_token, alice, attempt, status, text
):
    publish(client, alice_token, "kept", "1.0.0")
    staged(alice_token, "kept", "1.1.0")
    read_only = read_only_token(alice)
    before = staging_state()
    token, version, kwargs = {
        "private": (alice_token, "2.0.0", {"package_json": {"private": True}}),
        "outsider": (carol_token, "2.0.0", {}),
        "tampered": (alice_token, "2.0.0", {"manifest": {"dist": {"integrity": "sha512-AAAA"}}}),
        "published": (alice_token, "1.0.0", {"package_json": {"description": "other bytes"}}),
        "read-only": (read_only, "2.0.0", {}),
        "anonymous": ("", "2.0.0", {}),
    }[attempt]
    body = publish_body("kept", version, **kwargs)

    if token:
        response = write(client, "post", "/-/stage/package/kept", token, body)
    else:
        response = client.post(
            "/-/stage/package/kept", data=json.dumps(body), content_type="application/json"
        )

    assert response.status_code == status, response.content
    assert text in error_of(response)
    assert staging_state() == before


# --- finding staged releases ---------------------------------------------------------------


ROUTES = [
    ("get", "/-/stage/{id}"),
    ("get", "/-/stage/{id}/tarball"),
    ("get", "/-/stage/{id}/status"),
    ("post", "/-/stage/{id}/approve"),
    ("delete", "/-/stage/{id}"),
]


@pytest.mark.parametrize("method, route", ROUTES)
def test_a_malformed_stage_id_is_400_and_says_where_ids_come_from(
    client, alice_token, method, route
):
    response = getattr(client, method)(
        route.format(id="not-a-uuid"), HTTP_AUTHORIZATION=f"Bearer {alice_token}"
    )

    assert response.status_code == 400
    assert error_of(response) == (
        '"not-a-uuid" is not a stage id. Use the id `npm stage list` shows.'
    )


@pytest.mark.parametrize("method, route", ROUTES)
def test_an_unknown_or_someone_elses_stage_id_is_404_alike(
    client, alice_token, carol_token, method, route
):
    theirs = staged(alice_token, "not-carols")

    unknown = getattr(client, method)(
        route.format(id=NO_SUCH_ID), HTTP_AUTHORIZATION=f"Bearer {carol_token}"
    )
    hidden = getattr(client, method)(
        route.format(id=theirs.pk), HTTP_AUTHORIZATION=f"Bearer {carol_token}"
    )

    assert (unknown.status_code, hidden.status_code) == (404, 404)
    assert error_of(unknown) == f"There is no staged release {NO_SUCH_ID} that you may see."
    assert error_of(hidden) == f"There is no staged release {theirs.pk} that you may see."
    assert StagedRelease.objects.get().status == Status.STAGED


@pytest.mark.parametrize("method, route", [*ROUTES, ("get", "/-/stage")])
def test_staged_releases_need_a_login(client, alice_token, method, route):
    theirs = staged(alice_token, "logged-in")

    response = getattr(client, method)(route.format(id=theirs.pk))

    assert response.status_code == 401
    assert "WWW-Authenticate" not in response
    assert "Run `npm login`" in error_of(response)


def test_the_list_pages_and_filters_the_callers_waiting_releases(
    client, alice, alice_token, bob_token
):
    for name, version in [("list-a", "1.0.0"), ("list-b", "1.0.0"), ("list-a", "2.0.0")]:
        staged(alice_token, name, version)
    decided = staged(alice_token, "list-b", "2.0.0")
    StagedRelease.objects.filter(pk=decided.pk).update(status=Status.REJECTED)

    def listing(query: str, token: str = alice_token) -> dict:
        response = get(client, f"/-/stage?{query}", token)
        assert response.status_code == 200, response.content
        assert "no-cache" in response["Cache-Control"]
        return response.json()

    first, second = listing("page=0&perPage=2"), listing("page=1&perPage=2")
    assert (first["total"], second["total"]) == (3, 3)
    shown = [(i["packageName"], i["version"]) for i in first["items"] + second["items"]]
    assert shown == [("list-a", "2.0.0"), ("list-b", "1.0.0"), ("list-a", "1.0.0")]
    assert listing("page=2&perPage=2")["items"] == []
    only_a = listing("page=0&perPage=100&package=list-a")
    assert only_a["total"] == 2
    assert {i["packageName"] for i in only_a["items"]} == {"list-a"}
    assert listing("package=nothing-here") == {"items": [], "total": 0}
    assert listing("page=0&perPage=100", bob_token) == {"items": [], "total": 0}
    bad = get(client, "/-/stage?page=two", alice_token)
    assert (bad.status_code, error_of(bad)) == (400, '"page" must be a number.')


def test_an_item_shows_what_npm_prints_and_the_review_link(client, alice_token):
    release = staged(alice_token, "shown", "1.2.3", tag="beta")

    item = get(client, f"/-/stage/{release.pk}", alice_token).json()

    assert item["id"] == str(release.pk)
    assert (item["packageName"], item["version"], item["tag"]) == ("shown", "1.2.3", "beta")
    assert item["actor"] == "alice (token test)"
    assert item["actorType"] == "token"
    assert (item["shasum"], item["integrity"]) == (release.shasum, release.integrity)
    assert item["approvals"] == "0 of 1"
    assert item["reviewUrl"].endswith(f"/staging/{release.pk}/")


# --- approving -----------------------------------------------------------------------------


def test_approving_asks_for_a_second_factor_then_publishes_exactly_the_staged_bytes(
    client, alice, alice_token
):
    app = Authenticator(alice)
    release = staged(alice_token, "approved", "1.0.0", tag="beta")

    challenge = decide(client, "approve", release.pk, alice_token)
    assert challenge.status_code == 401
    assert challenge["WWW-Authenticate"] == "OTP"
    assert Version.objects.get(package__name="approved").state == "staged"

    response = decide(client, "approve", release.pk, alice_token, app.code())

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "published"
    approval = release.approvals.get()
    assert (approval.user, approval.factor, approval.sha512) == (alice, "app", release.sha512)
    version = Version.objects.get(package__name="approved", version="1.0.0")
    assert version.state == "published"
    assert version.blob_id == release.sha512
    document = packument(client, "approved")
    assert document["dist-tags"]["beta"] == "1.0.0"
    assert document["versions"]["1.0.0"]["dist"]["integrity"] == release.integrity
    tarball = client.get("/approved/-/approved-1.0.0.tgz")
    assert hashlib.sha512(b"".join(tarball.streaming_content)).hexdigest() == release.sha512
    assert events("approved") == ["package:stage", "package:stage-approve", "package:publish"]
    approve_event = SecurityEvent.objects.get(action="package:stage-approve")
    assert approve_event.actor == alice
    assert approve_event.details == {
        "stage": str(release.pk),
        "version": "1.0.0",
        "sha512": release.sha512,
        "factor": "app",
    }
    assert SecurityEvent.objects.get(action="package:publish").details["stage"] == str(release.pk)


def test_a_quorum_counts_distinct_people_and_each_approves_once(
    client, alice, alice_token, bob, bob_token
):
    alice_app, bob_app = Authenticator(alice), Authenticator(bob)
    release = staged(alice_token, "quorum")
    add_maintainer("quorum", bob)
    set_policy(alice, "quorum", approvals_required=2)

    first = decide(client, "approve", release.pk, alice_token, alice_app.code())
    again = decide(client, "approve", release.pk, alice_token, alice_app.code())

    assert first.status_code == 200
    assert first.json()["status"] == "staged"
    assert first.json()["approvals"] == "1 of 2"
    assert first["npm-notice"] == (
        "Your approval of quorum@1.0.0 is recorded (1 of 2). It needs 1 more approval from "
        "other maintainers before it is published."
    )
    assert again.status_code == 409
    assert error_of(again) == (
        "You already approved this release; it is waiting for other maintainers."
    )
    assert Version.objects.get(package__name="quorum").state == "staged"

    second = decide(client, "approve", release.pk, bob_token, bob_app.code())
    late = decide(client, "approve", release.pk, bob_token, bob_app.code())

    assert second.status_code == 200
    assert second.json()["status"] == "published"
    assert "npm-notice" not in second
    assert late.status_code == 409
    assert error_of(late) == (
        "quorum@1.0.0 was already published; there is nothing left to approve."
    )
    assert sorted(release.approvals.values_list("user__username", flat=True)) == ["alice", "bob"]
    assert events("quorum").count("package:publish") == 1


def test_the_stager_does_not_count_when_the_package_excludes_them(
    client, alice, alice_token, bob, bob_token
):
    alice_app, bob_app = Authenticator(alice), Authenticator(bob)
    release = staged(alice_token, "four-eyes")
    add_maintainer("four-eyes", bob)
    set_policy(alice, "four-eyes", exclude_stager=True)

    own = decide(client, "approve", release.pk, alice_token, alice_app.code())

    assert own.status_code == 403
    assert error_of(own) == (
        "You staged four-eyes@1.0.0, and four-eyes needs the approval of someone else. "
        "Ask another maintainer to review it."
    )
    assert not release.approvals.exists()
    response = decide(client, "approve", release.pk, bob_token, bob_app.code())
    assert response.json()["status"] == "published"


def test_approving_without_a_second_factor_says_how_to_enroll(client, alice_token):
    release = staged(alice_token, "no-factor")

    response = decide(client, "approve", release.pk, alice_token)

    assert response.status_code == 403
    assert "WWW-Authenticate" not in response
    assert error_of(response).startswith(
        "To approve or reject a staged release you need a second factor. Add a security key or an "
        "authenticator app at http"
    )
    assert error_of(response).endswith("/account/security/ and try again.")
    assert not release.approvals.exists()


def test_a_read_only_token_is_refused_before_a_second_factor_is_asked_for(
    client, alice, alice_token
):
    Authenticator(alice)
    release = staged(alice_token, "read-only-approve")

    response = decide(client, "approve", release.pk, read_only_token(alice))

    assert response.status_code == 403
    assert "WWW-Authenticate" not in response
    assert error_of(response) == (
        "This token is read-only, so it cannot approve read-only-approve. Use a read-write token."
    )


def test_an_overdue_release_cannot_be_approved_even_before_the_sweep(client, alice, alice_token):
    app = Authenticator(alice)
    release = staged(alice_token, "overdue")
    StagedRelease.objects.filter(pk=release.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    response = decide(client, "approve", release.pk, alice_token, app.code())

    assert response.status_code == 409
    assert error_of(response) == (
        "overdue@1.0.0 was already expired; there is nothing left to approve."
    )
    release.refresh_from_db()
    assert release.status == Status.EXPIRED
    assert not Version.objects.filter(package__name="overdue").exists()
    assert events("overdue") == ["package:stage", "package:stage-expire"]
    assert client.get("/overdue").status_code == 404


# --- rejecting -----------------------------------------------------------------------------


def test_rejecting_frees_the_version_number(client, alice, alice_token):
    app = Authenticator(alice)
    release = staged(alice_token, "rejected")

    assert decide(client, "reject", release.pk, alice_token).status_code == 401
    response = decide(client, "reject", release.pk, alice_token, app.code())

    assert response.status_code == 200, response.content
    release.refresh_from_db()
    assert (release.status, release.decided_by, release.version) == (Status.REJECTED, alice, None)
    assert not Version.objects.filter(package__name="rejected").exists()
    assert events("rejected") == ["package:stage", "package:stage-reject"]
    assert SecurityEvent.objects.get(action="package:stage-reject").details == {
        "stage": str(release.pk),
        "version": "1.0.0",
        "factor": "app",
    }
    assert stage(client, alice_token, "rejected", "1.0.0").status_code == 201
    assert get(client, f"/-/stage/{release.pk}/tarball", alice_token).status_code == 404


def test_a_decided_release_cannot_be_decided_again(client, alice, alice_token):
    app = Authenticator(alice)
    published = staged(alice_token, "decided", "1.0.0")
    rejected = staged(alice_token, "decided", "2.0.0")
    decide(client, "approve", published.pk, alice_token, app.code())
    decide(client, "reject", rejected.pk, alice_token, app.code())

    reject_approved = decide(client, "reject", published.pk, alice_token, app.code())
    approve_rejected = decide(client, "approve", rejected.pk, alice_token, app.code())

    assert reject_approved.status_code == 409
    assert error_of(reject_approved) == (
        "decided@1.0.0 was already published; there is nothing left to reject."
    )
    assert approve_rejected.status_code == 409
    assert error_of(approve_rejected) == (
        "decided@2.0.0 was already rejected; there is nothing left to approve."
    )
    assert list(packument(client, "decided")["versions"]) == ["1.0.0"]


# --- the status CI polls -------------------------------------------------------------------


def status_of(client, release, token: str) -> dict:
    response = get(client, f"/-/stage/{release.pk}/status", token)
    assert response.status_code == 200, response.content
    assert "no-cache" in response["Cache-Control"]
    return response.json()


def test_the_status_follows_a_release_to_published_rejected_or_expired(
    client, alice, alice_token, bob
):
    app = Authenticator(alice)
    to_publish = staged(alice_token, "ci-status", "1.0.0")
    to_reject = staged(alice_token, "ci-status", "2.0.0")
    to_expire = staged(alice_token, "ci-status", "3.0.0")
    set_policy(alice, "ci-status", approvals_required=2)
    add_maintainer("ci-status", bob)

    waiting = status_of(client, to_publish, alice_token)
    assert (waiting["status"], waiting["approvals"], waiting["approvalsRequired"]) == (
        "staged",
        0,
        2,
    )
    assert waiting["decidedAt"] is None
    decide(client, "approve", to_publish.pk, alice_token, app.code())
    assert status_of(client, to_publish, alice_token)["approvals"] == 1
    enroll_app(bob, mode="auth-only")
    bound = decision_operation(to_publish, "approve").key  # a key assertion, as on the page
    staged_release_approve(actor=Actor(user=bob, key_proof=bound), stage_id=to_publish.pk)
    decide(client, "reject", to_reject.pk, alice_token, app.code())
    StagedRelease.objects.filter(pk=to_expire.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert staged_releases_sweep() == (1, 0)
    assert staged_releases_sweep() == (0, 0)

    published = status_of(client, to_publish, alice_token)
    assert (published["status"], published["approvals"]) == ("published", 2)
    assert published["decidedAt"] is not None
    assert status_of(client, to_reject, alice_token)["status"] == "rejected"
    assert status_of(client, to_expire, alice_token)["status"] == "expired"
    assert SecurityEvent.objects.get(action="package:stage-expire").details == {
        "stage": str(to_expire.pk),
        "version": "3.0.0",
    }
    # The expired number is free again; the published and the rejected are not listed.
    assert stage(client, alice_token, "ci-status", "3.0.0").status_code == 201
    assert get(client, "/-/stage", alice_token).json()["total"] == 1


# --- the review dossier --------------------------------------------------------------------


def risk_codes(release: StagedRelease) -> set[str]:
    release.refresh_from_db()
    return {risk["code"] for risk in release.dossier.get("risks", [])}


def test_a_maintainer_staging_with_a_token_is_not_an_unfamiliar_publisher(
    client, alice_token, bob, bob_token
):
    publish(client, alice_token, "familiar", "1.0.0")

    by_alice = staged(alice_token, "familiar", "1.1.0")
    add_maintainer("familiar", bob)
    by_bob = staged(bob_token, "familiar", "1.2.0")

    assert "new-publisher" not in risk_codes(by_alice)
    assert "new-publisher" in risk_codes(by_bob)


def test_publishing_a_version_that_is_staged_says_it_waits_for_approval(client, alice_token):
    staged(alice_token, "waiting")

    response = publish(client, alice_token, "waiting", "1.0.0")

    assert response.status_code == 409
    assert "is staged and waits for approval" in error_of(response)
