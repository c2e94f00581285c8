"""Legacy `npm login --auth-type=legacy` and `npm adduser`: CouchDB-shaped user documents
at `/-/user/org.couchdb.user:<name>`."""

import base64
import json

import pytest
from django.test import Client

from accounts.models import SecurityEvent, Token, User
from accounts.secrets import secret_hash
from tests.conftest import PASSWORD

NEW_PASSWORD = "a long fresh passphrase"


@pytest.fixture
def cli(db):
    return Client(REMOTE_ADDR="203.0.113.7")


def couch_body(name: str, password: str, email: str | None = None) -> dict:
    body = {
        "_id": f"org.couchdb.user:{name}",
        "name": name,
        "password": password,
        "type": "user",
        "roles": [],
        "date": "2026-01-01T00:00:00.000Z",
    }
    if email is not None:
        body["email"] = email
    return body


def put(cli, name: str, password: str, email: str | None = None, path: str = "", **headers):
    return cli.put(
        f"/-/user/org.couchdb.user:{name}{path}",
        json.dumps(couch_body(name, password, email)),
        content_type="application/json",
        **headers,
    )


def basic(username: str, password: str) -> dict:
    encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {encoded}"}


def token_user(response) -> User:
    return Token.objects.get(token_hash=secret_hash(response.json()["token"])).user


# --- login ---------------------------------------------------------------------------------


def test_login_with_the_right_password_answers_201_with_a_token(cli, alice):
    response = put(cli, "alice", PASSWORD)

    assert response.status_code == 201
    body = response.json()
    assert body["ok"] is True
    assert body["id"] == "org.couchdb.user:alice"
    assert body["token"].startswith("gth_")
    assert token_user(response) == alice


def test_login_with_a_wrong_password_is_401_with_our_text_and_no_challenge(cli, alice):
    response = put(cli, "alice", "not the password")

    assert response.status_code == 401
    assert "Incorrect username or password" in response.json()["error"]
    # A Basic/Bearer challenge would make npm replace the text with its own.
    assert "WWW-Authenticate" not in response
    assert not Token.objects.exists()


def test_login_of_an_unknown_user_is_401_like_a_wrong_password(cli, db):
    response = put(cli, "nobody", PASSWORD)

    assert response.status_code == 401
    assert "Incorrect username or password" in response.json()["error"]
    assert not User.objects.exists()


def test_login_ignores_a_stale_bearer_token(cli, alice):
    response = put(cli, "alice", PASSWORD, HTTP_AUTHORIZATION="Bearer gth_revokedlongago")

    assert response.status_code == 201


