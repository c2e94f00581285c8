"""`npm profile` against the API: get, set, enable-2fa and disable-2fa."""

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django_otp.oath import TOTP

from accounts.models import SecurityEvent, User
from tests.accounts.factors import app_code, enroll_app
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _post(client, token, body, otp=None):
    extra = {"HTTP_NPM_OTP": otp} if otp else {}
    return client.post(
        "/-/npm/v1/user",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **extra,
    )


def _code_from_uri(uri: str) -> str:
    secret = parse_qs(urlsplit(uri).query)["secret"][0]

    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{TOTP(key).token():06d}"


def test_enable_2fa_from_the_cli(client, alice, alice_token):
    assert (
        client.get("/-/npm/v1/user", HTTP_AUTHORIZATION=f"Bearer {alice_token}").json()["tfa"]
        is False
    )

    started = _post(client, alice_token, {"tfa": {"mode": "auth-only", "password": PASSWORD}})
    uri = started.json()["tfa"]
    assert uri.startswith("otpauth://totp/")
    assert client.get("/-/npm/v1/user", HTTP_AUTHORIZATION=f"Bearer {alice_token}").json()[
        "tfa"
    ] == {"pending": True, "mode": "auth-only"}

    finished = _post(client, alice_token, {"tfa": [_code_from_uri(uri)]})
    assert finished.status_code == 200, finished.json()
    codes = finished.json()["tfa"]
    assert isinstance(codes, list) and len(codes) == 10
    assert User.objects.get(pk=alice.pk).tfa_mode == "auth-only"
    profile = client.get("/-/npm/v1/user", HTTP_AUTHORIZATION=f"Bearer {alice_token}").json()
    assert profile["tfa"] == {"pending": False, "mode": "auth-only"}


def test_enable_2fa_needs_the_password(client, alice, alice_token):
    response = _post(client, alice_token, {"tfa": {"mode": "auth-and-writes", "password": "wrong"}})
    assert response.status_code == 401
    assert "password" in response.json()["error"]


def test_mode_change_from_the_cli_needs_the_second_factor(client, alice, alice_token):
    device, _ = enroll_app(alice)
    asked = _post(client, alice_token, {"tfa": {"mode": "auth-only", "password": PASSWORD}})
    assert asked.status_code == 401 and asked["WWW-Authenticate"] == "OTP"
    done = _post(
        client,
        alice_token,
        {"tfa": {"mode": "auth-only", "password": PASSWORD}},
        otp=app_code(device, steps_ahead=1),
    )
    assert done.status_code == 200 and done.json()["tfa"]["mode"] == "auth-only"


def test_disable_2fa_needs_password_and_second_factor(client, alice, alice_token):
    device, _ = enroll_app(alice)
    body = {"tfa": {"mode": "disable", "password": PASSWORD}}
    assert _post(client, alice_token, body).status_code == 401
    assert User.objects.get(pk=alice.pk).has_two_factor
    assert _post(client, alice_token, body, otp=app_code(device, steps_ahead=1)).status_code == 200
    assert not User.objects.get(pk=alice.pk).has_two_factor


def test_profile_set_email_with_a_token_alone_is_refused_and_says_where(
    client, alice, alice_token, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, alice_token, {"email": "new@example.com", "fullname": "Alice L"})

    assert response.status_code == 400
    error = response.json()["error"]
    assert "needs your current password" in error
    assert "http://localhost:8000/account/settings/" in error
    alice.refresh_from_db()
    assert (alice.email, alice.pending_email, alice.fullname) == ("alice@example.com", "", "")
    assert mail.outbox == []


def test_profile_set_email_with_the_current_password_waits_for_the_link(
    client, alice, alice_token, django_capture_on_commit_callbacks
):
    body = {"email": "new@example.com", "fullname": "Alice L", "password": {"old": PASSWORD}}
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, alice_token, body)

    assert response.status_code == 200
    profile = response.json()
    assert profile["email"] == "alice@example.com" and profile["fullname"] == "Alice L"
    assert profile["pending_email"] == "new@example.com"
    assert "confirmation link to new@example.com" in response["npm-notice"]
    alice.refresh_from_db()
    assert (alice.email, alice.pending_email) == ("alice@example.com", "new@example.com")
    assert alice.check_password(PASSWORD)  # `password.old` alone changes no password
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "new@example.com"]
    told = next(m for m in mail.outbox if m.to == ["alice@example.com"])
    assert "new@example.com" in told.body
    assert SecurityEvent.objects.filter(user=alice, action="account:email-change-request").exists()


def test_profile_set_email_with_basic_credentials_waits_for_the_link(client, alice):
    credentials = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()

    response = client.post(
        "/-/npm/v1/user",
        data=json.dumps({"email": "new@example.com"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {credentials}",
    )

    assert response.status_code == 200
    alice.refresh_from_db()
    assert (alice.email, alice.pending_email) == ("alice@example.com", "new@example.com")


def test_profile_set_email_with_a_wrong_password_is_refused(client, alice, alice_token):
    body = {"email": "new@example.com", "password": {"old": "nope"}}

    response = _post(client, alice_token, body)

    assert response.status_code == 401
    alice.refresh_from_db()
    assert alice.pending_email == ""


def test_profile_set_fullname_needs_no_password(client, alice, alice_token):
    response = _post(client, alice_token, {"email": "alice@example.com", "fullname": "Alice L"})

    assert response.status_code == 200
    assert User.objects.get(pk=alice.pk).fullname == "Alice L"


def test_profile_set_asks_2fa_accounts_for_a_code(client, alice, alice_token):
    device, _ = enroll_app(alice)
    body = {"email": "new@example.com", "password": {"old": PASSWORD}}

    without_password = _post(client, alice_token, {"email": "new@example.com"})
    without_code = _post(client, alice_token, body)
    with_both = _post(client, alice_token, body, otp=app_code(device, steps_ahead=1))

    assert without_password.status_code == 400  # refused before asking for a code
    assert without_code.status_code == 401 and without_code["WWW-Authenticate"] == "OTP"
    assert with_both.status_code == 200
    alice.refresh_from_db()
    assert (alice.email, alice.pending_email) == ("alice@example.com", "new@example.com")


def test_password_change_checks_the_old_password(client, alice, alice_token):
    refused = _post(
        client, alice_token, {"password": {"old": "nope", "new": "a much better password 9"}}
    )
    assert refused.status_code == 401
    changed = _post(
        client, alice_token, {"password": {"old": PASSWORD, "new": "a much better password 9"}}
    )
    assert changed.status_code == 200
    assert User.objects.get(pk=alice.pk).check_password("a much better password 9")
