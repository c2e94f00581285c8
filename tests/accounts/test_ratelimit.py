"""Guessing is limited per address and, with a growing delay, per account; a failure is
counted before the refusal is raised; nobody can lock someone else out, and a valid
token is never refused for what others sent from its address."""

import base64
import json
import time
from unittest import mock

import pytest
from django.core.cache import cache
from django.test import Client

from accounts import ratelimit
from accounts.actors import Actor
from accounts.exceptions import InvalidCredentials, InvalidToken, SecondFactorInvalid
from accounts.models import User
from accounts.services.tokens import token_authenticate
from accounts.services.two_factor import second_factor_verify
from accounts.services.users import password_verify
from portal.errors import RateLimited
from tests.accounts.factors import app_code, enroll_app
from tests.conftest import PASSWORD

FREE = ratelimit.BACKOFF_FREE
IP_LIMIT = ratelimit.LIMITS["password:ip"]
ATTACKER = "203.0.113.7"
VICTIM = "198.51.100.9"


@pytest.fixture(autouse=True)
def _cache_that_follows_the_clock(settings):
    """These tests move the clock; Redis (CI's cache) expires keys in its own time, so
    they count in a local-memory cache, which reads `time.time`."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


class Clock:
    """`time.time` under the test's control (the rate limits and the local-memory cache
    both read it), so crossing a delay needs no sleeping."""

    def __init__(self, monkeypatch):
        self.now = time.time()
        monkeypatch.setattr(time, "time", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def couch_login(name: str, password: str, ip: str = ATTACKER):
    body = {"_id": f"org.couchdb.user:{name}", "name": name, "password": password}
    return Client(REMOTE_ADDR=ip).put(
        f"/-/user/org.couchdb.user:{name}", json.dumps(body), content_type="application/json"
    )


def fail_passwords(username: str, times: int, ip: str = ATTACKER) -> None:
    actor = Actor(user=None, ip=ip)
    for _ in range(times):
        with pytest.raises(InvalidCredentials):
            password_verify(actor=actor, username=username, password="not the password")


def counter(scope: str, ident: str) -> int:
    return cache.get(ratelimit._key(scope, ident)) or 0


# --- per account: a delay that grows, never a lockout ----------------------------------


def test_the_first_failures_cost_nothing(alice):
    fail_passwords("alice", FREE - 1)

    assert couch_login("alice", PASSWORD, ip=VICTIM).status_code == 201


def test_after_ten_failures_the_next_guess_waits_and_is_told_how_long(alice, clock):
    fail_passwords("alice", FREE)

    waiting = couch_login("alice", PASSWORD, ip=VICTIM)

    assert waiting.status_code == 429
    assert waiting["Retry-After"] == str(ratelimit.BACKOFF_BASE_SECONDS)
    assert "Too many wrong passwords for this account" in waiting.json()["error"]
    assert f"Wait {ratelimit.BACKOFF_BASE_SECONDS} seconds" in waiting.json()["error"]


def test_an_account_guessed_wrong_ten_times_signs_in_after_the_delay(alice, clock):
    fail_passwords("alice", FREE)

    clock.advance(ratelimit.BACKOFF_BASE_SECONDS)

    assert couch_login("alice", PASSWORD, ip=VICTIM).status_code == 201


def test_the_delay_doubles_with_each_further_failure_up_to_a_cap(alice, clock):
    fail_passwords("alice", FREE)
    waits = []
    for _ in range(12):
        refused = couch_login("alice", "not the password")
        waits.append(int(refused["Retry-After"]))
        clock.advance(waits[-1])
        assert couch_login("alice", "not the password").status_code == 401

    assert waits[:4] == [2, 4, 8, 16]
    assert waits == sorted(waits)
    assert max(waits) == ratelimit.BACKOFF_CAP_SECONDS
    clock.advance(ratelimit.BACKOFF_CAP_SECONDS)
    assert couch_login("alice", PASSWORD, ip=VICTIM).status_code == 201


def test_guesses_sent_while_waiting_do_not_lengthen_the_wait(alice, clock):
    fail_passwords("alice", FREE)
    for _ in range(50):
        assert couch_login("alice", "not the password").status_code == 429

    clock.advance(ratelimit.BACKOFF_BASE_SECONDS)

    assert couch_login("alice", PASSWORD, ip=VICTIM).status_code == 201


def test_a_waiting_account_is_refused_through_basic_auth_and_the_portal_too(alice, clock):
    fail_passwords("alice", FREE)
    credentials = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()

    api = Client().get("/-/whoami", HTTP_AUTHORIZATION=f"Basic {credentials}")
    portal = Client().post("/account/login/", {"username": "alice", "password": PASSWORD})

    assert api.status_code == 429
    assert api["Retry-After"] == str(ratelimit.BACKOFF_BASE_SECONDS)
    assert portal.status_code == 200
    assert "Too many wrong passwords for this account" in portal.content.decode()
    assert "_auth_user_id" not in portal.client.session


def test_a_waiting_guess_is_refused_without_checking_the_password(alice, clock):
    fail_passwords("alice", FREE)

    with mock.patch.object(User, "check_password") as check, pytest.raises(RateLimited):
        password_verify(actor=Actor(user=None, ip=VICTIM), username="alice", password="x")

    check.assert_not_called()


def test_of_two_guesses_racing_for_the_slot_after_a_delay_one_is_refused(alice, clock):
    fail_passwords("alice", FREE)
    clock.advance(ratelimit.BACKOFF_BASE_SECONDS)
    real_add = cache.add
    took_the_slot_meanwhile = []

    def add(key, *args, **kwargs):
        # The other guess takes the slot between this one's look and its claim.
        if key.startswith("ratelimit-wait:") and not took_the_slot_meanwhile:
            took_the_slot_meanwhile.append(real_add(key, *args, **kwargs))
        return real_add(key, *args, **kwargs)

    with mock.patch.object(cache, "add", side_effect=add), pytest.raises(RateLimited):
        password_verify(actor=Actor(user=None, ip=VICTIM), username="alice", password=PASSWORD)

    assert took_the_slot_meanwhile == [True]
    assert counter("password:account", "alice") == FREE  # the refused guess is not counted


def test_the_failure_is_counted_before_the_refusal_is_raised(alice):
    with pytest.raises(InvalidCredentials):
        password_verify(actor=Actor(user=None, ip=ATTACKER), username="alice", password="x")

    assert counter("password:account", "alice") == 1
    assert counter("password:ip", ATTACKER) == 1


def test_the_account_count_ignores_case_and_surrounding_spaces(alice, clock):
    fail_passwords("ALICE", FREE // 2)
    fail_passwords(" alice ", FREE - FREE // 2)

    assert couch_login("alice", PASSWORD).status_code == 429


def test_a_successful_login_clears_the_account_count(alice):
    fail_passwords("alice", FREE - 1)
    assert couch_login("alice", PASSWORD).status_code == 201

    fail_passwords("alice", FREE - 1)

    assert couch_login("alice", PASSWORD).status_code == 201


def test_the_account_count_is_forgotten_after_a_quiet_day(alice, clock):
    fail_passwords("alice", FREE)
    clock.advance(ratelimit.BACKOFF_MEMORY_SECONDS)

    fail_passwords("alice", FREE - 1)

    assert couch_login("alice", PASSWORD, ip=VICTIM).status_code == 201


def test_guessing_unknown_accounts_waits_too(db, clock):
    fail_passwords("nobody", FREE)

    with pytest.raises(RateLimited):
        password_verify(actor=Actor(user=None, ip=VICTIM), username="nobody", password="x")


def test_the_delay_grows_and_is_capped():
    delays = [ratelimit.backoff_delay(n) for n in range(FREE + 20)]

    assert delays[:FREE] == [0] * FREE
    assert delays[FREE : FREE + 3] == [2, 4, 8]
    assert delays[-1] == ratelimit.BACKOFF_CAP_SECONDS
    assert ratelimit.backoff_delay(10**6) == ratelimit.BACKOFF_CAP_SECONDS


def test_wrong_codes_make_the_next_one_wait_and_the_right_one_passes_after(alice, clock):
    device, _ = enroll_app(alice)
    attacker = Actor(user=alice, ip=ATTACKER)
    for _ in range(FREE):
        with pytest.raises(SecondFactorInvalid):
            second_factor_verify(actor=attacker, user=alice, code="000000")

    with pytest.raises(RateLimited) as waiting:
        second_factor_verify(actor=Actor(user=alice, ip=VICTIM), user=alice, code="000000")
    clock.advance(ratelimit.BACKOFF_BASE_SECONDS)
    matched = second_factor_verify(
        actor=Actor(user=alice, ip=VICTIM), user=alice, code=app_code(device, steps_ahead=1)
    )

    assert waiting.value.retry_after == ratelimit.BACKOFF_BASE_SECONDS
    assert "Too many wrong codes for this account" in waiting.value.message
    assert matched == device


def test_however_many_wrong_codes_the_app_waits_no_longer_than_the_cap(alice, clock):
    device, _ = enroll_app(alice)
    for _ in range(FREE + 10):
        clock.advance(ratelimit.BACKOFF_CAP_SECONDS)
        with pytest.raises(SecondFactorInvalid):
            second_factor_verify(actor=Actor(user=alice, ip=None), user=alice, code="000000")

    clock.advance(ratelimit.BACKOFF_CAP_SECONDS)
    code = app_code(device, steps_ahead=1)

    assert second_factor_verify(actor=Actor(user=alice, ip=VICTIM), user=alice, code=code)


# --- per address: the bound on an attacker ---------------------------------------------


def test_one_address_guessing_many_accounts_is_limited(alice):
    for index in range(IP_LIMIT):
        fail_passwords(f"user{index}", 1, ip=ATTACKER)

    from_there = couch_login("alice", PASSWORD, ip=ATTACKER)
    elsewhere = couch_login("alice", PASSWORD, ip=VICTIM)

    assert from_there.status_code == 429
    assert from_there["Retry-After"] == str(ratelimit.WINDOW_SECONDS)
    assert "from your address" in from_there.json()["error"]
    assert elsewhere.status_code == 201


def test_an_address_past_its_limit_takes_no_slot_of_the_account(alice, clock):
    for index in range(IP_LIMIT):
        fail_passwords(f"user{index}", 1, ip=ATTACKER)

    for _ in range(FREE * 2):
        assert couch_login("alice", "not the password", ip=ATTACKER).status_code == 429

    assert counter("password:account", "alice") == 0
    assert couch_login("alice", PASSWORD, ip=VICTIM).status_code == 201


# --- tokens: only failures count ---------------------------------------------------------


def test_a_good_token_works_from_an_address_that_sent_a_hundred_bad_ones(alice_token):
    for _ in range(ratelimit.LIMITS["token:ip"]):
        with pytest.raises(InvalidToken):
            token_authenticate("gth_guessed", ip=ATTACKER)

    good = Client(REMOTE_ADDR=ATTACKER).get("/-/whoami", HTTP_AUTHORIZATION=f"Bearer {alice_token}")

    assert good.status_code == 200
    assert good.json() == {"username": "alice"}


def test_bad_tokens_past_the_limit_are_answered_429(db):
    for _ in range(ratelimit.LIMITS["token:ip"]):
        with pytest.raises(InvalidToken):
            token_authenticate("gth_guessed", ip=ATTACKER)

    refused = Client(REMOTE_ADDR=ATTACKER).get("/-/whoami", HTTP_AUTHORIZATION="Bearer gth_guessed")
    elsewhere = Client(REMOTE_ADDR=VICTIM).get("/-/whoami", HTTP_AUTHORIZATION="Bearer gth_guessed")

    assert refused.status_code == 429
    assert refused["Retry-After"] == str(ratelimit.WINDOW_SECONDS)
    assert "invalid tokens from your address" in refused.json()["error"]
    assert elsewhere.status_code == 401


def test_a_good_token_does_not_count_against_its_address(alice_token):
    for _ in range(5):
        token_authenticate(alice_token, ip=ATTACKER)

    assert counter("token:ip", ATTACKER) == 0
