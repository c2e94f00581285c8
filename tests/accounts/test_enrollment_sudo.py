"""Adding or removing a second factor, regenerating recovery codes and changing the mode
all happen in sudo mode, for people who have no factor yet too (then sudo mode means the
password): a session whose last re-authentication is older than GATEHOUSE_SUDO_SECONDS
is sent to confirm it is them, and the key ceremony's JSON endpoints refuse."""

import time
from urllib.parse import quote

import pytest
from django_otp_webauthn.models import WebAuthnCredential

from accounts import sudo
from tests.accounts.factors import app_code, enroll_app
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def signed_in(client, user, *, sudo_age: int | None):
    """`client` signed in as `user`, last re-authenticated `sudo_age` seconds ago."""
    client.force_login(user)
    if sudo_age is not None:
        session = client.session
        session[sudo.SESSION_KEY] = int(time.time()) - sudo_age
        session.save()
    return client


@pytest.fixture(params=["without a factor", "with a factor"])
def person(request, alice):
    if request.param == "with a factor":
        enroll_app(alice)
    return alice


@pytest.fixture(params=["never", "stale", "a day old"])
def stale_session(request, client, person, settings):
    age = {"never": None, "stale": settings.GATEHOUSE_SUDO_SECONDS + 1, "a day old": 86400}
    return signed_in(client, person, sudo_age=age[request.param])


def _unconfirmed_key(user) -> WebAuthnCredential:
    return WebAuthnCredential.objects.create(
        user=user, name="New key", confirmed=False, credential_id=b"new", public_key=b"-"
    )


def _pages(user) -> list[tuple[str, str]]:
    pages = [
        ("GET", "/account/security/app/"),
        ("POST", "/account/security/app/"),
        ("GET", "/account/security/keys/add/"),
        ("GET", f"/account/security/keys/{_unconfirmed_key(user).pk}/enrolled/"),
        ("GET", "/account/security/recovery-codes/"),
        ("POST", "/account/security/recovery-codes/"),
        ("POST", "/account/security/mode/"),
    ]
    if user.has_two_factor:
        device = user.totpdevice_set.get()
        pages += [
            ("GET", f"/account/security/totp/{device.pk}/remove/"),
            ("POST", f"/account/security/totp/{device.pk}/remove/"),
        ]
    return pages


def test_every_enrollment_and_removal_page_sends_a_stale_session_to_sudo(stale_session, person):
    for method, path in _pages(person):
        response = getattr(stale_session, method.lower())(path)

        assert response.status_code == 302, (method, path)
        assert response["Location"] == f"/account/sudo/?next={quote(path, safe='')}"


@pytest.mark.parametrize(
    "path", ["/account/security/keys/register/begin/", "/account/security/keys/register/complete/"]
)
def test_the_key_registration_endpoints_refuse_a_stale_session(stale_session, person, path):
    response = stale_session.post(path, data="{}", content_type="application/json")

    assert response.status_code == 403
    assert response.json() == {"error": "Confirm it is you first: reload the page."}
    assert not WebAuthnCredential.objects.filter(user=person).exists()


def test_a_fresh_session_may_begin_registering_a_key(client, person):
    signed_in(client, person, sudo_age=0)

    response = client.post(
        "/account/security/keys/register/begin/", data="{}", content_type="application/json"
    )

    assert response.status_code == 200
    assert response.json()["challenge"]


def test_a_fresh_session_sees_the_enrollment_pages(client, person):
    signed_in(client, person, sudo_age=0)

    assert client.get("/account/security/app/").status_code == 200
    assert client.get("/account/security/keys/add/").status_code == 200


def test_sudo_for_a_person_without_a_factor_asks_for_the_password(client, bob, settings):
    signed_in(client, bob, sudo_age=settings.GATEHOUSE_SUDO_SECONDS + 1)

    page = client.get("/account/sudo/?next=/account/security/keys/add/")

    assert page.status_code == 200
    assert 'name="password"' in page.content.decode()


def test_finishing_a_first_factor_leaves_a_session_that_passed_it(client, alice):
    """Enrolling proves the new factor: the next governance change needs no second prompt."""
    signed_in(client, alice, sudo_age=0)
    client.get("/account/security/app/")
    device = alice.totpdevice_set.get(confirmed=False)
    shown = client.post("/account/security/app/", {"code": app_code(device)})
    codes = shown.context["codes"]

    client.post("/account/security/enroll/confirm/", {"code": codes[0]})

    assert client.session.get(sudo.FACTOR_KEY) is not None


def test_sudo_mode_by_password_is_no_second_factor(client, alice):
    signed_in(client, alice, sudo_age=None)
    session = client.session
    session[sudo.FACTOR_KEY] = int(time.time())  # left by an earlier factor, say
    session.save()

    client.post("/account/sudo/", {"password": PASSWORD})

    assert client.session.get(sudo.SESSION_KEY) is not None
    assert client.session.get(sudo.FACTOR_KEY) is None
