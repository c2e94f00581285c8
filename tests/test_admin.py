"""The Django admin: staff only, with a second factor that verified their session; no
factor's secret on its pages; removing a factor there goes through the account service."""

from base64 import b32encode
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from accounts.models import RecoveryCode, SecurityEvent, User
from registry.orgs.models import Membership, Org
from tests.accounts.factors import app_code, enroll_app
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ADMIN_PASSWORD = "a long admin password 42"
PAGES = (
    "/admin/",
    "/admin/accounts/user/",
    "/admin/registry/package/",
    "/admin/accounts/securityevent/",
    "/admin/otp_totp/totpdevice/",
    "/admin/django_otp_webauthn/webauthncredential/",
)


@pytest.fixture
def root(monkeypatch):
    """A superuser created the documented way."""
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", ADMIN_PASSWORD)
    call_command(
        "createsuperuser", "--noinput", "--username", "root-admin", "--email", "root@example.com"
    )
    return User.objects.get(username="root-admin")


def portal_sign_in(client: Client, user, password: str, code: str | None = None) -> None:
    """Sign in as people do: the password, then the second factor if they have one."""
    client.post("/account/login/", {"username": user.username, "password": password})
    if code is not None:
        client.post("/account/login/verify/", {"code": code})
    assert "_auth_user_id" in client.session


@pytest.fixture
def admin_client(root) -> Client:
    device, _ = enroll_app(root)
    client = Client()
    portal_sign_in(client, root, ADMIN_PASSWORD, app_code(device, steps_ahead=1))
    return client


def give_key(user, name="YubiKey") -> WebAuthnCredential:
    return WebAuthnCredential.objects.create(
        user=user,
        name=name,
        confirmed=True,
        credential_id=f"cred-{user.username}-{name}".encode(),
        public_key=b"not-used-here",
        sign_count=0,
    )


# --- who may use it ---------------------------------------------------------------------


def test_a_superuser_signed_in_with_a_second_factor_uses_the_admin(admin_client):
    for path in PAGES:
        assert admin_client.get(path).status_code == 200, path


def test_staff_without_a_second_factor_are_sent_to_enrol_one(root):
    client = Client()
    portal_sign_in(client, root, ADMIN_PASSWORD)

    response = client.get("/admin/", follow=True)

    assert response.redirect_chain[-1][0] == "/account/security/"
    assert "The admin needs two-factor authentication" in response.content.decode()
    for path in PAGES:
        assert client.get(path).status_code == 302, path


def test_staff_whose_session_no_factor_verified_confirm_it_first(root):
    device, codes = enroll_app(root)
    client = Client()
    portal_sign_in(client, root, ADMIN_PASSWORD, codes[0])  # a recovery code: no device

    asked = client.get("/admin/accounts/user/", follow=True)
    assert asked.redirect_chain[-1][0] == "/account/sudo/?next=" + quote(
        "/admin/accounts/user/", safe=""
    )

    confirmed = client.post(
        "/account/sudo/", {"code": app_code(device, steps_ahead=1), "next": "/admin/accounts/user/"}
    )
    assert confirmed["Location"] == "/admin/accounts/user/"
    assert client.get("/admin/accounts/user/").status_code == 200


def test_the_admin_closes_when_the_factor_that_verified_the_session_goes(admin_client, root):
    TOTPDevice.objects.filter(user=root).delete()

    assert admin_client.get("/admin/").status_code == 302


def test_admin_refuses_people_who_are_not_staff(alice):
    device, _ = enroll_app(alice)
    client = Client()
    portal_sign_in(client, alice, PASSWORD, app_code(device, steps_ahead=1))

    assert client.get("/admin/").status_code == 302


def test_admin_login_goes_through_the_portal_sign_in(client, db):
    response = client.get("/admin/login/?next=/admin/")

    assert response.status_code == 302
    assert response["Location"] == "/account/login/?next=%2Fadmin%2F"


# --- no secrets -------------------------------------------------------------------------


