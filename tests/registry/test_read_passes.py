"""Restricted reads from the cache: served only to a token that holds a pass, and every pass
goes the moment anything that could take the read away changes."""

import time
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import Token, User
from accounts.secrets import secret_hash
from registry import read_passes
from registry.orgs import services as orgs
from registry.orgs.models import DEVELOPERS_TEAM
from registry.orgs.team_grants import team_grant_remove, team_grant_set
from registry.read_cache import ACCESS_CHANGED, ReadCache, ReaderPass, cache
from tests.accounts.factors import with_fresh_factor
from tests.conftest import issue_token
from tests.registry.helpers import (
    on_postgresql,
    pg_params,
    publish,
    read_cache_settle,
    wait_until,
    write,
)
from tests.registry.test_metadata import set_owners

CORGI = "application/vnd.npm.install-v1+json"
PRIVATE = "@alice/private"
TARBALL = f"/{PRIVATE}/-/private-1.0.0.tgz"

pytestmark = pytest.mark.django_db(transaction=True)


def read(client, token: str | None, path: str = f"/{PRIVATE}", **extra):
    if token:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    response = client.get(path, HTTP_ACCEPT=CORGI, **extra)
    if response.streaming:
        response.body = b"".join(response.streaming_content)
    return response


@pytest.fixture
def private(client, alice_token):
    assert publish(client, alice_token, PRIVATE, "1.0.0").status_code == 201
    read_cache_settle()
    return PRIVATE


