"""`npm profile` against the API: get, set, enable-2fa and disable-2fa."""

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django_otp.oath import TOTP

from accounts.models import User
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


def test_profile_set_email_notifies_the_old_address(
    client, alice, alice_token, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(
            client,
            alice_token,
            {"email": "new@example.com", "fullname": "Alice L", "homepage": None},
        )
    assert response.status_code == 200
    assert (
        response.json()["email"] == "new@example.com" and response.json()["fullname"] == "Alice L"
    )
    assert response.json()["email_verified"] is False
    assert mail.outbox[0].to == ["alice@example.com"]
    assert "new@example.com" in mail.outbox[0].body


def test_profile_set_asks_2fa_accounts_for_a_code(client, alice, alice_token):
    enroll_app(alice)
    response = _post(client, alice_token, {"email": "new@example.com"})
    assert response.status_code == 401 and response["WWW-Authenticate"] == "OTP"
    assert User.objects.get(pk=alice.pk).email == "alice@example.com"


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
