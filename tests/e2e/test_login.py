"""`npm login` and `npm adduser` with the real npm CLI: in the browser (web) and with
username/password prompts in a pseudo-terminal (legacy)."""

import io
import os
import selectors
import subprocess
import time
from urllib.parse import urlsplit

import pexpect
import pytest
from django.core.management import call_command
from django.test import Client

from accounts import sudo
from accounts.models import SecurityEvent, Token, User
from tests.conftest import PASSWORD
from tests.e2e.conftest import NPM

pytestmark = pytest.mark.django_db(transaction=True)


# --- helpers: a web login in the background, a pty for the prompts ---------------------


class BackgroundNpm:
    """An npm command left running (stdin closed), whose output can be waited for."""

    def __init__(self, npm, *args):
        self.process = subprocess.Popen(
            [NPM, *args],
            cwd=npm.root,
            env=npm.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.stdout = ""

    def wait_for_line_after(self, marker: str, timeout: float = 20) -> str:
        """The first line printed after the line containing `marker`."""
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                lines = self.stdout.splitlines()
                for index, line in enumerate(lines[:-1]):
                    if marker in line:
                        return lines[index + 1].strip()
                if selector.select(timeout=deadline - time.monotonic()):
                    # os.read, not readline: a buffered reader would hide lines from select.
                    chunk = os.read(self.process.stdout.fileno(), 65536)
                    if not chunk:
                        break
                    self.stdout += chunk.decode()
        _, stderr = self.stop()
        raise AssertionError(f"npm never printed {marker!r}:\n{self.stdout}\n{stderr}")

    def finish(self, timeout: float = 20) -> subprocess.CompletedProcess:
        try:
            stdout, stderr = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            stdout, stderr = self.stop()
            raise AssertionError(f"npm did not finish:\n{self.stdout}{stdout}\n{stderr}") from None
        return subprocess.CompletedProcess(
            self.process.args,
            self.process.returncode,
            self.stdout + stdout.decode(),
            stderr.decode(),
        )

    def stop(self) -> tuple[str, str]:
        """Kill npm if it still runs and collect what is left of its output."""
        if self.process.poll() is None:
            self.process.kill()
        stdout, stderr = self.process.communicate()
        return stdout.decode(), stderr.decode()


@pytest.fixture
def npm_in_background(npm):
    """Start npm commands that run while the test acts; none outlives the test."""
    started = []

    def start(*args) -> BackgroundNpm:
        started.append(BackgroundNpm(npm, *args))
        return started[-1]

    yield start
    for command in started:
        command.stop()


def confirm_in_portal(user, login_url: str) -> str:
    """Confirm a CLI login as `user` the way the portal page does, in a session that has
    just signed in (sudo mode, with the second factor if any); returns the page text."""
    client = Client()
    client.force_login(user)
    session = client.session
    session[sudo.SESSION_KEY] = int(time.time())
    if user.has_two_factor:
        session[sudo.FACTOR_KEY] = session[sudo.SESSION_KEY]
    session.save()
    path = urlsplit(login_url).path
    page = client.get(path)
    assert page.status_code == 200
    confirmed = client.post(path, {"confirm": "yes"})
    assert confirmed.status_code == 200
    return page.content.decode()


def npm_pty(npm, *args, answers=(), timeout=30) -> tuple[int, str]:
    """Run npm in a pseudo-terminal, answering each (prompt regex, answer); returns the
    exit status and everything npm printed."""
    transcript = io.StringIO()
    child = pexpect.spawn(
        NPM,
        list(args),
        cwd=str(npm.root),
        env=npm.env(),
        encoding="utf-8",
        timeout=timeout,
        dimensions=(40, 200),
    )
    child.logfile_read = transcript
    try:
        for prompt, answer in answers:
            child.expect(prompt)
            child.sendline(answer)
        child.expect(pexpect.EOF)
    except pexpect.ExceptionPexpect as exc:
        child.close(force=True)
        raise AssertionError(f"npm {' '.join(args)}: {exc}\n{transcript.getvalue()}") from None
    child.close()
    return child.exitstatus, transcript.getvalue()


def legacy_login(npm, username: str, password: str) -> tuple[int, str]:
    return npm_pty(
        npm,
        "login",
        "--auth-type=legacy",
        answers=[("Username:", username), ("Password:", password)],
    )


def legacy_adduser(npm, username: str, password: str, email: str) -> tuple[int, str]:
    return npm_pty(
        npm,
        "adduser",
        "--auth-type=legacy",
        answers=[("Username:", username), ("Password:", password), (r"(?i)email.*:", email)],
    )


def saved_token(npm) -> str | None:
    for line in npm.npmrc.read_text().splitlines() if npm.npmrc.exists() else []:
        key, _, value = line.partition("=")
        if key == f"{npm.nerf}:_authToken":
            return value
    return None


# --- web login ----------------------------------------------------------------------------


def test_web_login_confirmed_in_the_portal_saves_a_token_and_whoami_works(
    npm, npm_in_background, alice
):
    login = npm_in_background("login")
    login_url = login.wait_for_line_after("Login at:")
    assert login_url.startswith(f"{npm.registry}account/cli-login/")

    page = confirm_in_portal(alice, login_url)

    result = login.finish()
    assert result.returncode == 0, result.stderr
    assert f"Logged in on {npm.registry}" in result.stdout
    token = saved_token(npm)
    assert token is not None and token.startswith("gth_")
    assert npm("whoami").stdout.strip() == "alice"
    # The person saw where the request came from and with what client.
    assert "<strong>127.0.0.1</strong>" in page
    assert "<code>npm/11." in page


def test_web_adduser_prints_the_create_account_url(npm, npm_in_background, alice):
    adduser = npm_in_background("adduser")
    login_url = adduser.wait_for_line_after("Create your account at:")
    assert login_url.startswith(f"{npm.registry}account/cli-login/")

    confirm_in_portal(alice, login_url)

    assert adduser.finish().returncode == 0
    assert saved_token(npm).startswith("gth_")


def test_web_login_works_while_a_revoked_token_is_configured(
    npm, npm_in_background, alice, alice_token
):
    npm.login_with(alice_token)
    Token.objects.all().delete()

    login = npm_in_background("login")
    confirm_in_portal(alice, login.wait_for_line_after("Login at:"))

    assert login.finish().returncode == 0
    assert saved_token(npm) not in (None, alice_token)
    assert npm("whoami").stdout.strip() == "alice"


# --- legacy login and adduser in a pseudo-terminal ---------------------------------------


def test_legacy_login_answers_the_prompts_and_saves_a_token(npm, alice):
    status, output = legacy_login(npm, "alice", PASSWORD)

    assert status == 0, output
    assert f"Logged in on {npm.registry}" in output
    assert saved_token(npm).startswith("gth_")
    assert npm("whoami").stdout.strip() == "alice"


def test_legacy_login_with_a_wrong_password_shows_why_and_saves_nothing(npm, alice):
    status, output = legacy_login(npm, "alice", "not the password")

    assert status == 1
    assert "Incorrect username or password" in output
    assert saved_token(npm) is None
    assert not Token.objects.exists()
    assert SecurityEvent.objects.filter(action="login:password-failed", user=alice).exists()


def test_legacy_adduser_creates_the_account_and_saves_a_working_token(npm, db):
    status, output = legacy_adduser(npm, "frank", "a long fresh passphrase", "frank@example.com")

    assert status == 0, output
    frank = User.objects.get(username="frank")
    assert frank.email == "frank@example.com"
    assert frank.check_password("a long fresh passphrase")
    assert npm("whoami").stdout.strip() == "frank"


def test_legacy_adduser_with_a_taken_name_and_wrong_password_fails_cleanly(npm, alice):
    status, output = legacy_adduser(npm, "alice", "not the password", "mallory@example.com")

    assert status == 1
    assert "409" in output
    assert 'The username "alice" is taken' in output
    assert "Exit handler never called" not in output
    assert saved_token(npm) is None
    assert not Token.objects.exists()


def test_legacy_adduser_is_refused_when_signup_is_closed(npm, settings, db):
    settings.GATEHOUSE_OPEN_SIGNUP = False

    status, output = legacy_adduser(npm, "frank", "a long fresh passphrase", "frank@example.com")

    assert status == 1
    assert "Sign-up is closed on this registry" in output
    assert not User.objects.filter(username="frank").exists()
    assert saved_token(npm) is None


def test_createsuperuser_account_can_log_in_with_npm(npm, monkeypatch, db):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "an admin passphrase")
    call_command(
        "createsuperuser",
        interactive=False,
        username="admin",
        email="admin@example.com",
        verbosity=0,
    )

    status, output = legacy_login(npm, "admin", "an admin passphrase")

    assert status == 0, output
    assert npm("whoami").stdout.strip() == "admin"
