"""The second factor at the npm CLI's door: WWW-Authenticate: OTP, npm-otp, web OTP."""

import base64
import hashlib
import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from django_otp_webauthn.models import WebAuthnCredential

from accounts.actors import Actor
from accounts.models import OTPChallenge, SecondFactorUse, SecurityEvent
from accounts.second_factor import (
    REUSE_SECONDS,
    OTPRefused,
    OTPRequired,
    otp_challenge_approve,
    otp_challenge_create,
    otp_challenge_poll,
    otp_challenges_purge,
    second_factor_require,
)
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
    # npm repeats --otp on each request of one command: the same operation passes again
    # (here it gets as far as "you cannot publish over a published version").
    again = _publish(client, alice_token, "several", "1.0.0", otp=code)
    assert again.status_code == 403 and "WWW-Authenticate" not in again
    # ...but the code is not a pass for another operation, not even the next version.
    for other in (
        _publish(client, alice_token, "several", "1.0.1", otp=code),
        _publish(client, alice_token, "other-package", otp=code),
    ):
        assert other.status_code == 401 and other["WWW-Authenticate"] == "OTP"
        assert "already used for another command" in other.json()["error"]
        assert other["npm-notice"].startswith("This one-time password was already used")


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


def test_one_app_code_signs_in_once(client, alice):
    """A login is one request: its code cannot mint a second token within its window."""
    device, _ = enroll_app(alice)
    body = json.dumps({"name": "alice", "password": "correct horse battery staple"})
    path = "/-/user/org.couchdb.user:alice"
    code = app_code(device, steps_ahead=1)

    first = client.put(path, data=body, content_type="application/json", HTTP_NPM_OTP=code)
    again = client.put(path, data=body, content_type="application/json", HTTP_NPM_OTP=code)

    assert first.status_code == 201
    assert again.status_code == 401 and again["WWW-Authenticate"] == "OTP"
    assert "token" not in again.json()


