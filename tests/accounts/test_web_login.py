"""`npm login` in the browser: the CLI starts a login and polls its doneUrl while the
person confirms it on the portal page."""

import time
from datetime import timedelta
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from accounts import sudo
from accounts.actors import Actor
from accounts.models import SecurityEvent, Token, WebLogin
from accounts.secrets import secret_hash
from accounts.services.web_login import web_login_confirm, web_logins_purge
from portal.errors import PermissionDenied
from tests.accounts.factors import app_code, enroll_app
from tests.conftest import PASSWORD

NPM_AGENT = "npm/11.19.1 node/v20.20.2 linux x64 workspaces/false"


@pytest.fixture
def cli(db):
    return Client(REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT=NPM_AGENT)


def start(cli, body=None, **headers) -> tuple[str, str]:
    """Start a login as npm does; returns the confirm page's path and the done path."""
    response = cli.post("/-/v1/login", body or {}, content_type="application/json", **headers)
    assert response.status_code == 200
    urls = response.json()
    return urlsplit(urls["loginUrl"]).path, _path(urls["doneUrl"])


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def portal_as(user, *, verified_ago: int = 0, factor: bool = True, **kwargs) -> Client:
    """`user` signed in to the portal, re-authenticated `verified_ago` seconds ago (with
    their second factor if they have one and `factor`)."""
    client = Client(**kwargs)
    client.force_login(user)
    session = client.session
    session[sudo.SESSION_KEY] = int(time.time()) - verified_ago
    if factor and user.has_two_factor:
        session[sudo.FACTOR_KEY] = int(time.time()) - verified_ago
    session.save()
    return client


def confirm(user, page: str) -> None:
    assert portal_as(user).post(page).status_code == 200


# --- starting and polling -----------------------------------------------------------------


def test_start_answers_login_and_done_urls_on_the_public_base_url(cli, settings):
    settings.GATEHOUSE_URL = "https://npm.example.org/"

    # Behind a proxy the request arrives on an internal address over plain http.
    urls = cli.post(
        "/-/v1/login", {}, content_type="application/json", HTTP_HOST="127.0.0.1:8000"
    ).json()

    assert urls["loginUrl"].startswith("https://npm.example.org/account/cli-login/")
    assert urls["doneUrl"].startswith("https://npm.example.org/-/v1/done?sessionId=")
    session_id = parse_qs(urlsplit(urls["doneUrl"]).query)["sessionId"][0]
    login = WebLogin.objects.get()
    assert login.done_hash == secret_hash(session_id)  # only the hash is kept
    assert (login.requested_ip, login.requested_agent) == ("203.0.113.7", NPM_AGENT)
    assert login.create_account is False


def test_start_from_adduser_remembers_the_account_creation(cli):
    start(cli, {"create": True})

    assert WebLogin.objects.get().create_account is True


def test_start_and_poll_ignore_a_stale_bearer_token(cli):
    stale = {"HTTP_AUTHORIZATION": "Bearer gth_revokedlongago"}

    _, done = start(cli, **stale)

    assert cli.get(done, **stale).status_code == 202


def test_poll_waits_with_202_an_empty_json_object_and_retry_after(cli):
    _, done = start(cli)

    response = cli.get(done)

    assert response.status_code == 202
    assert response.json() == {}
    assert int(response["Retry-After"]) >= 1
    assert "no-cache" in response["Cache-Control"]


def test_poll_returns_the_token_exactly_once_after_confirmation(cli, alice):
    page, done = start(cli)
    confirm(alice, page)

    first = cli.get(done)
    second = cli.get(done)

    assert first.status_code == 200
    token = first.json()["token"]
    assert token.startswith("gth_")
    assert Token.objects.get(token_hash=secret_hash(token)).user == alice
    assert second.status_code == 404
    assert "Run `npm login` again" in second.json()["error"]
    assert Token.objects.count() == 1


def test_poll_with_an_unknown_session_is_404_with_an_error(cli):
    start(cli)

    response = cli.get("/-/v1/done?sessionId=not-a-session")

    assert response.status_code == 404
    assert "expired" in response.json()["error"]
    assert cli.get("/-/v1/done").status_code == 404


