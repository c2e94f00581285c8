"""Headless Chromium against a live Gatehouse, for the pages that need a real browser:
security keys (a CDP virtual authenticator), scripts under the CSP, the second factor.

Sync Playwright drives Debian's `chromium` (never `playwright install`). One browser per
session, a fresh context (cookies, authenticators) per test. Every page a test visits must
carry the Content-Security-Policy header and log no console error: a script or style the
CSP blocks shows up there as "Refused to …".
"""

import base64
import os
import shutil
import time

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django_otp.oath import TOTP

from accounts.actors import Actor
from accounts.services import two_factor
from accounts.sudo import SESSION_KEY as SUDO_SESSION_KEY
from tests.conftest import PASSWORD

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 5_000
# Chromium also logs violations itself, in words that change between versions.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
});
"""


@pytest.fixture(scope="session")
def browser():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed; CI must run the browser tests")
        pytest.skip("Chromium is not installed: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def server(live_server, settings) -> str:
    """The live server's origin, configured as the registry URL and the WebAuthn origin."""
    settings.GATEHOUSE_URL = live_server.url + "/"
    settings.GATEHOUSE_WEBAUTHN_ORIGINS = [live_server.url]
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]
    return live_server.url


class Portal:
    """One browser context on the live server, with what the tests keep doing."""

    def __init__(self, context, origin: str):
        self.context = context
        self.origin = origin
        self.page = context.new_page()
        self.page.add_init_script(REPORT_CSP_VIOLATIONS)
        self.problems: list[str] = []  # console errors, CSP violations, missing CSP headers
        self.expected: list[str] = []  # substrings of console errors a test provokes on purpose
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("response", self._on_response)

    def _on_console(self, message) -> None:
        text = message.text
        if message.type != "error" and "Refused to" not in text:
            return
        if not any(part in text for part in self.expected):
            self.problems.append(f"console {message.type}: {text}")

    def _on_response(self, response) -> None:
        if response.request.resource_type != "document" or not response.url.startswith(self.origin):
            return
        if "content-security-policy" not in response.headers:
            self.problems.append(f"no Content-Security-Policy header on {response.url}")

    def expect_console_error(self, part: str) -> None:
        """A console error containing `part` is part of the test (e.g. a refused fetch)."""
        self.expected.append(part)

    # Navigation --------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.origin + path

    def goto(self, path: str):
        response = self.page.goto(self.url(path))
        assert response is not None
        return response

    @property
    def path(self) -> str:
        return self.page.url.removeprefix(self.origin)

    def text(self, selector: str = "main") -> str:
        return self.page.inner_text(selector)

    def messages(self) -> str:
        locator = self.page.locator("ul.messages")
        return locator.inner_text() if locator.count() else ""

    def submit(self, form_selector: str, button: str = "button[type=submit]") -> None:
        with self.page.expect_navigation():
            self.page.click(f"{form_selector} {button}")

    def follow(self, link_text: str) -> None:
        with self.page.expect_navigation():
            self.page.get_by_role("link", name=link_text, exact=True).click()

    def click_and_wait(self, selector: str) -> None:
        """Click a key button; its script navigates when the ceremony is done."""
        with self.page.expect_navigation():
            self.page.click(selector)

    # Signing in --------------------------------------------------------------------

    def login(self, username: str, password: str = PASSWORD, next_path: str = "") -> None:
        self.goto("/account/login/" + (f"?next={next_path}" if next_path else ""))
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        self.submit("form:has(input[name=password])")

    def enter_code(self, code: str, form: str = "form:has(input[name=code])") -> None:
        self.page.fill(f"{form} input[name=code]", code)
        self.submit(form)

    # Second factors ----------------------------------------------------------------

    def add_authenticator(self) -> dict:
        """A CDP virtual authenticator that says yes to every ceremony."""
        cdp = self.context.new_cdp_session(self.page)
        cdp.send("WebAuthn.enable")
        options = {
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": True,
            "hasUserVerification": True,
            "isUserVerified": True,
            "automaticPresenceSimulation": True,
        }
        result = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
        return {"cdp": cdp, "id": result["authenticatorId"]}

    def totp_key(self) -> bytes:
        """The authenticator-app key shown on the enrollment page."""
        shown = self.page.inner_text("#totp-secret").replace(" ", "")
        return base64.b32decode(shown + "=" * (-len(shown) % 8))

    def recovery_codes(self) -> list[str]:
        return self.page.inner_text("#recovery-codes").split()

    def enroll_key(self, name: str = "Security key") -> list[str]:
        """Add a security key as the first factor (signed in, authenticator added) and
        finish with a recovery code; returns the nine codes left."""
        self.goto("/account/security/keys/add/")
        self.page.fill("#key-name", name)
        self.click_and_wait("[data-key-register]")
        codes = self.recovery_codes()
        self.enter_code(codes[0])
        assert "Two-factor authentication is on" in self.messages()
        return codes[1:]

    def sign_out(self) -> None:
        self.context.clear_cookies()

    def age_sudo(self) -> None:
        """Make the session's last second factor older than sudo mode allows."""
        cookie = next(c for c in self.context.cookies() if c["name"] == "sessionid")
        session = SessionStore(session_key=cookie["value"])
        session[SUDO_SESSION_KEY] = int(time.time()) - 3600
        session.save()


def app_enable(user) -> tuple[bytes, list[str]]:
    """Give `user` an authenticator app as first factor, server-side; returns its key and
    the nine unused recovery codes."""
    actor = Actor(user=user)
    device = two_factor.totp_enroll_start(user=user)
    codes = two_factor.factor_enroll_verified(actor=actor, device=device)
    two_factor.factor_enroll_complete(actor=actor, device=device, recovery_code=codes[0])
    user.refresh_from_db()
    return device.bin_key, codes[1:]


def totp_code(key: bytes, steps_ahead: int = 0) -> str:
    """The app's code now, or for a later 30 s step (django-otp accepts the next step, and
    refuses a code it has already seen, so a second sign-in uses `steps_ahead=1`)."""
    totp = TOTP(key, step=30, t0=0, digits=6)
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def wrong_code(key: bytes) -> str:
    """Six digits no step django-otp would accept right now matches."""
    near = {totp_code(key, steps) for steps in (-1, 0, 1, 2)}
    return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in near)


@pytest.fixture
def portal(browser, server):
    context = browser.new_context(base_url=server)
    context.set_default_timeout(TIMEOUT_MS)
    portal = Portal(context, server)
    yield portal
    problems = list(portal.problems)
    context.close()
    assert not problems, "\n".join(problems)
