"""Who am I, ping, profile, logout and token management with the real npm CLI."""

import pytest

from accounts.models import Token
from accounts.secrets import secret_hash
from tests.conftest import issue_token

pytestmark = pytest.mark.django_db(transaction=True)


def test_whoami_prints_the_token_owner(npm, alice_token):
    npm.login_with(alice_token)

    assert npm("whoami").stdout.strip() == "alice"


def test_whoami_without_a_token_asks_to_log_in(npm, db):
    result = npm("whoami", check=False)

    assert result.returncode == 1
    assert "ENEEDAUTH" in result.stderr


def test_ping_answers_pong(npm, db):
    result = npm("ping")

    assert "PONG" in result.stderr


def test_profile_get_shows_the_account(npm, alice_token):
    npm.login_with(alice_token)

    table = npm("profile", "get").stdout
    profile = npm.json("profile", "get")

    assert "alice@example.com" in table and "(unverified)" in table
    assert "two-factor auth" in table and "disabled" in table
    assert profile["name"] == "alice"
    assert profile["email"] == "alice@example.com"
    assert profile["email_verified"] is False
    assert not profile["tfa"]


def test_logout_revokes_the_token_and_removes_it_from_npmrc(npm, alice_token):
    npm.login_with(alice_token)

    npm("logout")

    assert not Token.objects.exists()
    assert npm.nerf not in (npm.npmrc.read_text() if npm.npmrc.exists() else "")


def test_logout_with_an_already_revoked_token_still_forgets_it(npm, alice_token):
    npm.login_with(alice_token)
    npm("logout")
    npm.login_with(alice_token)  # the same token again, now unknown to the registry

    npm("logout")

    assert npm.nerf not in (npm.npmrc.read_text() if npm.npmrc.exists() else "")


def test_token_list_shows_the_login_tokens(npm, alice, alice_token):
    second = issue_token(alice)
    npm.login_with(alice_token)

    table = npm("token", "list").stdout
    listed = npm.json("token", "list")

    keys = [str(key) for key in Token.objects.filter(user=alice).values_list("key", flat=True)]
    # npm masks the keys in its JSON (they look like UUIDs) but shows their short ids.
    assert sorted(next(k for k in keys if k.startswith(e["id"])) for e in listed) == sorted(keys)
    assert {entry["token"] for entry in listed} == {alice_token[:10], second[:10]}
    assert all(entry["created"] and entry["readonly"] is False for entry in listed)
    assert alice_token not in table and second not in table
    assert table.count("Token gth_") == 2


def test_token_revoke_by_key_prefix(npm, alice, alice_token):
    spare = issue_token(alice)
    spare_key = str(Token.objects.get(token_hash=secret_hash(spare)).key)
    npm.login_with(alice_token)

    npm("token", "revoke", spare_key[:8])

    assert not Token.objects.filter(key=spare_key).exists()
    assert Token.objects.filter(token_hash=secret_hash(alice_token)).exists()


def test_token_revoke_by_full_token_then_whoami_is_refused_with_our_text(npm, alice_token):
    npm.login_with(alice_token)

    npm("token", "revoke", alice_token)

    assert not Token.objects.exists()
    result = npm("whoami", check=False)
    assert result.returncode == 1
    assert "401 Unauthorized" in result.stderr
    assert "This access token is not valid (revoked, expired or mistyped)" in result.stderr
