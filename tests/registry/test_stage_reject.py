"""A rejected or expired staged release is gone, as npm tells the person who rejects it
("Rejecting will permanently delete this staged publish record and tarball"): `npm stage
view` and `download` answer 404, the review page too, the bytes are collected, and the
version number is free. Only the outcome stays, for the status CI polls and the history."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import SecurityEvent
from registry.blobs import blobs_collect
from registry.models import Blob, StagedRelease
from registry.services.stage import staged_releases_sweep
from tests.registry.test_stage import (
    Authenticator,
    decide,
    error_of,
    events,
    get,
    stage,
    staged,
    stored_files,
)

pytestmark = pytest.mark.django_db

Status = StagedRelease.Status


def rejected(client, app, token: str, name: str, version: str = "1.0.0") -> StagedRelease:
    release = staged(token, name, version)
    response = decide(client, "reject", release.pk, token, app.code())
    assert response.status_code == 200, response.content
    release.refresh_from_db()
    return release


def expired(token: str, name: str, version: str = "1.0.0") -> StagedRelease:
    release = staged(token, name, version)
    StagedRelease.objects.filter(pk=release.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert staged_releases_sweep() == (1, 0)
    release.refresh_from_db()
    return release


def test_npm_stage_view_and_download_of_a_rejected_release_answer_404(client, alice, alice_token):
    release = rejected(client, Authenticator(alice), alice_token, "gone")

    view = get(client, f"/-/stage/{release.pk}", alice_token)
    download = get(client, f"/-/stage/{release.pk}/tarball", alice_token)

    assert (view.status_code, download.status_code) == (404, 404)
    assert error_of(view) == (
        "The staged release of gone@1.0.0 was rejected: its record and tarball are deleted. "
        "Stage the version again with `npm stage publish` if you still want it."
    )
    assert error_of(download) == error_of(view)
    assert get(client, "/-/stage", alice_token).json() == {"items": [], "total": 0}


def test_a_rejected_release_keeps_only_its_outcome_and_history(client, alice, alice_token):
    release = rejected(client, Authenticator(alice), alice_token, "gone")

    assert (release.status, release.version, release.dossier) == (Status.REJECTED, None, {})
    status = get(client, f"/-/stage/{release.pk}/status", alice_token)
    assert (status.status_code, status.json()["status"]) == (200, "rejected")
    assert events("gone") == ["package:stage", "package:stage-reject"]
    assert SecurityEvent.objects.get(action="package:stage-reject").details["stage"] == str(
        release.pk
    )


def test_the_rejected_tarball_is_collected_and_the_version_can_be_staged_again(
    client, alice, alice_token
):
    release = staged(alice_token, "gone")
    assert len(stored_files()) == 1

    decide(client, "reject", release.pk, alice_token, Authenticator(alice).code())

    # Nothing references the bytes any more: the periodic collection deletes them.
    assert blobs_collect() == 1
    assert stored_files() == []
    assert not Blob.objects.filter(pk=release.sha512).exists()
    again = stage(client, alice_token, "gone", "1.0.0")
    assert again.status_code == 201, again.content


def test_an_expired_release_is_gone_too(client, alice_token):
    release = expired(alice_token, "late")

    view = get(client, f"/-/stage/{release.pk}", alice_token)

    assert view.status_code == 404
    assert "was expired: its record and tarball are deleted" in error_of(view)
    assert get(client, f"/-/stage/{release.pk}/status", alice_token).json()["status"] == "expired"
    assert release.dossier == {}
    assert stage(client, alice_token, "late", "1.0.0").status_code == 201


def test_rejecting_twice_says_it_was_already_rejected(client, alice, alice_token):
    app = Authenticator(alice)
    release = rejected(client, app, alice_token, "gone")

    again = decide(client, "reject", release.pk, alice_token, app.code())

    assert again.status_code == 409
    assert error_of(again) == "gone@1.0.0 was already rejected; there is nothing left to reject."


def test_the_review_page_of_a_rejected_release_is_404_and_the_queue_forgets_it(alice, alice_token):
    release = rejected(Client(), Authenticator(alice), alice_token, "gone")
    browser = Client()
    browser.force_login(alice)

    assert browser.get(f"/staging/{release.pk}/").status_code == 404
    assert f"/staging/{release.pk}/" not in browser.get("/staging/").content.decode()
