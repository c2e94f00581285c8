"""Second factors: enrolling, verifying, removing, and the 2FA mode.

A person has two-factor authentication exactly when they hold a confirmed factor (an
authenticator app or a security key); recovery codes come with the first factor.
"""

from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import hooks, ratelimit
from accounts.actors import Actor
from accounts.events import event_record
from accounts.exceptions import InvalidAccountData, SecondFactorInvalid
from accounts.models import RecoveryCode, User
from accounts.notifications import notify
from accounts.recovery_codes import (
    COUNT,
    looks_like_recovery_code,
    recovery_code_generate,
    recovery_code_hash,
    recovery_code_normalize,
)
from accounts.webauthn import keys_of

Mode = User.TwoFactorMode


def factors_of(user: User) -> list:
    """Confirmed factors: authenticator apps and security keys, oldest first."""
    apps = list(TOTPDevice.objects.filter(user=user, confirmed=True))
    return sorted([*apps, *keys_of(user)], key=lambda device: device.created_at or timezone.now())


def factor_label(device) -> str:
    return (
        "authenticator app" if isinstance(device, TOTPDevice) else f'security key "{device.name}"'
    )


# Enrollment --------------------------------------------------------------------------


def totp_enroll_start(*, user: User) -> TOTPDevice:
    """A new, unconfirmed authenticator-app device; earlier unconfirmed ones are dropped."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def totp_enroll_verify(*, actor: Actor, device: TOTPDevice, code: str) -> None:
    """Check the first code from a new app; refuses with SecondFactorInvalid."""
    _rate_check(actor, device.user)
    if device.confirmed or not device.verify_token(_digits(code)):
        _count_failure(actor, device.user, "totp-enroll")
        raise SecondFactorInvalid(
            "That code does not match. Check your device's clock and enter the current code."
        )
    _rate_refund(actor, device.user)


def factor_enroll_verified(*, actor: Actor, device) -> list[str] | None:
    """A new device proved it works. With 2FA already on, it becomes a factor now.

    A first factor waits: the person gets fresh recovery codes (returned, shown once) and
    must enter one of them (`factor_enroll_complete`) to prove they kept them.
    """
    if device.user.has_two_factor:
        _factor_confirm(actor, device)
        return None
    with transaction.atomic():
        return _codes_replace(device.user)


def factor_enroll_complete(*, actor: Actor, device, recovery_code: str) -> None:
    """Finish a first-factor enrollment with one of its new recovery codes (burned)."""
    user = device.user
    _rate_check(actor, user)
    normalized = recovery_code_normalize(recovery_code)
    with transaction.atomic():
        burned = normalized and RecoveryCode.objects.filter(
            user=user, code_hash=recovery_code_hash(normalized), used_at__isnull=True
        ).update(used_at=timezone.now())
        if burned:
            _factor_confirm(actor, device)
    if not burned:
        # Recorded outside the transaction above, which a refusal would have rolled back.
        _count_failure(actor, user, "recovery-code-confirm")
        raise SecondFactorInvalid(
            "That is not one of the recovery codes shown above. Copy one exactly as shown."
        )
    _rate_refund(actor, user)


def _factor_confirm(actor: Actor, device) -> None:
    user = device.user
    with transaction.atomic():
        first = not user.has_two_factor
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        if first:
            User.objects.filter(pk=user.pk).update(tfa_mode=Mode.AUTH_AND_WRITES)
            user.tfa_mode = Mode.AUTH_AND_WRITES
        event_record(
            "2fa:factor-add", actor=actor, user=user, details={"factor": factor_label(device)}
        )
        if first:
            event_record("2fa:enable", actor=actor, user=user, details={"mode": user.tfa_mode})
        notify(user, "factor_added", factor=factor_label(device))


def totp_enable_from_cli(*, actor: Actor, device: TOTPDevice, code: str) -> list[str]:
    """`npm profile enable-2fa`: the CLI prints the recovery codes instead of a confirmation step."""
    totp_enroll_verify(actor=actor, device=device, code=code)
    with transaction.atomic():
        codes = _codes_replace(device.user)
        _factor_confirm(actor, device)
    return codes


def factor_remove(*, actor: Actor, device) -> None:
    """Remove a factor, from anywhere (the security page, the admin); removing the last
    one turns two-factor authentication off and drops the recovery codes. An enrolment
    that never finished is not a factor yet: it just goes."""
    if not device.confirmed:
        device.delete()
        return
    user = device.user
    with transaction.atomic():
        # One removal per person at a time, so that two removing the last two factors
        # cannot each see the other's and leave 2FA on with none.
        User.objects.select_for_update().get(pk=user.pk)
        label = factor_label(device)
        device.delete()
        last = not factors_of(user)
        if last:
            hooks.two_factor_removal_check(user)
            _disable(user)
        event_record("2fa:factor-remove", actor=actor, user=user, details={"factor": label})
        if last:
            event_record("2fa:disable", actor=actor, user=user)
        notify(user, "factor_removed", factor=label, disabled=last)


def two_factor_disable(*, actor: Actor, user: User) -> None:
    """`npm profile disable-2fa`: every factor and recovery code goes."""
    hooks.two_factor_removal_check(user)
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)  # as factor_remove: one at a time
        TOTPDevice.objects.filter(user=user).delete()
        keys_of(user).delete()
        _disable(user)
        event_record("2fa:disable", actor=actor, user=user)
        notify(user, "factor_removed", factor="every factor", disabled=True)


def _disable(user: User) -> None:
    RecoveryCode.objects.filter(user=user).delete()
    User.objects.filter(pk=user.pk).update(tfa_mode=Mode.DISABLED)
    user.tfa_mode = Mode.DISABLED


def tfa_mode_set(*, actor: Actor, user: User, mode: str) -> None:
    """Switch between auth-only and auth-and-writes; never turns 2FA off."""
    if mode not in (Mode.AUTH_ONLY, Mode.AUTH_AND_WRITES):
        raise InvalidAccountData('The 2FA mode must be "auth-only" or "auth-and-writes".')
    if not user.has_two_factor:
        raise InvalidAccountData("Add a second factor first; the mode applies to it.")
    if user.tfa_mode == mode:
        return
    with transaction.atomic():
        previous = user.tfa_mode
        User.objects.filter(pk=user.pk).update(tfa_mode=mode)
        user.tfa_mode = mode
        event_record(
            "2fa:mode-change", actor=actor, user=user, details={"from": previous, "to": mode}
        )


# Recovery codes ----------------------------------------------------------------------


def _codes_replace(user: User) -> list[str]:
    # Unused codes of the old set are voided; used ones stay, so reuse can say "used".
    RecoveryCode.objects.filter(user=user, used_at__isnull=True).delete()
    codes = [recovery_code_generate() for _ in range(COUNT)]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, code_hash=recovery_code_hash(c)) for c in codes
    )
    return codes


def recovery_codes_regenerate(*, actor: Actor, user: User) -> list[str]:
    with transaction.atomic():
        codes = _codes_replace(user)
        event_record("2fa:recovery-codes-regenerate", actor=actor, user=user)
        notify(user, "recovery_codes_regenerated")
    return codes


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def _recovery_code_burn(actor: Actor, user: User, code: str) -> bool:
    normalized = recovery_code_normalize(code)
    if not normalized:
        return False
    row = RecoveryCode.objects.filter(user=user, code_hash=recovery_code_hash(normalized)).first()
    if row is None:
        return False
    burned = RecoveryCode.objects.filter(pk=row.pk, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    if not burned:
        raise SecondFactorInvalid(
            "That recovery code was already used; each code works once. Use another one."
        )
    left = recovery_codes_left(user)
    event_record("2fa:recovery-code-use", actor=actor, user=user, details={"left": left})
    notify(user, "recovery_code_used", left=left)
    return True


# Verification ------------------------------------------------------------------------


def _digits(code: str) -> str:
    return "".join(code.split())


def _rate_check(actor: Actor, user: User) -> None:
    """Count this guess before checking it (see accounts.ratelimit). The address first:
    a guess it refuses must not take the account's next slot."""
    ratelimit.ratelimit_attempt("otp:ip", actor.ip)
    ratelimit.ratelimit_attempt("otp:account", str(user.pk))


