"""Signing in to the portal: the password step, the second-factor step, and what the
session records once a person is in.

A person with a second factor is never signed in by the password alone: the password
step only remembers, in the session, who passed it and when, and the second step (an app
code, a recovery code, or a security key) signs them in. Once in, the session holds:

- Django's login. Its hash derives from the password, so changing or resetting the
  password ends every other session of the person at its next request.
- The sudo stamp (accounts.sudo): the factor just used counts as a fresh confirmation.
- The django-otp device that verified it (`request.user.is_verified()`), which the admin
  asks for. A recovery code verifies no device; a later sudo step with an app or key does.
- A `login` security event naming the factor.

Guesses are limited where the secrets are checked (`password_verify`,
`second_factor_verify`): per address, and per account with a growing delay.
"""

import time

import django_otp
from django.conf import settings
from django.contrib import auth

from accounts.actors import Actor
from accounts.events import event_record
from accounts.models import User
from accounts.services import two_factor
from accounts.services.users import password_verify
from accounts.sudo import session_mark_verified
from portal.errors import DomainError

PENDING_LOGIN = "gatehouse_login_pending"
BACKEND = "django.contrib.auth.backends.ModelBackend"
SIGNED_IN = "signed-in"
SECOND_FACTOR = "second-factor"


class LoginStepExpired(DomainError):
    status = 403


def login_password_step(request, *, username: str, password: str) -> str:
    """Check the password. Signs in a person without a second factor (SIGNED_IN); for one
    with a factor, remembers the step and answers SECOND_FACTOR."""
    user = password_verify(actor=Actor.anonymous(request), username=username, password=password)
    if user.has_two_factor:
        request.session[PENDING_LOGIN] = {"user": user.pk, "at": int(time.time())}
        return SECOND_FACTOR
    _login_complete(request, user, factor="password")
    return SIGNED_IN


def login_pending_user(request) -> User | None:
    """The person who passed the password step, if it was recent enough."""
    pending = request.session.get(PENDING_LOGIN)
    if not pending or time.time() - pending["at"] > settings.GATEHOUSE_LOGIN_STEP_SECONDS:
        return None
    return User.objects.filter(pk=pending["user"], is_active=True).first()


def login_code_step(request, *, code: str) -> None:
    """The second step with an app code or a recovery code (burned)."""
    user = login_pending_user(request)
    if user is None:
        raise LoginStepExpired("Your sign-in expired. Enter your password again.")
    matched = two_factor.second_factor_verify(
        actor=Actor.for_request(request, user), user=user, code=code
    )
    if matched == "recovery-code":
        _login_complete(request, user, factor="recovery-code")
    else:
        _login_complete(request, user, factor="app", device=matched)


def login_key_step(request, *, device, passkey: bool) -> None:
    """The second step with a security key, or a passkey sign-in (no password step):
    `device` is the key whose assertion was just verified for this purpose."""
    _login_complete(request, device.user, factor="passkey" if passkey else "key", device=device)


def session_reconfirmed(request, *, by_factor: bool, device=None) -> None:
    """The signed-in person confirmed it is them again (sudo): stamp the session, and
    record the app or key they used so that the admin accepts the session too."""
    _session_stamp(request, device, by_factor=by_factor)


def _login_complete(request, user: User, *, factor: str, device=None) -> None:
    request.session.pop(PENDING_LOGIN, None)
    auth.login(request, user, backend=BACKEND)
    _session_stamp(request, device, by_factor=factor != "password")
    event_record("login", actor=Actor.for_request(request, user), details={"factor": factor})


def _session_stamp(request, device, *, by_factor: bool) -> None:
    session_mark_verified(request, by_factor=by_factor)
    if device is not None:
        django_otp.login(request, device)