def test_poll_after_the_login_expired_is_404(cli, alice, settings):
    page, done = start(cli)
    confirm(alice, page)
    later = timezone.now() + timedelta(seconds=settings.GATEHOUSE_WEB_LOGIN_TTL_SECONDS + 1)

    with mock.patch("django.utils.timezone.now", return_value=later):
        response = cli.get(done)

    assert response.status_code == 404
    assert "error" in response.json()
    assert not Token.objects.exists()


@pytest.mark.parametrize(
    ("method", "body"), [("put", '"1.0.0"'), ("post", "{}"), ("delete", ""), ("patch", "[]")]
)
def test_done_url_accepts_any_method_with_any_body(cli, alice, method, body):
    # npm's web OTP repeats the original request (e.g. a dist-tag PUT of a JSON string).
    page, done = start(cli)
    poll = getattr(cli, method)

    waiting = poll(done, body, content_type="application/json")
    confirm(alice, page)
    finished = poll(done, body, content_type="application/json")

    assert waiting.status_code == 202
    assert finished.status_code == 200
    assert finished.json()["token"].startswith("gth_")


def test_purge_removes_only_expired_logins(cli, settings):
    start(cli)
    start(cli)
    WebLogin.objects.filter(pk=WebLogin.objects.first().pk).update(expires_at=timezone.now())

    assert web_logins_purge() == 1
    assert WebLogin.objects.count() == 1


# --- the confirmation page ------------------------------------------------------------------


def test_confirm_page_requires_login_and_sends_back_after_it(cli, alice):
    page, _ = start(cli)

    browser = Client()

    response = browser.get(page)

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/account/login/"
    assert parse_qs(location.query)["next"] == [page]
    signed_in = browser.post(
        response["Location"], {"username": "alice", "password": PASSWORD, "next": page}
    )
    assert signed_in["Location"] == page


def test_confirm_page_shows_the_requesting_address_client_and_expiry(cli, alice):
    page, _ = start(cli)
    login = WebLogin.objects.get()

    response = portal_as(alice).get(page)

    text = response.content.decode()
    assert response.status_code == 200
    assert "203.0.113.7" in text
    assert NPM_AGENT in text
    assert f"{login.expires_at:%H:%M:%S} UTC" in text
    assert "alice" in text
    assert not Token.objects.exists()


def test_confirm_page_cannot_be_framed(cli, alice):
    page, _ = start(cli)

    response = portal_as(alice).get(page)

    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_confirm_page_of_an_expired_login_says_so(cli, alice, settings):
    page, _ = start(cli)
    later = timezone.now() + timedelta(seconds=settings.GATEHOUSE_WEB_LOGIN_TTL_SECONDS + 1)

    with mock.patch("django.utils.timezone.now", return_value=later):
        shown = portal_as(alice).get(page)
        posted = portal_as(alice).post(page)

    assert shown.status_code == posted.status_code == 404
    assert "This login link has expired" in shown.content.decode()
    assert WebLogin.objects.get().confirmed_at is None


def test_confirm_page_of_an_unknown_login_is_404(alice):
    response = portal_as(alice).get("/account/cli-login/00000000-0000-4000-8000-000000000000/")

    assert response.status_code == 404


def test_confirming_without_the_csrf_token_is_refused(cli, alice):
    page, done = start(cli)

    response = portal_as(alice, enforce_csrf_checks=True).post(page)

    assert response.status_code == 403
    assert WebLogin.objects.get().confirmed_at is None
    assert cli.get(done).status_code == 202


def test_confirming_with_the_csrf_token_logs_the_cli_in_and_records_it(cli, alice):
    page, done = start(cli)
    browser = portal_as(alice, enforce_csrf_checks=True, REMOTE_ADDR="198.51.100.9")
    browser.get(page)

    response = browser.post(page, {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value})

    assert response.status_code == 200
    assert "You are logged in" in response.content.decode()
    event = SecurityEvent.objects.get(action="login:cli-confirmed")
    assert (event.actor, event.user, event.ip) == (alice, alice, "198.51.100.9")
    assert event.details["requested_ip"] == "203.0.113.7"
    assert cli.get(done).status_code == 200