def _rate_refund(actor: Actor, user: User) -> None:
    ratelimit.ratelimit_reset("otp:account", str(user.pk))
    ratelimit.ratelimit_refund("otp:ip", actor.ip)


def _count_failure(actor: Actor, user: User, what: str) -> None:
    event_record("2fa:verify-failed", actor=actor, user=user, details={"factor": what})


def _app_code_check(user: User, code: str) -> TOTPDevice | None:
    """The app that shows `code` now, if any. django-otp refuses a time step it has seen
    (`last_t`); the devices are locked so two requests cannot both see a step unused."""
    with transaction.atomic():
        for device in TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True):
            allowed, _ = device.verify_is_allowed()
            if allowed and device.verify_token(code):
                return device
    return None


def second_factor_verify(*, actor: Actor, user: User, code: str, allow_recovery: bool = True):
    """Check an app code (or a recovery code, which is burned). Returns what matched:
    a TOTPDevice, or the string "recovery-code". Raises SecondFactorInvalid."""
    _rate_check(actor, user)
    code = (code or "").strip()
    if allow_recovery and looks_like_recovery_code(code):
        with transaction.atomic():
            if _recovery_code_burn(actor, user, code):
                _rate_refund(actor, user)
                return "recovery-code"
    elif code.isdigit() and len(code) in (6, 8):
        device = _app_code_check(user, code)
        if device is not None:
            _rate_refund(actor, user)
            return device
    _count_failure(actor, user, "code")
    raise SecondFactorInvalid(
        "That code is not valid (wrong, expired or already used). Enter the current code from "
        "your authenticator app, or a recovery code."
    )