def test_password_alone_never_authenticates_a_2fa_account(client, alice):
    enroll_app(alice)
    basic = base64.b64encode(b"alice:correct horse battery staple").decode()
    response = client.get("/-/whoami", HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 401
    assert "two-factor" in response.json()["error"]


# --- one code, one operation --------------------------------------------------------------


def _offer(user, code, operation, **actor):
    """Offer `code` for `operation` as a request at the CLI would."""
    return second_factor_require(
        Actor(user=user, ip="192.0.2.7", otp=code, **actor),
        operation=operation,
        description={"summary": f"Do {operation}"},
    )


def _as_another_web_process():
    """What a second web process sees: none of this one's memory (no shared cache)."""
    cache.clear()


def test_an_app_code_passes_again_for_its_operation_in_any_web_process(alice):
    device, _ = enroll_app(alice)
    code = app_code(device, steps_ahead=1)

    assert _offer(alice, code, "publish:foo@1.0.0") == "app"
    _as_another_web_process()
    assert _offer(alice, code, "publish:foo@1.0.0") == "app"  # npm's next request


def test_an_app_code_used_for_one_operation_is_refused_for_another_with_a_notice(alice):
    device, _ = enroll_app(alice)
    code = app_code(device, steps_ahead=1)
    _offer(alice, code, "publish:foo@1.0.0")
    _as_another_web_process()

    with pytest.raises(OTPRefused) as refused:
        _offer(alice, code, "dist-tag:foo:beta=1.0.0")

    assert refused.value.status == 401
    headers = refused.value.headers()
    assert headers["WWW-Authenticate"] == "OTP"
    assert headers["npm-notice"] == (
        "This one-time password was already used for another command. "
        "Wait for the next code from your authenticator and run the command again."
    )
    assert SecurityEvent.objects.filter(
        user=alice, action="2fa:verify-failed", details__factor="code used for another command"
    ).exists()
    # The operation that used it first keeps it.
    assert _offer(alice, code, "publish:foo@1.0.0") == "app"


def test_a_recovery_code_is_burned_at_its_first_use_even_for_the_same_operation(alice):
    _, codes = enroll_app(alice)

    assert _offer(alice, codes[0], "login") == "recovery-code"
    for operation in ("login", "publish:foo@1.0.0"):
        with pytest.raises(OTPRefused) as refused:
            _offer(alice, codes[0], operation)
        assert "recovery code was already used" in refused.value.headers()["npm-notice"]


def test_a_code_is_kept_only_as_a_keyed_hash(alice):
    device, codes = enroll_app(alice)
    code = app_code(device, steps_ahead=1)
    _offer(alice, code, "publish:foo@1.0.0")
    _offer(alice, codes[0], "publish:bar@1.0.0")

    stored = SecondFactorUse.objects.filter(user=alice).values_list("code_hash", flat=True)
    plain = {c for c in (code, codes[0])} | {
        hashlib.sha256(c.encode()).hexdigest() for c in (code, codes[0])
    }
    assert len(stored) == 2 and not set(stored) & plain
    assert {u.factor for u in SecondFactorUse.objects.all()} == {"app", "recovery-code"}


def test_a_refused_code_is_not_kept_and_its_failure_is(alice):
    device, _ = enroll_app(alice)
    wrong = "000000" if app_code(device, steps_ahead=1) != "000000" else "111111"

    with pytest.raises(OTPRefused, match="not valid"):
        _offer(alice, wrong, "publish:foo@1.0.0")

    assert not SecondFactorUse.objects.exists()
    assert SecurityEvent.objects.filter(user=alice, action="2fa:verify-failed").exists()
    device.refresh_from_db()
    assert device.throttling_failure_count == 1  # django-otp's own count survives too


def test_after_the_reuse_window_the_code_no_longer_passes(alice):
    device, _ = enroll_app(alice)
    code = app_code(device, steps_ahead=1)
    _offer(alice, code, "publish:foo@1.0.0")
    SecondFactorUse.objects.update(used_at=timezone.now() - timedelta(seconds=REUSE_SECONDS + 1))

    with pytest.raises(OTPRefused, match="not valid"):
        _offer(alice, code, "publish:foo@1.0.0")


def test_purge_drops_code_uses_past_the_window_and_keeps_fresh_ones(alice):
    device, codes = enroll_app(alice)
    _offer(alice, app_code(device, steps_ahead=1), "publish:foo@1.0.0")
    _offer(alice, codes[0], "publish:bar@1.0.0")
    SecondFactorUse.objects.filter(factor="app").update(
        used_at=timezone.now() - timedelta(seconds=REUSE_SECONDS + 1)
    )

    assert otp_challenges_purge() == 1
    assert list(SecondFactorUse.objects.values_list("factor", flat=True)) == ["recovery-code"]


# --- web OTP: an approval is for exactly what the server parsed ---------------------------


DIST_TAG = {
    "summary": "Point the beta tag of foo at 1.2.3",
    "action": "dist-tag add",
    "package": "foo",
    "version": "1.2.3",
    "tag": "beta",
}


def _approved_web_code(user, operation: str) -> str:
    challenge, secret = otp_challenge_create(Actor(user=user), operation, {"summary": operation})
    otp_challenge_approve(actor=Actor(user=user), challenge=challenge, device=_give_key(user))
    return otp_challenge_poll(done_secret=secret)


def test_a_web_code_works_only_for_the_operation_it_was_minted_for(alice):
    code = _approved_web_code(alice, "publish:foo@1.0.0")

    for other in ("publish:foo@1.0.1", "dist-tag:foo:latest=1.0.0", "publish:bar@1.0.0"):
        with pytest.raises(OTPRefused, match="for another command"):
            _offer(alice, code, other)
    assert not SecondFactorUse.objects.exists()
    assert _offer(alice, code, "publish:foo@1.0.0") == "security-key"
    _as_another_web_process()
    assert _offer(alice, code, "publish:foo@1.0.0") == "security-key"  # npm's next request
    with pytest.raises(OTPRefused, match="already used for another command"):
        _offer(alice, code, "publish:foo@1.0.1")
    use = SecondFactorUse.objects.get()
    assert (use.factor, use.operation) == ("security-key", "publish:foo@1.0.0")


def test_a_web_challenge_describes_what_the_server_parsed_not_what_the_client_says(alice):
    enroll_app(alice)
    _give_key(alice)
    liar = Actor(user=alice, ip="192.0.2.7", npm_command="whoami")

    with pytest.raises(OTPRequired) as asked:
        second_factor_require(
            liar,
            operation="dist-tag:foo:beta=1.2.3",
            description={**DIST_TAG, "command": "whoami", "note": "<script>"},
        )

    assert asked.value.extra["authUrl"]
    challenge = OTPChallenge.objects.get()
    assert challenge.operation == "dist-tag:foo:beta=1.2.3"
    assert {k: challenge.description[k] for k in DIST_TAG} == DIST_TAG
    assert "command" not in challenge.description and "note" not in challenge.description
    assert challenge.description["client_command"] == "whoami"


def test_the_web_otp_page_shows_summary_version_and_tag_and_labels_the_client_hint(client, alice):
    enroll_app(alice)
    _give_key(alice)
    with pytest.raises(OTPRequired):
        second_factor_require(
            Actor(user=alice, npm_command="whoami"),
            operation="dist-tag:foo:beta=1.2.3",
            description=DIST_TAG,
        )
    challenge = OTPChallenge.objects.get()
    client.force_login(alice)

    page = client.get(f"/account/approve/{challenge.pk.hex}/").content.decode()

    assert "<strong>Point the beta tag of foo at 1.2.3</strong>" in page
    assert "<dt>Version</dt><dd><code>1.2.3</code></dd>" in page
    assert "<dt>Tag</dt><dd><code>beta</code></dd>" in page
    assert "<dt>Client said</dt><dd><code>npm whoami</code>" in page
    assert "not checked" in page


def test_a_challenge_without_a_summary_shows_its_operation(client, alice):
    challenge, _ = otp_challenge_create(Actor(user=alice), "profile:password", {"command": "x"})
    client.force_login(alice)

    page = client.get(f"/account/approve/{challenge.pk.hex}/").content.decode()

    assert "<strong>profile:password</strong>" in page
    assert "Client said" not in page
