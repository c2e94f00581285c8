"""Portal pages: sign in, sign up, sign out, and the page-wide Content-Security-Policy."""

import re
import time
from urllib.parse import urlsplit

import pytest
from django.test import Client

from accounts import sudo
from accounts.models import SecurityEvent, User
from tests.conftest import PASSWORD

NEW_PASSWORD = "a long fresh passphrase"


def signed_in_user(client: Client) -> str | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id).username if user_id else None


def signup(client: Client, username="frank", email="frank@example.com", password=NEW_PASSWORD):
    return client.post(
        "/account/signup/", {"username": username, "email": email, "password": password}
    )


# --- sign in --------------------------------------------------------------------------------


def test_login_page_shows_the_form(client, db):
    response = client.get("/account/login/")

    assert response.status_code == 200
    assert 'name="username"' in response.content.decode()
    assert 'name="password"' in response.content.decode()


def test_login_with_the_right_password_signs_in_and_goes_to_my_packages(client, alice):
    response = client.post("/account/login/", {"username": "alice", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/account/packages/"
    assert signed_in_user(client) == "alice"
    assert "My packages" in client.get("/account/packages/").content.decode()


def test_login_follows_a_local_next_but_not_another_site(client, alice):
    local = client.post(
        "/account/login/", {"username": "alice", "password": PASSWORD, "next": "/account/signup/"}
    )
    offsite = Client().post(
        "/account/login/",
        {"username": "alice", "password": PASSWORD, "next": "https://evil.example/"},
    )

    assert local["Location"] == "/account/signup/"
    assert offsite["Location"] == "/account/packages/"


def test_login_with_a_wrong_password_shows_an_error_and_records_it(client, alice):
    response = client.post("/account/login/", {"username": "alice", "password": "nope"})

    assert response.status_code == 200
    assert "Incorrect username or password" in response.content.decode()
    assert signed_in_user(client) is None
    assert SecurityEvent.objects.filter(action="login:password-failed", user=alice).exists()


def test_pages_that_need_an_account_send_to_login(client, db):
    response = client.get("/account/packages/")

    assert response.status_code == 302
    assert response["Location"] == "/account/login/?next=/account/packages/"


# --- sign up --------------------------------------------------------------------------------


def test_signup_creates_the_account_and_signs_in(client, db):
    response = signup(client)

    assert response.status_code == 302
    frank = User.objects.get(username="frank")
    assert frank.email == "frank@example.com"
    assert frank.check_password(NEW_PASSWORD)
    assert signed_in_user(client) == "frank"
    assert SecurityEvent.objects.filter(action="account:create", user=frank).exists()


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"username": "alice"}, "is taken"),
        ({"password": "short"}, "Choose a stronger password"),
        ({"username": "Frank!"}, "lowercase letters"),
    ],
)
def test_signup_with_bad_data_says_what_to_fix(client, alice, fields, says):
    response = signup(client, **fields)

    assert response.status_code == 200
    assert says in response.content.decode()
    assert User.objects.count() == 1
    assert signed_in_user(client) is None


def test_signup_is_closed_when_the_registry_says_so(client, settings, db):
    settings.GATEHOUSE_OPEN_SIGNUP = False

    page = client.get("/account/signup/")
    posted = signup(client)

    assert "Sign-up is closed" in page.content.decode()
    assert 'name="password"' not in page.content.decode()
    assert "Sign-up is closed" in posted.content.decode()
    assert not User.objects.exists()
    assert "Create account" not in client.get("/account/login/").content.decode()


# --- sign out -------------------------------------------------------------------------------


def test_logout_is_post_only(client, alice):
    client.force_login(alice)

    refused = client.get("/account/logout/")
    assert refused.status_code == 405
    assert signed_in_user(client) == "alice"

    response = client.post("/account/logout/")
    assert response.status_code == 302
    assert signed_in_user(client) is None


def test_logout_needs_the_csrf_token(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)

    assert browser.post("/account/logout/").status_code == 403
    assert signed_in_user(browser) == "alice"


# --- Content-Security-Policy ----------------------------------------------------------------

PAGES = [
    ("anonymous", "/"),
    ("anonymous", "/account/login/"),
    ("anonymous", "/account/signup/"),
    ("anonymous", "/account/no-such-page/"),
    ("alice", "/"),
    ("alice", "/account/packages/"),
    ("alice", "cli-login"),
]


@pytest.fixture
def page(request, alice):
    who, path = request.param
    client = Client()
    if who == "alice":
        client.force_login(alice)
        session = client.session
        session[sudo.SESSION_KEY] = int(time.time())  # as right after signing in
        session.save()
    if path == "cli-login":
        urls = Client().post("/-/v1/login", {}, content_type="application/json").json()
        path = urlsplit(urls["loginUrl"]).path
        assert client.get(path).status_code == 200  # the page itself, not a detour
    return client.get(path)


@pytest.mark.parametrize("page", PAGES, indirect=True, ids=[f"{w}:{p}" for w, p in PAGES])
def test_every_page_sends_a_strict_content_security_policy(page):
    policy = page["Content-Security-Policy"]

    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy
    assert "script-src 'self'" in policy
    assert "default-src 'self'" in policy


@pytest.mark.parametrize("page", PAGES, indirect=True, ids=[f"{w}:{p}" for w, p in PAGES])
def test_no_page_has_inline_script_style_or_handlers(page):
    html = page.content.decode()

    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html, re.IGNORECASE)
    assert not re.search(r"<style\b", html, re.IGNORECASE)
    assert not re.search(r"\sstyle\s*=", html, re.IGNORECASE)
    assert not re.search(r"\son[a-z]+\s*=", html, re.IGNORECASE)
    assert "javascript:" not in html.lower()
