"""Security keys and passkeys, in our own words, over django-otp-webauthn's helper.

Every ceremony has a *purpose* ("login", "sudo", "otp:<challenge>", later
"approve:<stage id>:<sha512>"). The purpose is mixed into the challenge the key signs and
kept with the ceremony's state in the session, so an assertion made for one purpose can
never complete another: a key tap that approves one CLI write cannot approve a second.
"""

import hashlib
import os
from urllib.parse import urlsplit

from django.conf import settings
from django_otp_webauthn import exceptions as webauthn_errors
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.models import WebAuthnCredential
from webauthn.helpers.exceptions import WebAuthnException

from portal.errors import DomainError

SESSION_PREFIX = "gatehouse_webauthn:"


class KeyCeremonyFailed(DomainError):
    pass


def relying_party_id(request) -> str:
    """The host name the keys are bound to: the configured origin the request came through."""
    origin = request_origin(request)
    if origin not in settings.GATEHOUSE_WEBAUTHN_ORIGINS:
        origin = settings.GATEHOUSE_WEBAUTHN_ORIGINS[0]
    return urlsplit(origin).hostname or "localhost"


def request_origin(request) -> str:
    return f"{request.scheme}://{request.get_host()}"


class _Helper(WebAuthnHelper):
    def __init__(self, request, purpose: str):
        super().__init__(request)
        self.purpose = purpose

    def generate_challenge(self) -> bytes:
        return os.urandom(16) + hashlib.sha256(self.purpose.encode()).digest()[:16]


def _store(request, kind: str, purpose: str, state: dict) -> None:
    request.session[f"{SESSION_PREFIX}{kind}"] = {"purpose": purpose, "state": state}


def _take(request, kind: str, purpose: str) -> dict:
    """Pop the ceremony's state (so it is never used twice) and check its purpose."""
    stored = request.session.pop(f"{SESSION_PREFIX}{kind}", None)
    request.session.save()
    if not stored or stored.get("purpose") != purpose:
        raise KeyCeremonyFailed(
            "This security key request expired or was meant for something else. Try again."
        )
    return stored["state"]


def _failed(exc) -> KeyCeremonyFailed:
    return KeyCeremonyFailed(f"The security key could not be verified ({exc}). Try again.")


def key_registration_begin(request, user) -> dict:
    # A key left unconfirmed by an abandoned first enrollment would be listed in
    # excludeCredentials, and the authenticator would refuse to register it again.
    WebAuthnCredential.objects.filter(user=user, confirmed=False).delete()
    options, state = _Helper(request, "register").register_begin(user=user)
    _store(request, "register", "register", state)
    return options


def key_registration_complete(request, user, data: dict, name: str) -> WebAuthnCredential:
    state = _take(request, "register", "register")
    try:
        device = _Helper(request, "register").register_complete(user=user, state=state, data=data)
    except (WebAuthnException, webauthn_errors.OTPWebAuthnApiError, KeyError, ValueError) as exc:
        raise _failed(exc) from None
    device.name = (name or "Security key")[:64]
    device.save(update_fields=["name"])
    return device


def key_assertion_begin(request, user, purpose: str) -> dict:
    """Options for navigator.credentials.get(); `user` None means a passkey sign-in."""
    helper = _Helper(request, purpose)
    options, state = helper.authenticate_begin(user=user, require_user_verification=user is None)
    _store(request, "assert", purpose, state)
    return options


def key_assertion_complete(request, user, purpose: str, data: dict) -> WebAuthnCredential:
    state = _take(request, "assert", purpose)
    try:
        device = _Helper(request, purpose).authenticate_complete(user=user, state=state, data=data)
    except (WebAuthnException, webauthn_errors.OTPWebAuthnApiError, KeyError, ValueError) as exc:
        raise _failed(exc) from None
    if not device.confirmed or not device.user.is_active:
        raise KeyCeremonyFailed("This security key is disabled.")
    return device


def keys_of(user):
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("created_at")
