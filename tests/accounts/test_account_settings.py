"""Email and password changes (sudo mode, notices), email verification, password reset."""

import re
import time
from urllib.parse import urlsplit

import pytest
from django.core import mail

from accounts.models import SecurityEvent, User
from accounts.sudo import SESSION_KEY
from tests.accounts.factors import enroll_app
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


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


def test_email_change_notifies_the_old_address_and_asks_the_new_one(
    client, alice, django_capture_on_commit_callbacks
):
    _signed_in(client, alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/account/settings/", {"form": "email", "email": "alice@new.example"}
        )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.email == "alice@new.example" and not alice.email_verified
    recipients = sorted(message.to[0] for message in mail.outbox)
    assert recipients == ["alice@example.com", "alice@new.example"]
    assert SecurityEvent.objects.filter(user=alice, action="account:email-change").exists()


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


def test_password_reset_by_email(client, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/account/password/reset/", {"email": "alice@example.com"})
    assert response.status_code == 302
    link = _link(mail.outbox[-1])

    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "reset passphrase 123", "new_password2": "reset passphrase 123"},
    )
    assert done.status_code == 302
    assert User.objects.get(pk=alice.pk).check_password("reset passphrase 123")
    assert SecurityEvent.objects.filter(user=alice, action="account:password-reset").exists()


def test_password_reset_for_an_unknown_address_says_the_same(client):
    response = client.post("/account/password/reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_emails_are_plain_text_not_html_escaped(client, alice, django_capture_on_commit_callbacks):
    _signed_in(client, alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/account/settings/", {"form": "email", "email": "o'brien@example.com"})
    notice = next(m for m in mail.outbox if m.to == ["alice@example.com"])
    assert "o'brien@example.com" in notice.body
    assert "&#x27;" not in notice.body
