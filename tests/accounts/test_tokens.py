"""Bearer tokens: issued once and stored hashed, checked on every request, listed and
revoked through npm's token and logout endpoints."""

from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from accounts.actors import Actor
from accounts.exceptions import InvalidToken
from accounts.models import SecurityEvent, Token
from accounts.secrets import secret_hash
from accounts.services.tokens import token_authenticate, token_issue
from tests.conftest import issue_token


@pytest.fixture
def cli(db):
    return Client(REMOTE_ADDR="203.0.113.7")


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def row(token: str) -> Token:
    return Token.objects.get(token_hash=secret_hash(token))


# --- issuing --------------------------------------------------------------------------------


def test_issued_token_has_the_prefix_and_only_its_hash_is_stored(alice):
    secret = token_issue(actor=Actor(user=alice, ip="203.0.113.7"), user=alice, name="laptop")

    assert secret.startswith("gth_") and len(secret) >= 40
    token = Token.objects.get()
    assert token.token_hash == secret_hash(secret)
    assert token.display_prefix == secret[:10]
    stored = [str(value) for value in Token.objects.values_list().get()]
    assert not any(secret in value for value in stored)
    assert (token.user, token.name, token.created_ip) == (alice, "laptop", "203.0.113.7")


def test_every_issued_token_is_different(alice):
    assert issue_token(alice) != issue_token(alice)


def test_issuing_records_an_event_without_the_secret(alice):
    secret = issue_token(alice)

    event = SecurityEvent.objects.get(action="token:create")
    assert event.user == alice
    assert event.details["token"] == str(Token.objects.get().key)
    assert secret not in str(event.details)


# --- authenticating -------------------------------------------------------------------------


def test_whoami_names_the_owner_of_the_bearer_token(cli, alice_token):
    response = cli.get("/-/whoami", **bearer(alice_token))

    assert response.status_code == 200
    assert response.json() == {"username": "alice"}
    assert "no-cache" in response["Cache-Control"]


def test_use_records_when_and_from_where(cli, alice_token):
    before = timezone.now()

    cli.get("/-/whoami", **bearer(alice_token))

    token = row(alice_token)
    assert token.last_used_at >= before
    assert token.last_used_ip == "203.0.113.7"


def test_use_within_a_minute_from_the_same_address_writes_nothing(
    alice_token, django_assert_num_queries
):
    token_authenticate(alice_token, ip="203.0.113.7")

    with django_assert_num_queries(1):  # the lookup only, no UPDATE
        token_authenticate(alice_token, ip="203.0.113.7")


def test_last_use_is_rewritten_after_a_minute_or_from_another_address(alice_token):
    start = timezone.now()

    def use_at(seconds: int, ip: str = "203.0.113.7"):
        with mock.patch(
            "django.utils.timezone.now", return_value=start + timedelta(seconds=seconds)
        ):
            token_authenticate(alice_token, ip=ip)
        token = row(alice_token)
        return token.last_used_at - start, token.last_used_ip

    assert use_at(0) == (timedelta(0), "203.0.113.7")
    assert use_at(59) == (timedelta(0), "203.0.113.7")
    assert use_at(60) == (timedelta(seconds=60), "203.0.113.7")
    assert use_at(61, ip="198.51.100.9") == (timedelta(seconds=61), "198.51.100.9")


def test_expired_token_is_refused_saying_when_it_expired(cli, alice_token):
    Token.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = cli.get("/-/whoami", **bearer(alice_token))

    assert response.status_code == 401
    assert "expired on" in response.json()["error"]
    assert "WWW-Authenticate" not in response


def test_token_not_yet_expired_works(cli, alice_token):
    Token.objects.update(expires_at=timezone.now() + timedelta(days=1))

    assert cli.get("/-/whoami", **bearer(alice_token)).status_code == 200


def test_token_with_an_ip_whitelist_is_refused_from_another_address(cli, alice_token):
    Token.objects.update(cidr_whitelist=["10.0.0.0/8", "192.168.1.0/24"])

    refused = cli.get("/-/whoami", **bearer(alice_token))
    allowed = cli.get("/-/whoami", REMOTE_ADDR="10.20.30.40", **bearer(alice_token))

    assert refused.status_code == 401
    assert "may not be used from 203.0.113.7" in refused.json()["error"]
    assert allowed.status_code == 200
    assert row(alice_token).last_used_ip == "10.20.30.40"


def test_token_of_a_deactivated_account_is_refused(cli, alice, alice_token):
    alice.is_active = False
    alice.save(update_fields=["is_active"])

    assert cli.get("/-/whoami", **bearer(alice_token)).status_code == 401


def test_unknown_token_is_401_with_our_text_and_no_challenge(cli, db):
    response = cli.get("/-/whoami", **bearer("gth_" + "x" * 40))

    assert response.status_code == 401
    assert "This access token is not valid" in response.json()["error"]
    assert "WWW-Authenticate" not in response


def test_service_refuses_an_unknown_token(db):
    with pytest.raises(InvalidToken):
        token_authenticate("gth_nope", ip="203.0.113.7")