def test_a_reader_with_a_pass_costs_no_query(
    client, private, alice_token, django_assert_num_queries
):
    first, first_tarball = read(client, alice_token), read(client, alice_token, TARBALL)
    assert first.status_code == first_tarball.status_code == 200

    with django_assert_num_queries(0):
        again = read(client, alice_token)
        tarball = read(client, alice_token, TARBALL)
        not_modified = read(client, alice_token, HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.content == first.content and again["Cache-Control"] == "private, no-cache"
    assert tarball.body == first_tarball.body
    assert tarball["Cache-Control"].startswith("private")
    assert not_modified.status_code == 304


def test_the_cached_document_reaches_nobody_without_a_pass(client, private, alice_token, bob_token):
    assert read(client, alice_token).status_code == 200
    assert read(client, alice_token, TARBALL).status_code == 200

    for token in (None, bob_token, "gth_not-a-token"):
        for path in (f"/{PRIVATE}", TARBALL):
            response = read(client, token, path)
            assert response.status_code in (401, 404), (token, path)
            assert b'"versions"' not in response.content
    assert cache.pass_get(_hash(bob_token), PRIVATE) is None


def _hash(token: str) -> str:
    return secret_hash(token)


def test_a_revoked_token_loses_its_pass(client, private, alice_token, alice):
    other = issue_token(alice)
    assert read(client, other).status_code == 200
    key = Token.objects.get(token_hash=_hash(other)).key

    assert write(client, "delete", f"/-/npm/v1/tokens/token/{key}", alice_token).status_code == 204

    refused = read(client, other)
    assert refused.status_code == 401
    assert "not valid" in refused.json()["error"]


def test_a_removed_maintainer_loses_the_read(
    client, private, alice_token, alice_codes, bob, bob_token
):
    owners = set_owners(client, alice_token, PRIVATE, ["alice", "bob"], otp=alice_codes())
    assert owners.status_code == 200
    assert read(client, bob_token).status_code == 200
    assert read(client, bob_token, TARBALL).status_code == 200

    assert set_owners(client, alice_token, PRIVATE, ["alice"], otp=alice_codes()).status_code == 200

    assert read(client, bob_token).status_code == 404
    assert read(client, bob_token, TARBALL).status_code == 404


def test_a_deactivated_person_loses_the_read(client, private, alice_token, alice):
    assert read(client, alice_token).status_code == 200
    alice.is_active = False
    alice.save()
    assert read(client, alice_token).status_code == 401


def test_org_readers_lose_the_read_with_their_team_or_membership(client, alice, bob, carol):
    owner = with_fresh_factor(alice)
    acme = orgs.org_create(actor=owner, name="acme")
    for username in ("bob", "carol"):
        invitation, _ = orgs.invitation_create(actor=owner, org=acme, username=username)
        orgs.invitation_accept(
            actor=Actor(user=User.objects.get(username=username)), invitation=invitation
        )
    readers = orgs.team_create(actor=owner, org=acme, name="readers")
    for username in ("bob", "carol"):
        orgs.team_member_add(actor=owner, team=readers, username=username)
    assert publish(client, issue_token(alice), "@acme/tool", "1.0.0").status_code == 201
    # Only the readers team may read it, not every member (the developers team).
    developers = acme.teams.get(name=DEVELOPERS_TEAM)
    team_grant_remove(actor=owner, team=developers, package_name="@acme/tool")
    team_grant_set(actor=owner, team=readers, package_name="@acme/tool", permission="read-only")
    read_cache_settle()
    bob_token, carol_token = issue_token(bob), issue_token(carol)
    for token in (bob_token, carol_token):
        assert read(client, token, "/@acme/tool").status_code == 200

    orgs.team_member_remove(actor=owner, team=readers, username="bob")
    assert read(client, bob_token, "/@acme/tool").status_code == 404
    assert read(client, carol_token, "/@acme/tool").status_code == 200

    orgs.member_remove(actor=owner, org=acme, username="carol")
    assert read(client, carol_token, "/@acme/tool").status_code == 404


def test_a_pass_ends_when_its_token_expires(client, private, alice, monkeypatch):
    token = issue_token(alice)
    Token.objects.filter(token_hash=_hash(token)).update(
        expires_at=timezone.now() + timedelta(hours=1)
    )
    assert read(client, token).status_code == 200

    later = timezone.now() + timedelta(hours=2)
    monkeypatch.setattr(timezone, "now", lambda: later)
    refused = read(client, token)
    assert refused.status_code == 401 and "expired" in refused.json()["error"]


def test_a_pass_holds_only_where_its_token_may_be_used(client, private, alice):
    token = issue_token(alice)
    Token.objects.filter(token_hash=_hash(token)).update(cidr_whitelist=["10.0.0.0/8"])
    assert read(client, token, REMOTE_ADDR="10.1.2.3").status_code == 200

    refused = read(client, token, REMOTE_ADDR="192.0.2.7")
    assert refused.status_code == 401 and "192.0.2.7" in refused.json()["error"]


def test_reads_with_a_pass_still_record_the_last_use(client, private, alice, monkeypatch):
    token = issue_token(alice)
    row = Token.objects.filter(token_hash=_hash(token))
    assert read(client, token, REMOTE_ADDR="10.0.0.1").status_code == 200
    assert row.get().last_used_ip == "10.0.0.1"

    assert read(client, token, REMOTE_ADDR="10.0.0.2").status_code == 200  # a new address
    assert row.get().last_used_ip == "10.0.0.2"

    noted = row.get().last_used_at
    clock = time.monotonic() + 61
    monkeypatch.setattr(read_passes.time, "monotonic", lambda: clock)
    assert read(client, token, REMOTE_ADDR="10.0.0.2").status_code == 200  # a minute on
    assert row.get().last_used_at > noted


@on_postgresql
def test_another_process_withdrawing_access_reaches_this_process(client, private, alice_token):
    assert read(client, alice_token).status_code == 200
    assert cache.pass_get(_hash(alice_token), PRIVATE) is not None

    with psycopg.connect(**pg_params(), autocommit=True) as other_process:
        other_process.execute("SELECT pg_notify('gatehouse_packages', %s)", [ACCESS_CHANGED])

    assert wait_until(lambda: cache.pass_get(_hash(alice_token), PRIVATE) is None)
    assert connection.vendor == "postgresql"


def _pass() -> ReaderPass:
    now = time.monotonic()
    return ReaderPass(
        token_id=1, expires_at=None, cidrs=(), noted_ip=None, noted_at=now, stored_at=now
    )


def test_a_pass_decided_before_an_access_change_is_not_stored_after_it():
    local = ReadCache(max_bytes=1024)
    local.healthy = True
    epoch = local.epoch()
    local.invalidate(ACCESS_CHANGED)  # a grant was withdrawn while the read was decided
    local.pass_put("hash", "pkg", _pass(), epoch)
    assert local.pass_get("hash", "pkg") is None


def test_an_access_change_drops_every_pass_and_a_package_change_its_own():
    local = ReadCache(max_bytes=1024)
    local.healthy = True
    for name in ("one", "two"):
        local.pass_put("hash", name, _pass(), local.epoch())

    local.invalidate("one")
    assert local.pass_get("hash", "one") is None and local.pass_get("hash", "two") is not None

    local.invalidate(ACCESS_CHANGED)
    assert local.pass_get("hash", "two") is None
