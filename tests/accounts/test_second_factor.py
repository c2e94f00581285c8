"""The second factor at the npm CLI's door: WWW-Authenticate: OTP, npm-otp, web OTP."""

import base64
import json

import pytest
from django_otp_webauthn.models import WebAuthnCredential

from accounts.actors import Actor
from accounts.models import OTPChallenge
from accounts.second_factor import otp_challenge_approve
from tests.accounts.factors import app_code, enroll_app
from tests.packages import publish_body
from tests.registry.helpers import publish

pytestmark = pytest.mark.django_db


def _publish(client, token, name, version="1.0.0", otp=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_NPM_COMMAND": "publish"}
    if otp:
        headers["HTTP_NPM_OTP"] = otp
    return client.put(
        f"/{name}",
        data=json.dumps(publish_body(name, version)),
        content_type="application/json",
        **headers,
    )


def test_write_without_code_gets_exactly_the_otp_challenge(client, alice, alice_token):
    enroll_app(alice)
    response = _publish(client, alice_token, "guarded")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "OTP"
    assert "one-time password" in response.json()["error"]
    assert "authUrl" not in response.json()
    assert client.get("/guarded").status_code == 404


def test_write_with_app_code_succeeds(client, alice, alice_token):
    device, _ = enroll_app(alice)
    assert (
        _publish(client, alice_token, "guarded", otp=app_code(device, steps_ahead=1)).status_code
        == 201
    )


def test_wrong_code_is_refused_with_the_challenge(client, alice, alice_token):
    enroll_app(alice)
    response = _publish(client, alice_token, "guarded", otp="000000")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "OTP"
    assert "not valid" in response.json()["error"]


def test_recovery_code_works_as_otp(client, alice, alice_token):
    _, codes = enroll_app(alice)
    assert _publish(client, alice_token, "guarded", otp=codes[0]).status_code == 201


def test_one_code_serves_every_request_of_one_command_and_nothing_else(client, alice, alice_token):
    device, _ = enroll_app(alice)
    code = app_code(device, steps_ahead=1)
    assert _publish(client, alice_token, "several", "1.0.0", otp=code).status_code == 201
    # npm repeats --otp on each request of one command: same operation, accepted again.
    assert _publish(client, alice_token, "several", "1.0.1", otp=code).status_code == 201
    # ...but the code is not a pass for a different operation.
    other = _publish(client, alice_token, "other-package", otp=code)
    assert other.status_code == 401
    assert "already used for another command" in other.json()["error"]


def test_auth_only_mode_does_not_ask_on_writes(client, alice, alice_token):
    enroll_app(alice, mode="auth-only")
    assert _publish(client, alice_token, "relaxed").status_code == 201


def test_people_without_2fa_are_not_asked(client, bob_token):
    assert publish(client, bob_token, "plain").status_code == 201


def _give_key(user):
    return WebAuthnCredential.objects.create(
        user=user,
        name="YubiKey",
        confirmed=True,
        credential_id=b"cred-" + user.username.encode(),
        public_key=b"not-used-here",
        sign_count=0,
    )


def test_key_holders_get_auth_and_done_urls_and_the_approved_code_works_once(
    client, alice, alice_token, settings
):
    enroll_app(alice)
    device = _give_key(alice)

    challenged = _publish(client, alice_token, "keyed", "2.0.0")
    body = challenged.json()
    assert challenged["WWW-Authenticate"] == "OTP"
    assert body["authUrl"].startswith(settings.GATEHOUSE_URL + "account/approve/")
    assert body["doneUrl"].startswith(settings.GATEHOUSE_URL + "-/v1/otp/")
    done = "/" + body["doneUrl"].removeprefix(settings.GATEHOUSE_URL)
    challenge = OTPChallenge.objects.get()
    assert (
        challenge.description["package"] == "keyed" and challenge.description["version"] == "2.0.0"
    )

    pending = client.put(done, data='"1.0.0"', content_type="application/json")
    assert pending.status_code == 202 and pending["Retry-After"] == "1" and pending.json() == {}

    otp_challenge_approve(actor=Actor(user=alice), challenge=challenge, device=device)
    code = client.get(done).json()["token"]
    assert code.startswith("wotp_")
    assert client.get(done).status_code == 404  # handed out once

    assert (
        _publish(client, alice_token, "other", otp=code).status_code == 401
    )  # bound to its operation
    assert _publish(client, alice_token, "keyed", "2.0.0", otp=code).status_code == 201


def test_unknown_done_url_is_a_clear_404(client):
    response = client.get("/-/v1/otp/nothinghere")
    assert response.status_code == 404
    assert "expired" in response.json()["error"]


def test_legacy_login_asks_for_the_second_factor(client, alice):
    device, _ = enroll_app(alice)
    body = json.dumps({"name": "alice", "password": "correct horse battery staple"})
    path = "/-/user/org.couchdb.user:alice"

    asked = client.put(path, data=body, content_type="application/json")
    assert asked.status_code == 401 and asked["WWW-Authenticate"] == "OTP"
    assert "token" not in asked.json()

    logged_in = client.put(
        path,
        data=body,
        content_type="application/json",
        HTTP_NPM_OTP=app_code(device, steps_ahead=1),
    )
    assert logged_in.status_code == 201 and logged_in.json()["token"].startswith("gth_")


def test_password_alone_never_authenticates_a_2fa_account(client, alice):
    enroll_app(alice)
    basic = base64.b64encode(b"alice:correct horse battery staple").decode()
    response = client.get("/-/whoami", HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 401
    assert "two-factor" in response.json()["error"]
