"""Account changes with the real npm CLI: a token alone cannot move the account's email,
a new address counts once proved, and a password reset takes every token away."""

import base64
import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client

from accounts.models import SecurityEvent, User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def link_in(message) -> str:
    return urlsplit(re.search(r"https?://\S+", message.body).group(0)).path


def with_password(npm, username: str, password: str) -> None:
    """npm signs in with a username and password (Basic credentials), no token."""
    encoded = base64.b64encode(password.encode()).decode()
    npm.npmrc.write_text(f"{npm.nerf}:username={username}\n{npm.nerf}:_password={encoded}\n")


def test_profile_set_email_with_a_token_alone_is_refused_with_where_to_do_it(
    npm, alice, alice_token
):
    npm.login_with(alice_token)

    result = npm("profile", "set", "email", "thief@evil.example", check=False)

    assert result.returncode == 1
    assert "Changing your email address needs your current password" in result.stderr
    assert f"{npm.registry}account/settings/" in result.stderr
    alice.refresh_from_db()
    assert (alice.email, alice.pending_email) == ("alice@example.com", "")
    assert mail.outbox == []


def test_profile_set_email_with_the_password_waits_until_the_link_is_followed(npm, alice):
    with_password(npm, "alice", PASSWORD)

    result = npm("profile", "set", "email", "alice@new.example")

    assert "Set email to alice@example.com" in result.stdout
    assert "confirmation link to alice@new.example" in result.stderr  # npm notice
    assert npm("profile", "get", "email").stdout.strip() == "alice@example.com(unverified)"
    assert npm.json("profile", "get")["pending_email"] == "alice@new.example"
    told = next(m for m in mail.outbox if m.to == ["alice@example.com"])
    assert "alice@new.example" in told.body

    confirmation = next(m for m in mail.outbox if m.to == ["alice@new.example"])
    assert Client().get(link_in(confirmation)).status_code == 200

    assert npm("profile", "get", "email").stdout.strip() == "alice@new.example (verified)"
    assert User.objects.get(pk=alice.pk).email == "alice@new.example"


def test_after_a_password_reset_the_old_token_is_refused(npm, alice, alice_token):
    User.objects.filter(pk=alice.pk).update(email_verified=True)
    npm.login_with(alice_token)
    assert npm("whoami").stdout.strip() == "alice"
    portal = Client()
    portal.post("/account/password/reset/", {"email": "alice@example.com"})
    form_page = portal.get(link_in(mail.outbox[-1]), follow=True)
    new_password = "a fresh reset passphrase"
    portal.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )
    assert SecurityEvent.objects.filter(user=alice, action="account:password-reset").exists()

    result = npm("whoami", check=False)

    assert result.returncode == 1
    assert "401 Unauthorized" in result.stderr
    assert "This access token is not valid" in result.stderr
    with_password(npm, "alice", new_password)
    assert npm("profile", "get", "name").stdout.strip() == "alice"  # asks the registry