def test_a_factor_secret_is_not_on_the_admin_pages(admin_client, alice):
    device, _ = enroll_app(alice)
    secret = b32encode(device.bin_key).decode().rstrip("=")

    change = admin_client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/")
    listing = admin_client.get("/admin/otp_totp/totpdevice/")

    assert change.status_code == 200 and listing.status_code == 200
    for page in (change.content.decode(), listing.content.decode()):
        assert device.key not in page and secret not in page
        assert "qrcode" not in page
    assert admin_client.get(f"/admin/otp_totp/totpdevice/{device.pk}/config/").status_code == 403
    assert admin_client.get(f"/admin/otp_totp/totpdevice/{device.pk}/qrcode/").status_code == 403


def test_factors_cannot_be_added_in_the_admin(admin_client):
    assert admin_client.get("/admin/otp_totp/totpdevice/add/").status_code == 403


# --- removing factors goes through the service ------------------------------------------


def test_deleting_the_last_factor_in_the_admin_turns_2fa_off_and_records_it(
    admin_client, root, alice
):
    device, _ = enroll_app(alice)

    page = admin_client.get(f"/admin/otp_totp/totpdevice/{device.pk}/delete/")
    done = admin_client.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"})

    assert page.status_code == 200 and done.status_code == 302
    alice.refresh_from_db()
    assert not alice.has_two_factor
    assert not TOTPDevice.objects.filter(user=alice).exists()
    assert not RecoveryCode.objects.filter(user=alice).exists()
    removed = SecurityEvent.objects.get(user=alice, action="2fa:factor-remove")
    assert removed.actor == root
    assert SecurityEvent.objects.filter(user=alice, action="2fa:disable", actor=root).exists()


def test_deleting_one_of_two_factors_keeps_2fa_on(admin_client, alice):
    device, _ = enroll_app(alice)
    give_key(alice)

    admin_client.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"})

    alice.refresh_from_db()
    assert alice.has_two_factor
    assert SecurityEvent.objects.filter(user=alice, action="2fa:factor-remove").count() == 1
    assert not SecurityEvent.objects.filter(user=alice, action="2fa:disable").exists()


def test_bulk_deleting_every_factor_in_the_admin_turns_2fa_off_and_records_each(
    admin_client, root, alice
):
    enroll_app(alice)
    first, second = give_key(alice, "one"), give_key(alice, "two")

    done = admin_client.post(
        "/admin/django_otp_webauthn/webauthncredential/",
        {"action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"},
    )
    assert done.status_code == 302
    alice.refresh_from_db()
    assert alice.has_two_factor  # the app is left
    app = TOTPDevice.objects.get(user=alice)
    admin_client.post(
        "/admin/otp_totp/totpdevice/",
        {"action": "delete_selected", "_selected_action": [app.pk], "post": "yes"},
    )

    alice.refresh_from_db()
    assert not alice.has_two_factor
    assert not RecoveryCode.objects.filter(user=alice).exists()
    removals = SecurityEvent.objects.filter(user=alice, action="2fa:factor-remove", actor=root)
    assert removals.count() == 3
    assert SecurityEvent.objects.filter(user=alice, action="2fa:disable", actor=root).count() == 1


def test_a_removal_the_service_refuses_is_shown_and_nothing_is_deleted(admin_client, alice):
    device, _ = enroll_app(alice)
    acme = Org.objects.create(name="acme", require_2fa=True)
    Membership.objects.create(org=acme, user=alice)

    single = admin_client.post(
        f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"}, follow=True
    )
    bulk = admin_client.post(
        "/admin/otp_totp/totpdevice/",
        {"action": "delete_selected", "_selected_action": [device.pk], "post": "yes"},
        follow=True,
    )

    for response in (single, bulk):
        assert "@acme requires two-factor authentication" in response.content.decode()
        assert "Successfully deleted" not in response.content.decode()
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    alice.refresh_from_db()
    assert alice.has_two_factor
    assert not SecurityEvent.objects.filter(user=alice, action="2fa:factor-remove").exists()
