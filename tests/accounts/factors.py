"""Give personas second factors the way the services do, and make their codes."""

import time

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.actors import Actor
from accounts.services import two_factor


def app_code(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The app's code now (or a later 30 s step: django-otp accepts the next one too)."""
    totp = TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def enroll_app(user, mode: str | None = None) -> tuple[TOTPDevice, list[str]]:
    """Enroll an authenticator app as `user`'s first factor; returns it and the unused codes."""
    actor = Actor(user=user, ip="127.0.0.1")
    device = two_factor.totp_enroll_start(user=user)
    two_factor.totp_enroll_verify(actor=actor, device=device, code=app_code(device))
    codes = two_factor.factor_enroll_verified(actor=actor, device=device)
    two_factor.factor_enroll_complete(actor=actor, device=device, recovery_code=codes[0])
    if mode:
        two_factor.tfa_mode_set(actor=actor, user=user, mode=mode)
    user.refresh_from_db()
    device.refresh_from_db()
    return device, codes[1:]


class Codes:
    """A person with an authenticator app, and a fresh one-time code for each operation.

    Every second-factor code serves one operation only, and an app makes one code per 30 s
    (the enrollment just used the current one): tests that prove several operations in a row
    use the person's recovery codes, each burned at its first use.
    """

    def __init__(self, user, mode: str | None = None):
        self.user = user
        self.device, self.recovery = enroll_app(user, mode)

    def __call__(self) -> str:
        if not self.recovery:
            actor = Actor(user=self.user, ip="127.0.0.1")
            self.recovery = two_factor.recovery_codes_regenerate(actor=actor, user=self.user)
        return self.recovery.pop()


def with_fresh_factor(user) -> Actor:
    """`user` as a portal session that has just passed a second factor, enrolling an app
    (auth-only) first if they have none: the proof governance services ask for."""
    if not user.has_two_factor:
        enroll_app(user, mode=user.TwoFactorMode.AUTH_ONLY)
    return Actor(user=user, ip="127.0.0.1", session_factor_at=time.time())