def test_a_confirmed_login_cannot_be_confirmed_again(cli, alice, bob):
    page, done = start(cli)
    confirm(alice, page)

    response = portal_as(bob).post(page)

    assert response.status_code == 404
    token = cli.get(done).json()["token"]
    assert Token.objects.get(token_hash=secret_hash(token)).user == alice


def test_the_token_handed_to_the_cli_is_recorded_as_created(cli, alice):
    page, done = start(cli)
    confirm(alice, page)

    cli.get(done)

    event = SecurityEvent.objects.get(action="token:create")
    token = Token.objects.get()
    assert (event.user, event.ip) == (alice, "203.0.113.7")
    assert event.details["token"] == str(token.key)
    assert (token.name, token.created_ip) == ("npm login", "203.0.113.7")


# --- sudo mode: handing the CLI a token takes a fresh re-authentication -------------------


def _sent_to_sudo(response, page: str) -> bool:
    location = urlsplit(response["Location"]) if response.status_code == 302 else None
    return (
        location is not None
        and location.path == "/account/sudo/"
        and parse_qs(location.query)["next"] == [page]
    )


def test_a_stale_session_without_a_factor_confirms_its_password_first(cli, bob, settings):
    page, done = start(cli)
    browser = portal_as(bob, verified_ago=settings.GATEHOUSE_SUDO_SECONDS + 1)

    assert _sent_to_sudo(browser.get(page), page)
    assert _sent_to_sudo(browser.post(page), page)
    assert WebLogin.objects.get().confirmed_at is None
    sudo_page = browser.get(f"/account/sudo/?next={page}")
    assert 'name="password"' in sudo_page.content.decode()
    back = browser.post("/account/sudo/", {"password": PASSWORD, "next": page})
    assert back["Location"] == page
    assert browser.post(page).status_code == 200
    assert cli.get(done).status_code == 200


def test_a_second_factor_passed_too_long_ago_must_be_passed_again(cli, alice, settings):
    device, _ = enroll_app(alice)
    page, done = start(cli)
    browser = portal_as(alice, verified_ago=settings.GATEHOUSE_SUDO_SECONDS + 1)

    assert _sent_to_sudo(browser.get(page), page)
    assert _sent_to_sudo(browser.post(page), page)
    assert cli.get(done).status_code == 202
    back = browser.post("/account/sudo/", {"code": app_code(device, steps_ahead=1), "next": page})
    assert back["Location"] == page
    assert browser.post(page).status_code == 200
    assert cli.get(done).status_code == 200


def test_a_fresh_password_stamp_is_not_a_second_factor(cli, alice):
    # Signed in before their first factor was added elsewhere (e.g. `npm profile enable-2fa`).
    enroll_app(alice)
    page, _ = start(cli)
    browser = portal_as(alice, factor=False)

    assert _sent_to_sudo(browser.post(page), page)
    assert WebLogin.objects.get().confirmed_at is None


def test_the_service_refuses_a_confirmation_without_a_fresh_second_factor(cli, alice, settings):
    enroll_app(alice)
    start(cli)
    login = WebLogin.objects.get()
    stale = time.time() - settings.GATEHOUSE_SUDO_SECONDS - 1

    for factor_at in (None, stale):
        with pytest.raises(PermissionDenied, match="second factor"):
            web_login_confirm(actor=Actor(user=alice, session_factor_at=factor_at), login=login)
    assert WebLogin.objects.get().confirmed_at is None
    web_login_confirm(actor=Actor(user=alice, session_factor_at=time.time()), login=login)
    assert WebLogin.objects.get().confirmed_at is not None


def test_adduser_goes_from_signing_up_straight_to_the_confirmation(cli, settings):
    settings.GATEHOUSE_OPEN_SIGNUP = True
    page, done = start(cli, {"create": True})
    browser = Client()

    signed_up = browser.post(
        f"/account/signup/?next={page}",
        {"username": "frank", "email": "frank@example.com", "password": "a long fresh passphrase"},
    )

    assert signed_up["Location"] == page
    assert browser.get(page).status_code == 200  # the password was just chosen: sudo mode
    assert browser.post(page).status_code == 200
    assert cli.get(done).status_code == 200
