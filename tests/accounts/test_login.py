"""Signing in to the portal (accounts.services.login): the password step, the second
step, and what the session records."""

import time

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.models import SecurityEvent
from accounts.services.login import PENDING_LOGIN
from accounts.sudo import SESSION_KEY
from tests.accounts.factors import app_code, enroll_app
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def password_step(client: Client, username="alice", password=PASSWORD, **extra):
    return client.post("/account/login/", {"username": username, "password": password, **extra})


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_a_password_signs_in_a_person_without_a_second_factor(client, alice):
    password_step(client)

    assert signed_in(client)
    assert client.session[SESSION_KEY] >= int(time.time()) - 5  # counts for sudo mode
    assert DEVICE_ID_SESSION_KEY not in client.session
    event = SecurityEvent.objects.get(user=alice, action="login")
    assert event.details == {"factor": "password"}


def test_the_password_alone_does_not_sign_in_a_person_with_a_second_factor(client, alice):
    enroll_app(alice)

    response = password_step(client, next="/account/security/")

    assert response.status_code == 302
    assert response["Location"] == "/account/login/verify/?next=%2Faccount%2Fsecurity%2F"
    assert not signed_in(client)
    assert client.session[PENDING_LOGIN]["user"] == alice.pk


def test_an_app_code_signs_in_and_the_session_records_the_app(client, alice):
    device, _ = enroll_app(alice)
    password_step(client)

    response = client.post(
        "/account/login/verify/",
        {"code": app_code(device, steps_ahead=1), "next": "/account/security/"},
    )

    assert response["Location"] == "/account/security/"
    assert signed_in(client)
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert PENDING_LOGIN not in client.session
    assert SecurityEvent.objects.get(user=alice, action="login").details == {"factor": "app"}


def test_a_recovery_code_signs_in_but_verifies_no_device(client, alice):
    _, codes = enroll_app(alice)
    password_step(client)

    client.post("/account/login/verify/", {"code": codes[0]})

    assert signed_in(client)
    assert DEVICE_ID_SESSION_KEY not in client.session
    event = SecurityEvent.objects.get(user=alice, action="login")
    assert event.details == {"factor": "recovery-code"}


def test_a_wrong_code_keeps_the_person_out_and_says_so(client, alice):
    enroll_app(alice)
    password_step(client)

    response = client.post("/account/login/verify/", {"code": "000000"}, follow=True)

    assert not signed_in(client)
    assert "That code is not valid" in response.content.decode()
    assert SecurityEvent.objects.filter(user=alice, action="2fa:verify-failed").exists()


def test_the_second_step_expires(client, alice, settings):
    device, _ = enroll_app(alice)
    password_step(client)
    session = client.session
    session[PENDING_LOGIN]["at"] -= settings.GATEHOUSE_LOGIN_STEP_SECONDS + 1
    session.save()

    response = client.post("/account/login/verify/", {"code": app_code(device, steps_ahead=1)})

    assert response["Location"] == "/account/login/"
    assert not signed_in(client)


def test_sudo_with_an_app_code_records_the_app_in_the_session(client, alice):
    device, codes = enroll_app(alice)
    password_step(client)
    client.post("/account/login/verify/", {"code": codes[0]})  # no device verified yet

    client.post("/account/sudo/", {"code": app_code(device, steps_ahead=1)})

    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
