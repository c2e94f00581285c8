"""Email and password changes (sudo mode, the current password, notices), email
verification (a new address counts once proved), password reset (confirmed addresses only;
it revokes every token and ends every session)."""

import re
import time
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client

from accounts.models import SecurityEvent, Token, User
from accounts.sudo import SESSION_KEY
from tests.accounts.factors import enroll_app
from tests.conftest import PASSWORD, issue_token

pytestmark = pytest.mark.django_db

ALICE_ADDRESSES = ("alice@example.com", "alice@new.example")
RESET_PASSWORD = "reset passphrase 123"


def _link(message) -> str:
    """The path of the first link in an email."""
    return urlsplit(re.search(r"https?://\S+", message.body).group(0)).path


def test_signup_sends_a_verification_link_that_confirms_the_address(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/account/signup/",
            {
                "username": "dora",
                "email": "dora@example.com",
                "password": "a long enough passphrase",
            },
        )
    assert User.objects.get(username="dora").email_verified is False
    link = _link(mail.outbox[-1])
    assert link.startswith("/account/email/verify/")

    assert client.get(link).status_code == 200
    assert User.objects.get(username="dora").email_verified is True
    assert client.get(link[:-3] + "xyz/").status_code == 400


def test_settings_need_sudo_for_people_with_2fa(client, alice):
    enroll_app(alice)
    client.force_login(alice)
    response = client.get("/account/settings/")
    assert response.status_code == 302 and response["Location"].startswith("/account/sudo/?next=")

    session = client.session
    session[SESSION_KEY] = int(time.time())  # as if the sudo page had just been passed
    session.save()
    assert client.get("/account/settings/").status_code == 200


def _signed_in(client, user) -> None:
    """As right after signing in: sudo mode is on."""
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = int(time.time())
    session.save()


def test_settings_ask_people_without_2fa_for_their_password(client, alice):
    client.force_login(alice)
    response = client.get("/account/settings/")
    assert response["Location"].startswith("/account/sudo/?next=")
    assert client.post("/account/sudo/", {"password": PASSWORD}).status_code == 302
    assert client.get("/account/settings/").status_code == 200


def _change_email(client, email: str, password: str = PASSWORD):
    return client.post(
        "/account/settings/", {"form": "email", "email": email, "password": password}
    )


def test_email_change_needs_the_current_password(client, alice):
    _signed_in(client, alice)

    refused = client.post(
        "/account/settings/",
        {"form": "email", "email": "alice@new.example", "password": "nope"},
        follow=True,
    )
    missing = client.post("/account/settings/", {"form": "email", "email": "alice@new.example"})

    assert "Incorrect username or password" in refused.content.decode()
    assert missing.status_code == 200 and "This field is required" in missing.content.decode()
    alice.refresh_from_db()
    assert (alice.email, alice.pending_email) == ("alice@example.com", "")


def test_a_new_address_counts_only_once_its_link_is_followed(
    client, alice, django_capture_on_commit_callbacks
):
    alice.email_verified = True
    alice.save()
    _signed_in(client, alice)

    with django_capture_on_commit_callbacks(execute=True):
        response = _change_email(client, "alice@new.example")

    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.email, alice.email_verified) == ("alice@example.com", True)
    assert alice.pending_email == "alice@new.example"
    told, link = (next(m for m in mail.outbox if m.to == [to]) for to in ALICE_ADDRESSES)
    assert "alice@new.example" in told.body and "stays in force" in told.body
    assert "/account/email/verify/" not in told.body
    assert SecurityEvent.objects.filter(user=alice, action="account:email-change-request").exists()
    page = client.get("/account/settings/").content.decode()
    assert "Waiting for confirmation" in page and "alice@new.example" in page

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(_link(link)).status_code == 200

    alice.refresh_from_db()
    assert (alice.email, alice.email_verified, alice.pending_email) == (
        "alice@new.example",
        True,
        "",
    )
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert "changed from alice@example.com to alice@new.example" in mail.outbox[0].body
    changed = SecurityEvent.objects.get(user=alice, action="account:email-change")
    assert changed.details == {"from": "alice@example.com", "to": "alice@new.example"}


def test_only_the_latest_address_asked_for_can_be_confirmed(
    client, alice, django_capture_on_commit_callbacks
):
    _signed_in(client, alice)
    with django_capture_on_commit_callbacks(execute=True):
        _change_email(client, "first@new.example")
        _change_email(client, "second@new.example")
    first = next(m for m in mail.outbox if m.to == ["first@new.example"])

    response = client.get(_link(first))

    assert response.status_code == 400
    alice.refresh_from_db()
    assert (alice.email, alice.pending_email) == ("alice@example.com", "second@new.example")