def test_login_with_different_names_in_url_and_body_is_refused(cli, alice, bob):
    response = cli.put(
        "/-/user/org.couchdb.user:bob",
        json.dumps(couch_body("alice", PASSWORD)),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert not Token.objects.exists()


def test_failed_password_is_recorded_as_a_security_event(cli, alice):
    put(cli, "alice", "not the password")

    event = SecurityEvent.objects.get(action="login:password-failed")
    assert (event.user, event.actor, event.ip) == (alice, None, "203.0.113.7")


def test_token_from_a_legacy_login_is_recorded_as_created(cli, alice):
    response = put(cli, "alice", PASSWORD)

    event = SecurityEvent.objects.get(action="token:create")
    assert (event.user, event.actor, event.ip) == (alice, alice, "203.0.113.7")
    assert event.details["token"] == str(Token.objects.get().key)
    assert response.json()["token"] not in json.dumps(event.details)


# --- adduser -------------------------------------------------------------------------------


def test_adduser_creates_the_account_and_answers_a_token(cli, db):
    response = put(cli, "frank", NEW_PASSWORD, "frank@example.com")

    assert response.status_code == 201
    frank = User.objects.get(username="frank")
    assert frank.email == "frank@example.com"
    assert frank.check_password(NEW_PASSWORD)
    assert token_user(response) == frank
    event = SecurityEvent.objects.get(action="account:create")
    assert (event.user, event.ip) == (frank, "203.0.113.7")


def test_adduser_with_an_existing_name_and_its_password_logs_in(cli, alice):
    response = put(cli, "alice", PASSWORD, "alice@example.com")

    assert response.status_code == 201
    assert token_user(response) == alice
    assert User.objects.count() == 1


@pytest.mark.parametrize("name", ["alice", "ALICE"])
def test_adduser_with_a_taken_name_and_wrong_password_is_409(cli, alice, name):
    response = put(cli, name, "not the password", "mallory@example.com")

    assert response.status_code == 409
    assert "is taken" in response.json()["error"]
    assert User.objects.count() == 1
    assert not Token.objects.exists()


def test_adduser_is_refused_with_403_when_signup_is_closed(cli, settings):
    settings.GATEHOUSE_OPEN_SIGNUP = False

    response = put(cli, "frank", NEW_PASSWORD, "frank@example.com")

    assert response.status_code == 403
    assert "Sign-up is closed" in response.json()["error"]
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("name", "password", "email", "says"),
    [
        ("frank", "short", "frank@example.com", "Choose a stronger password"),
        ("frank", NEW_PASSWORD, "not-an-email", "email"),
        ("Frank", NEW_PASSWORD, "frank@example.com", "lowercase"),
        ("-frank", NEW_PASSWORD, "frank@example.com", "start with a letter or digit"),
    ],
)
def test_adduser_with_invalid_data_says_what_to_fix(cli, db, name, password, email, says):
    response = put(cli, name, password, email)

    assert response.status_code == 400
    assert says in response.json()["error"]
    assert not User.objects.exists()


# --- the 409 path: GET the document, PUT it back at its revision with Basic auth -----------


def test_get_user_document_for_write_carries_a_revision(cli, alice):
    plain = cli.get("/-/user/org.couchdb.user:alice").json()
    for_write = cli.get("/-/user/org.couchdb.user:alice?write=true").json()

    assert plain["name"] == "alice" and plain["_id"] == "org.couchdb.user:alice"
    assert "_rev" not in plain
    assert for_write["_rev"]
    assert "password" not in for_write


def test_get_unknown_user_document_is_404(cli, db):
    response = cli.get("/-/user/org.couchdb.user:nobody?write=true")

    assert response.status_code == 404
    assert "nobody" in response.json()["error"]


def test_put_at_revision_with_basic_credentials_answers_a_token(cli, alice):
    rev = cli.get("/-/user/org.couchdb.user:alice?write=true").json()["_rev"]

    response = put(cli, "alice", PASSWORD, path=f"/-rev/{rev}", **basic("alice", PASSWORD))

    assert response.status_code == 201
    assert token_user(response) == alice


def test_put_at_revision_with_a_wrong_basic_password_is_401(cli, alice):
    response = put(cli, "alice", "nope", path="/-rev/1-0", **basic("alice", "nope"))

    assert response.status_code == 401
    assert "Incorrect username or password" in response.json()["error"]
    assert "WWW-Authenticate" not in response
    assert not Token.objects.exists()


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_AUTHORIZATION": "Basic !!!"}, {"HTTP_AUTHORIZATION": "Basic " + "YWxpY2U="}],
)
def test_put_at_revision_without_usable_basic_credentials_is_401(cli, alice, headers):
    response = put(cli, "alice", PASSWORD, path="/-rev/1-0", **headers)

    assert response.status_code == 401
    assert not Token.objects.exists()


def test_put_at_revision_with_a_bearer_token_is_refused(cli, alice, alice_token):
    response = put(
        cli, "alice", PASSWORD, path="/-rev/1-0", HTTP_AUTHORIZATION=f"Bearer {alice_token}"
    )

    assert response.status_code == 401
    assert Token.objects.count() == 1


def test_put_at_revision_for_another_user_is_refused(cli, alice, bob):
    response = put(cli, "bob", PASSWORD, path="/-rev/1-0", **basic("alice", PASSWORD))

    assert response.status_code == 401
    assert not Token.objects.exists()
