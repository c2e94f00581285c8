"""Password and token guessing is limited per account and per address; a failure is
counted before the refusal is raised."""

import base64
import json
from unittest import mock

import pytest
from django.core.cache import cache
from django.test import Client

from accounts import ratelimit
from accounts.actors import Actor
from accounts.exceptions import InvalidCredentials, InvalidToken
from accounts.models import User
from accounts.services.tokens import token_authenticate
from accounts.services.users import password_verify
from portal.errors import RateLimited
from tests.conftest import PASSWORD

ACCOUNT_LIMIT = ratelimit.LIMITS["password:account"]
IP_LIMIT = ratelimit.LIMITS["password:ip"]


def couch_login(name: str, password: str, ip: str = "203.0.113.7"):
    body = {"_id": f"org.couchdb.user:{name}", "name": name, "password": password}
    return Client(REMOTE_ADDR=ip).put(
        f"/-/user/org.couchdb.user:{name}", json.dumps(body), content_type="application/json"
    )


def fail_passwords(username: str, times: int, ip: str = "203.0.113.7") -> None:
    actor = Actor(user=None, ip=ip)
    for _ in range(times):
        with pytest.raises(InvalidCredentials):
            password_verify(actor=actor, username=username, password="not the password")


def counter(scope: str, ident: str) -> int:
    return cache.get(f"ratelimit:{scope}:{ident}") or 0


def test_ten_failures_lock_the_account_even_for_the_right_password(alice):
    for _ in range(ACCOUNT_LIMIT):
        assert couch_login("alice", "not the password").status_code == 401

    locked = couch_login("alice", PASSWORD, ip="198.51.100.9")

    assert locked.status_code == 429
    assert locked["Retry-After"] == str(ratelimit.WINDOW_SECONDS)
    assert "Too many failed attempts" in locked.json()["error"]


def test_a_locked_account_is_refused_through_basic_auth_and_the_portal_too(alice):
    fail_passwords("alice", ACCOUNT_LIMIT)
    credentials = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()

    api = Client().get("/-/whoami", HTTP_AUTHORIZATION=f"Basic {credentials}")
    portal = Client().post("/account/login/", {"username": "alice", "password": PASSWORD})

    assert api.status_code == 429
    assert "Retry-After" in api
    assert portal.status_code == 200
    assert "Too many failed attempts" in portal.content.decode()
    assert "_auth_user_id" not in portal.client.session


def test_the_failure_is_counted_before_the_refusal_is_raised(alice):
    with pytest.raises(InvalidCredentials):
        password_verify(actor=Actor(user=None, ip="203.0.113.7"), username="alice", password="x")

    assert counter("password:account", "alice") == 1
    assert counter("password:ip", "203.0.113.7") == 1


def test_a_locked_account_is_refused_without_checking_the_password(alice):
    fail_passwords("alice", ACCOUNT_LIMIT)

    with mock.patch.object(User, "check_password") as check, pytest.raises(RateLimited):
        password_verify(actor=Actor(user=None, ip="198.51.100.9"), username="alice", password="x")

    check.assert_not_called()


def test_the_account_limit_ignores_case_and_surrounding_spaces(alice):
    fail_passwords("ALICE", ACCOUNT_LIMIT // 2)
    fail_passwords(" alice ", ACCOUNT_LIMIT - ACCOUNT_LIMIT // 2)

    assert couch_login("alice", PASSWORD).status_code == 429


def test_a_successful_login_clears_the_account_counter(alice):
    fail_passwords("alice", ACCOUNT_LIMIT - 1)
    assert couch_login("alice", PASSWORD).status_code == 201

    fail_passwords("alice", ACCOUNT_LIMIT - 1)

    assert couch_login("alice", PASSWORD).status_code == 201


def test_guessing_unknown_accounts_counts_against_them_too(db):
    fail_passwords("nobody", ACCOUNT_LIMIT)

    with pytest.raises(RateLimited):
        password_verify(actor=Actor(user=None, ip="198.51.100.9"), username="nobody", password="x")


def test_one_address_guessing_many_accounts_is_limited(alice):
    for index in range(IP_LIMIT):
        fail_passwords(f"user{index}", 1, ip="203.0.113.7")

    from_there = couch_login("alice", PASSWORD, ip="203.0.113.7")
    elsewhere = couch_login("alice", PASSWORD, ip="198.51.100.9")

    assert from_there.status_code == 429
    assert from_there["Retry-After"] == str(ratelimit.WINDOW_SECONDS)
    assert elsewhere.status_code == 201


def test_one_address_guessing_tokens_is_limited(alice_token):
    for _ in range(ratelimit.LIMITS["token:ip"]):
        with pytest.raises(InvalidToken):
            token_authenticate("gth_guessed", ip="203.0.113.7")

    refused = Client(REMOTE_ADDR="203.0.113.7").get(
        "/-/whoami", HTTP_AUTHORIZATION=f"Bearer {alice_token}"
    )
    elsewhere = Client(REMOTE_ADDR="198.51.100.9").get(
        "/-/whoami", HTTP_AUTHORIZATION=f"Bearer {alice_token}"
    )

    assert refused.status_code == 429
    assert "Retry-After" in refused
    assert elsewhere.status_code == 200