def test_unsupported_authorization_scheme_is_401(cli, alice_token):
    response = cli.get("/-/whoami", HTTP_AUTHORIZATION=f"Token {alice_token}")

    assert response.status_code == 401
    assert "Unsupported authorization scheme" in response.json()["error"]


def test_whoami_without_credentials_asks_to_log_in(cli, db):
    response = cli.get("/-/whoami")

    assert response.status_code == 401
    assert "npm login" in response.json()["error"]


# --- logout ---------------------------------------------------------------------------------


def test_logout_revokes_the_token_in_the_url_and_records_it(cli, alice, alice_token):
    key = row(alice_token).key

    response = cli.delete(f"/-/user/token/{alice_token}", **bearer(alice_token))

    assert response.status_code == 200
    assert not Token.objects.exists()
    event = SecurityEvent.objects.get(action="token:revoke")
    assert (event.user, event.actor, event.details["token"]) == (alice, alice, str(key))
    assert cli.get("/-/whoami", **bearer(alice_token)).status_code == 401


def test_logout_twice_or_with_an_unknown_token_still_succeeds(cli, alice_token):
    first = cli.delete(f"/-/user/token/{alice_token}", **bearer(alice_token))
    second = cli.delete(f"/-/user/token/{alice_token}", **bearer(alice_token))
    unknown = cli.delete("/-/user/token/not-a-token")

    assert (first.status_code, second.status_code, unknown.status_code) == (200, 200, 200)
    assert SecurityEvent.objects.filter(action="token:revoke").count() == 1


def test_logout_revokes_only_the_token_in_the_url(cli, alice, alice_token, bob_token):
    laptop = issue_token(alice)

    cli.delete(f"/-/user/token/{alice_token}", **bearer(alice_token))

    assert set(Token.objects.values_list("token_hash", flat=True)) == {
        secret_hash(laptop),
        secret_hash(bob_token),
    }


# --- list and revoke ------------------------------------------------------------------------


def test_token_list_shows_prefixes_never_secrets(cli, alice, alice_token, bob_token):
    laptop = issue_token(alice)

    response = cli.get("/-/npm/v1/tokens", **bearer(alice_token))

    body = response.json()
    assert response.status_code == 200
    assert body["total"] == 2
    assert body["urls"] == {"next": None}
    assert {entry["token"] for entry in body["objects"]} == {alice_token[:10], laptop[:10]}
    assert {entry["key"] for entry in body["objects"]} == {
        str(row(alice_token).key),
        str(row(laptop).key),
    }
    text = response.content.decode()
    assert alice_token not in text and laptop not in text and bob_token[:10] not in text
    assert set(body["objects"][0]) >= {"key", "token", "created", "updated", "readonly"}


def test_token_list_needs_a_token(cli, db):
    assert cli.get("/-/npm/v1/tokens").status_code == 401


def test_revoke_by_key_deletes_the_token_and_records_it(cli, alice, alice_token):
    laptop = issue_token(alice)
    key = row(laptop).key

    response = cli.delete(f"/-/npm/v1/tokens/token/{key}", **bearer(alice_token))

    assert response.status_code == 204
    assert not Token.objects.filter(key=key).exists()
    event = SecurityEvent.objects.get(action="token:revoke")
    assert (event.user, event.details["token"]) == (alice, str(key))
    assert event.token_key == row(alice_token).key  # revoked with this token


def test_revoke_by_full_token(cli, alice, alice_token):
    laptop = issue_token(alice)

    response = cli.delete(f"/-/npm/v1/tokens/token/{laptop}", **bearer(alice_token))

    assert response.status_code == 204
    assert not Token.objects.filter(token_hash=secret_hash(laptop)).exists()


@pytest.mark.parametrize("ident", ["key", "secret"])
def test_revoking_another_persons_token_is_404_and_keeps_it(cli, alice_token, bob_token, ident):
    target = str(row(bob_token).key) if ident == "key" else bob_token

    response = cli.delete(f"/-/npm/v1/tokens/token/{target}", **bearer(alice_token))

    assert response.status_code == 404
    assert "npm token list" in response.json()["error"]
    assert Token.objects.filter(token_hash=secret_hash(bob_token)).exists()


def test_revoking_an_unknown_id_is_404(cli, alice_token):
    response = cli.delete("/-/npm/v1/tokens/token/zzzz", **bearer(alice_token))

    assert response.status_code == 404
    assert Token.objects.count() == 1


# --- profile --------------------------------------------------------------------------------


def test_profile_describes_the_account(cli, alice_token):
    response = cli.get("/-/npm/v1/user", **bearer(alice_token))

    profile = response.json()
    assert response.status_code == 200
    assert profile["name"] == "alice"
    assert profile["email"] == "alice@example.com"
    assert profile["email_verified"] is False
    assert not profile["tfa"]
    assert "password" not in profile


def test_profile_needs_a_token(cli, db):
    assert cli.get("/-/npm/v1/user").status_code == 401
