"""Second factors with the real npm CLI: `--otp`, the `Enter OTP:` prompt, recovery codes,
legacy login, `npm profile enable-2fa/disable-2fa`, and web OTP for security-key holders.

Each test has one fresh app code: enrolling used the current step's code, and django-otp
refuses a step it has seen, so `app_code(device, steps_ahead=1)` is the next one. Recovery
codes stand in where a test needs a second, different code.
"""

import base64
import io
import json
import re
import urllib.error
import urllib.request
from datetime import timedelta

import pexpect
import pytest
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp_webauthn.models import WebAuthnCredential

from accounts.actors import Actor
from accounts.models import OTPChallenge, RecoveryCode, Token
from accounts.recovery_codes import recovery_code_hash
from accounts.second_factor import otp_challenge_approve, otp_challenge_create
from accounts.secrets import secret_hash
from tests.accounts.factors import app_code, enroll_app
from tests.conftest import PASSWORD, issue_token
from tests.e2e.conftest import NPM
from tests.registry.helpers import publish

pytestmark = pytest.mark.django_db(transaction=True)

NEEDS_OTP = "npm error code EOTP"
REUSED = "This one-time password was already used for another command."
RECOVERY_CODE_REUSED = "That recovery code was already used; each recovery code works once."


# --- helpers -----------------------------------------------------------------------------


class Pty:
    """npm in a pseudo-terminal: wait for what it prints, answer prompts, read the output."""

    def __init__(self, npm, *args, cwd=None, timeout=30):
        self.args = args
        self.transcript = io.StringIO()
        self.child = pexpect.spawn(
            NPM,
            list(args),
            cwd=str(cwd or npm.root),
            env=npm.env(),
            encoding="utf-8",
            timeout=timeout,
            dimensions=(60, 200),
        )
        self.child.logfile_read = self.transcript

    @property
    def output(self) -> str:
        return self.transcript.getvalue()

    def wait_for(self, pattern) -> re.Match | None:
        try:
            self.child.expect(pattern)
        except pexpect.ExceptionPexpect:
            self.stop()
            raise AssertionError(
                f"npm {' '.join(self.args)} never printed {pattern!r}:\n{self.output}"
            ) from None
        return self.child.match

    def answer(self, prompt: str, text: str) -> None:
        self.wait_for(prompt)
        self.child.sendline(text)

    def finish(self) -> int:
        self.wait_for(pexpect.EOF)
        self.child.close()
        return self.child.exitstatus

    def stop(self) -> None:
        if self.child.isalive():
            self.child.close(force=True)


@pytest.fixture
def pty(npm):
    """Start npm in a pty; none outlives the test."""
    started = []

    def start(*args, cwd=None) -> Pty:
        started.append(Pty(npm, *args, cwd=cwd))
        return started[-1]

    yield start
    for command in started:
        command.stop()


def eotp(result) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert NEEDS_OTP in result.stderr, result.stderr


def published_before_2fa(user, name: str, version: str = "1.0.0") -> None:
    """Setup, not what is tested: publish before `user` has a second factor."""
    response = publish(Client(), issue_token(user), name, version)
    assert response.status_code == 201, response.content


def saved_token(npm) -> str | None:
    for line in npm.npmrc.read_text().splitlines() if npm.npmrc.exists() else []:
        key, _, value = line.partition("=")
        if key == f"{npm.nerf}:_authToken":
            return value
    return None


def give_key(user) -> WebAuthnCredential:
    return WebAuthnCredential.objects.create(
        user=user,
        name="YubiKey",
        confirmed=True,
        credential_id=b"cred-" + user.username.encode(),
        public_key=b"not-used-here",
        sign_count=0,
    )


