"""Signing in with a password and a second factor, or with a passkey alone."""

import pytest
from django.core import mail

from accounts.models import RecoveryCode, SecurityEvent
from tests.browser.conftest import app_enable, totp_code, wrong_code

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in_as(portal) -> str:
    who = portal.page.locator("header .who")
    return who.inner_text() if who.count() else ""


def login_factor(user) -> str:
    return SecurityEvent.objects.filter(user=user, action="login").latest("pk").details["factor"]


def test_password_and_app_code(portal, alice):
    key, _ = app_enable(alice)
    portal.login("alice", next_path="/account/security/")
    assert portal.path == "/account/login/verify/?next=%2Faccount%2Fsecurity%2F"
    assert signed_in_as(portal) == ""
    assert portal.page.locator("[data-key-assert]").count() == 0  # no key to offer

    portal.enter_code(totp_code(key))
    assert portal.path == "/account/security/"
    assert signed_in_as(portal) == "alice"
    assert login_factor(alice) == "app"


def test_password_and_security_key(portal, alice):
    portal.add_authenticator()
    portal.login("alice")
    portal.enroll_key()
    portal.sign_out()

    portal.login("alice")
    assert portal.path.startswith("/account/login/verify/")
    portal.click_and_wait("[data-key-assert][data-purpose=login]")
    assert portal.path == "/account/packages/"
    assert signed_in_as(portal) == "alice"
    assert login_factor(alice) == "key"


def test_password_and_recovery_code_which_works_once(portal, alice):
    _, codes = app_enable(alice)
    mail.outbox.clear()
    portal.login("alice")
    portal.enter_code(codes[2].upper())  # typed from paper: case does not matter
    assert portal.path == "/account/packages/"
    assert login_factor(alice) == "recovery-code"
    assert RecoveryCode.objects.filter(user=alice, used_at__isnull=True).count() == 8
    assert len(mail.outbox) == 1 and "recovery code" in mail.outbox[0].subject

    portal.sign_out()
    portal.login("alice")
    portal.enter_code(codes[2])
    assert "That recovery code was already used" in portal.messages()
    assert portal.path.startswith("/account/login/verify/")
    assert signed_in_as(portal) == ""


def test_passkey_sign_in_without_a_password(portal, alice):
    portal.add_authenticator()
    portal.login("alice")
    portal.enroll_key()
    portal.sign_out()

    portal.goto("/account/login/?next=/account/security/")
    portal.click_and_wait("[data-key-assert][data-purpose=passkey]")
    assert portal.path == "/account/security/"
    assert signed_in_as(portal) == "alice"
    assert login_factor(alice) == "passkey"


def test_a_wrong_code_leaves_the_person_signed_out(portal, alice):
    key, _ = app_enable(alice)
    portal.login("alice")
    portal.enter_code(wrong_code(key))
    assert "That code is not valid" in portal.messages()
    assert portal.path.startswith("/account/login/verify/")
    assert signed_in_as(portal) == ""
    portal.goto("/account/packages/")
    assert portal.path.startswith("/account/login/?next=")
    assert SecurityEvent.objects.filter(user=alice, action="2fa:verify-failed").exists()


def test_the_second_step_expires(portal, alice, settings):
    key, _ = app_enable(alice)
    portal.login("alice")
    assert portal.path.startswith("/account/login/verify/")
    settings.GATEHOUSE_LOGIN_STEP_SECONDS = 0

    portal.enter_code(totp_code(key))  # the right code, too late
    assert portal.path == "/account/login/"
    assert "Your sign-in expired" in portal.messages()
    assert signed_in_as(portal) == ""


def test_the_second_step_expires_for_a_key_too(portal, alice, settings):
    portal.add_authenticator()
    portal.login("alice")
    portal.enroll_key()
    portal.sign_out()
    portal.login("alice")
    settings.GATEHOUSE_LOGIN_STEP_SECONDS = 0

    portal.expect_console_error("status of 403")
    portal.page.click("[data-key-assert][data-purpose=login]")
    portal.page.wait_for_selector("#key-status.error")
    assert portal.text("#key-status") == "Sign in again."
    assert portal.path.startswith("/account/login/verify/")
    assert signed_in_as(portal) == ""