def test_asking_for_the_address_in_force_drops_the_waiting_change(
    client, alice, django_capture_on_commit_callbacks
):
    _signed_in(client, alice)
    with django_capture_on_commit_callbacks(execute=True):
        _change_email(client, "alice@new.example")
    link = _link(next(m for m in mail.outbox if m.to == ["alice@new.example"]))

    _change_email(client, "alice@example.com")

    alice.refresh_from_db()
    assert alice.pending_email == ""
    assert client.get(link).status_code == 400
    assert SecurityEvent.objects.filter(user=alice, action="account:email-change-cancel").exists()


def test_password_change_needs_the_current_password(
    client, alice, django_capture_on_commit_callbacks
):
    _signed_in(client, alice)
    wrong = client.post(
        "/account/settings/",
        {"form": "password", "old": "nope", "new": "another long passphrase"},
        follow=True,
    )
    assert "Incorrect" in wrong.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/account/settings/",
            {"form": "password", "old": PASSWORD, "new": "another long passphrase"},
        )
    assert User.objects.get(pk=alice.pk).check_password("another long passphrase")
    assert mail.outbox[-1].subject.endswith("password was changed")
    assert client.get("/account/settings/").status_code == 200  # still signed in


def _reset_link(client, email: str, django_capture_on_commit_callbacks) -> str:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/account/password/reset/", {"email": email})
    assert response["Location"] == "/account/password/reset/sent/"
    return _link(mail.outbox[-1])


def _reset(client, link: str):
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    return client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": RESET_PASSWORD, "new_password2": RESET_PASSWORD},
    )


def test_password_reset_by_email(client, alice, django_capture_on_commit_callbacks):
    User.objects.filter(pk=alice.pk).update(email_verified=True)
    link = _reset_link(client, "alice@example.com", django_capture_on_commit_callbacks)

    done = _reset(client, link)

    assert done.status_code == 302
    assert User.objects.get(pk=alice.pk).check_password(RESET_PASSWORD)
    assert SecurityEvent.objects.filter(user=alice, action="account:password-reset").exists()


def test_a_password_reset_revokes_every_token_and_ends_every_session(
    client, alice, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=alice.pk).update(email_verified=True)
    tokens = [issue_token(alice), issue_token(alice)]
    elsewhere = Client()
    elsewhere.post("/account/login/", {"username": "alice", "password": PASSWORD})
    assert elsewhere.get("/account/packages/").status_code == 200
    link = _reset_link(client, "alice@example.com", django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        _reset(client, link)

    for token in tokens:
        assert Client().get("/-/whoami", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    assert not Token.objects.filter(user=alice).exists()
    assert elsewhere.get("/account/packages/")["Location"].startswith("/account/login/")
    reset = SecurityEvent.objects.get(user=alice, action="account:password-reset")
    assert reset.details["tokens_revoked"] == 2
    assert SecurityEvent.objects.filter(user=alice, action="token:revoke").count() == 2
    assert "Every token of the account was revoked" in mail.outbox[-1].body


def test_a_password_reset_drops_an_email_change_waiting_for_its_link(
    client, alice, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=alice.pk).update(email_verified=True)
    _signed_in(client, alice)
    with django_capture_on_commit_callbacks(execute=True):
        _change_email(client, "attacker@evil.example")
    pending_link = _link(next(m for m in mail.outbox if m.to == ["attacker@evil.example"]))
    client.post("/account/logout/")
    link = _reset_link(client, "alice@example.com", django_capture_on_commit_callbacks)

    _reset(client, link)

    assert client.get(pending_link).status_code == 400
    alice.refresh_from_db()
    assert (alice.email, alice.pending_email) == ("alice@example.com", "")


def test_no_reset_link_goes_to_an_unconfirmed_address(client, alice):
    assert not alice.email_verified

    response = client.post("/account/password/reset/", {"email": "alice@example.com"})

    assert response["Location"] == "/account/password/reset/sent/"
    assert mail.outbox == []


def test_no_reset_link_goes_to_an_address_only_asked_for(
    client, alice, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=alice.pk).update(email_verified=True)
    _signed_in(client, alice)
    with django_capture_on_commit_callbacks(execute=True):
        _change_email(client, "alice@new.example")
    mail.outbox.clear()

    response = client.post("/account/password/reset/", {"email": "alice@new.example"})

    assert response["Location"] == "/account/password/reset/sent/"
    assert mail.outbox == []


def test_emails_are_plain_text_not_html_escaped(client, alice, django_capture_on_commit_callbacks):
    _signed_in(client, alice)
    with django_capture_on_commit_callbacks(execute=True):
        _change_email(client, "o'brien@example.com")
    notice = next(m for m in mail.outbox if m.to == ["alice@example.com"])
    assert "o'brien@example.com" in notice.body
    assert "&#x27;" not in notice.body