def totp_now(secret: str) -> str:
    """The code an authenticator app shows for a base32 secret (npm's "Or enter code")."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{TOTP(key, step=30, t0=0, digits=6).token():06d}"


def poll(url: str) -> tuple[int, dict]:
    """Poll a doneUrl the way npm may (a PUT with the original body)."""
    request = urllib.request.Request(  # noqa: S310 - the live_server's http URL
        url, data=b'"1.0.0"', method="PUT", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - live_server
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# --- auth-and-writes: every write needs the second factor -------------------------------


def test_publish_needs_an_otp_and_works_with_an_app_code_or_a_recovery_code(
    npm, alice, alice_token
):
    device, recovery_codes = enroll_app(alice)
    npm.login_with(alice_token)
    first = npm.package("guarded-x", "1.0.0")

    eotp(npm("publish", cwd=first, check=False))
    as_json = npm("publish", "--json", cwd=first, check=False)
    assert json.loads(as_json.stdout)["error"]["code"] == "EOTP"
    assert "authUrl" not in as_json.stdout  # no security key, no web OTP

    npm("publish", f"--otp={app_code(device, steps_ahead=1)}", cwd=first)
    npm("publish", f"--otp={recovery_codes[0]}", cwd=npm.package("guarded-x", "1.0.1"))

    assert npm.json("view", "guarded-x", "versions") == ["1.0.0", "1.0.1"]
    used = RecoveryCode.objects.get(code_hash=recovery_code_hash(recovery_codes[0]))
    assert used.used_at is not None
    reused = npm("publish", f"--otp={recovery_codes[0]}", cwd=npm.package("other-x"), check=False)
    eotp(reused)
    assert f"npm notice {RECOVERY_CODE_REUSED}" in reused.stderr


def test_one_code_serves_all_requests_of_unpublish_but_not_another_command(npm, alice, alice_token):
    published_before_2fa(alice, "gone-x", "1.0.0")
    published_before_2fa(alice, "gone-x", "1.0.1")
    published_before_2fa(alice, "kept-x", "1.0.0")
    device, _ = enroll_app(alice)
    npm.login_with(alice_token)
    code = app_code(device, steps_ahead=1)

    npm("unpublish", "gone-x@1.0.0", f"--otp={code}")
    tagged = npm("dist-tag", "add", "kept-x@1.0.0", "beta", f"--otp={code}", check=False)

    assert npm.json("view", "gone-x", "versions") == ["1.0.1"]
    eotp(tagged)
    assert f"npm notice {REUSED}" in tagged.stderr
    assert "beta" not in npm("dist-tag", "ls", "kept-x").stdout


def test_one_code_serves_all_requests_of_unpublishing_a_whole_package(npm, alice, alice_token):
    published_before_2fa(alice, "gone-x", "1.0.0")
    published_before_2fa(alice, "gone-x", "1.0.1")
    device, _ = enroll_app(alice)
    npm.login_with(alice_token)

    npm("unpublish", "gone-x", "--force", f"--otp={app_code(device, steps_ahead=1)}")

    assert npm("view", "gone-x", check=False).returncode != 0


def test_a_publish_code_is_refused_by_the_next_command_with_the_reason(npm, alice, alice_token):
    device, _ = enroll_app(alice)
    npm.login_with(alice_token)
    code = app_code(device, steps_ahead=1)

    npm("publish", f"--otp={code}", cwd=npm.package("once-x", "1.0.0"))
    again = npm("publish", f"--otp={code}", cwd=npm.package("once-x", "1.0.1"), check=False)
    tagged = npm("dist-tag", "add", "once-x@1.0.0", "beta", f"--otp={code}", check=False)

    for refused in (again, tagged):
        eotp(refused)
        assert f"npm notice {REUSED}" in refused.stderr
        assert "Wait for the next code from your authenticator" in refused.stderr
    assert npm.json("view", "once-x", "versions") == ["1.0.0"]


# --- auth-only: logins and account changes, not package writes --------------------------


def test_auth_only_publishes_freely_but_token_revoke_and_profile_set_ask(npm, alice, alice_token):
    device, recovery_codes = enroll_app(alice, mode="auth-only")
    npm.login_with(alice_token)
    other = Token.objects.get(token_hash=secret_hash(issue_token(alice)))
    other_id = str(other.key)[:8]

    npm("publish", cwd=npm.package("relaxed-x"))
    eotp(npm("token", "revoke", other_id, check=False))
    eotp(npm("profile", "set", "fullname", "Alice Liddell", check=False))
    npm("token", "revoke", other_id, f"--otp={app_code(device, steps_ahead=1)}")
    result = npm("profile", "set", "fullname", "Alice Liddell", f"--otp={recovery_codes[0]}")

    assert not Token.objects.filter(pk=other.pk).exists()
    assert "Set fullname to Alice Liddell" in result.stdout
    alice.refresh_from_db()
    assert alice.fullname == "Alice Liddell"


# --- answering the prompts in a terminal ------------------------------------------------


def test_dist_tag_add_asks_for_the_otp_in_a_terminal(npm, pty, alice, alice_token):
    published_before_2fa(alice, "prompted-x")
    device, _ = enroll_app(alice)
    npm.login_with(alice_token)

    tagging = pty("dist-tag", "add", "prompted-x@1.0.0", "beta")
    tagging.answer("Enter OTP:", app_code(device, steps_ahead=1))

    assert tagging.finish() == 0, tagging.output
    assert "+beta: prompted-x@1.0.0" in tagging.output
    assert "beta: 1.0.0" in npm("dist-tag", "ls", "prompted-x").stdout


def legacy_login(pty, otp: str):
    login = pty("login", "--auth-type=legacy")
    login.answer("Username:", "alice")
    login.answer("Password:", PASSWORD)
    login.answer("Enter OTP:", otp)
    return login


def test_legacy_login_of_a_2fa_account_asks_for_the_otp_and_saves_a_token(npm, pty, alice):
    device, _ = enroll_app(alice)

    login = legacy_login(pty, app_code(device, steps_ahead=1))

    assert login.finish() == 0, login.output
    assert f"Logged in on {npm.registry}" in login.output
    assert saved_token(npm).startswith("gth_")
    assert npm("whoami").stdout.strip() == "alice"


def test_legacy_login_with_a_wrong_otp_saves_no_token(npm, pty, alice):
    enroll_app(alice)

    login = legacy_login(pty, "000000")

    assert login.finish() == 1
    assert NEEDS_OTP in login.output
    assert "npm notice That code is not valid (wrong, expired or already used)." in login.output
    assert saved_token(npm) is None
    assert not Token.objects.exists()


def test_enable_2fa_in_a_terminal_prints_recovery_codes_and_disable_2fa_turns_it_off(
    npm, pty, alice, alice_token
):
    npm.login_with(alice_token)

    enabling = pty("profile", "enable-2fa", "auth-and-writes")
    enabling.answer("(?i)password:", PASSWORD)
    secret = enabling.wait_for(r"Or enter code:\s*([A-Z2-7]+)").group(1)
    enabling.answer("(?i)OTP code from your authenticator", totp_now(secret))

    assert enabling.finish() == 0, enabling.output
    assert "Below are your recovery codes" in enabling.output
    alice.refresh_from_db()
    assert alice.tfa_mode == "auth-and-writes"
    assert RecoveryCode.objects.filter(user=alice).count() > 0
    table = npm("profile", "get").stdout
    assert "two-factor auth: auth-and-writes" in table, table

    device = alice.totpdevice_set.get()
    disabling = pty("profile", "disable-2fa")
    disabling.answer("(?i)password:", PASSWORD)
    disabling.answer("Enter OTP:", app_code(device, steps_ahead=1))

    assert disabling.finish() == 0, disabling.output
    assert "Two factor authentication disabled." in disabling.output
    assert not npm.json("profile", "get")["tfa"]


def test_enable_2fa_with_another_mode_only_switches_the_mode_after_the_otp(
    npm, pty, alice, alice_token
):
    device, _ = enroll_app(alice)
    npm.login_with(alice_token)

    switching = pty("profile", "enable-2fa", "auth-only")
    switching.answer("(?i)password:", PASSWORD)
    switching.answer("Enter OTP:", app_code(device, steps_ahead=1))

    assert switching.finish() == 0, switching.output
    assert "Two factor authentication mode changed to: auth-only" in switching.output
    alice.refresh_from_db()
    assert alice.tfa_mode == "auth-only"


# --- web OTP: people with a security key approve in the portal --------------------------


def test_key_holder_without_a_terminal_is_shown_where_to_approve(npm, alice, alice_token):
    enroll_app(alice)
    give_key(alice)
    npm.login_with(alice_token)
    package = npm.package("keyed-x")

    result = npm("publish", cwd=package, check=False)
    as_json = json.loads(npm("publish", "--json", cwd=package, check=False).stdout)["error"]

    eotp(result)
    assert "Open this URL in your browser to authenticate:" in result.stderr
    done_url = re.search(r"retrieved from:\s+npm error\s+(\S+)", result.stderr).group(1)
    assert poll(done_url) == (202, {})  # a live challenge, waiting for the key
    challenge = OTPChallenge.objects.order_by("created_at").last()
    assert challenge.description["package"] == "keyed-x"
    assert as_json["code"] == "EOTP"
    assert as_json["authUrl"] == f"{npm.registry}account/approve/{challenge.pk.hex}/"
    assert as_json["doneUrl"].startswith(f"{npm.registry}-/v1/otp/")


def test_the_printed_auth_url_can_be_opened(npm, alice, alice_token):
    enroll_app(alice)
    give_key(alice)
    npm.login_with(alice_token)

    result = npm("publish", cwd=npm.package("keyed-x"), check=False)

    challenge = OTPChallenge.objects.get()
    assert f"{npm.registry}account/approve/{challenge.pk.hex}/" in result.stderr, result.stderr


def test_key_holder_in_a_terminal_publishes_once_the_portal_approves(npm, pty, alice, alice_token):
    enroll_app(alice)
    key = give_key(alice)
    npm.login_with(alice_token)
    package = npm.package("keyed-x")

    publishing = pty("publish", "./" + str(package.relative_to(npm.root)), "--browser=false")
    publishing.wait_for("account/approve/")
    otp_challenge_approve(
        actor=Actor(user=alice), challenge=OTPChallenge.objects.get(user=alice), device=key
    )

    assert publishing.finish() == 0, publishing.output
    assert "+ keyed-x@1.0.0" in publishing.output
    assert npm.json("view", "keyed-x", "version") == "1.0.0"
    assert OTPChallenge.objects.get().code_used_at is not None


def test_an_unknown_or_expired_done_url_is_a_404_that_says_so(registry, alice):
    challenge, secret = otp_challenge_create(Actor(user=alice), "publish:keyed-x", {})
    OTPChallenge.objects.filter(pk=challenge.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    for done in (secret, "nosuchsecret"):
        status, body = poll(f"{registry}-/v1/otp/{done}")
        assert status == 404
        assert body["error"] == "This approval request expired. Run the command again."


def test_an_approved_code_collected_by_someone_else_does_not_work_for_them(
    make_npm, alice, bob, bob_token
):
    enroll_app(alice)
    key = give_key(alice)
    challenge, secret = otp_challenge_create(Actor(user=alice), "publish:keyed-x", {})
    otp_challenge_approve(actor=Actor(user=alice), challenge=challenge, device=key)
    enroll_app(bob)
    bob_npm = make_npm("bob")
    bob_npm.login_with(bob_token)

    # The done secret is the capability: whoever holds it collects the code...
    status, body = poll(f"{bob_npm.registry}-/v1/otp/{secret}")
    assert status == 200
    # ...but the code is alice's, for her command only.
    result = bob_npm(
        "publish", f"--otp={body['token']}", cwd=bob_npm.package("keyed-x"), check=False
    )

    eotp(result)
    assert "npm notice This security-key approval is for another command" in result.stderr
    assert OTPChallenge.objects.get().code_used_at is None
