"""Account changes made from the npm CLI (`npm profile …`) and the portal."""

from django.contrib.auth import password_validation
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.actors import Actor
from accounts.events import event_record
from accounts.exceptions import InvalidAccountData
from accounts.models import User
from accounts.notifications import notify
from accounts.second_factor import second_factor_require
from accounts.services import two_factor
from accounts.services.email_verification import email_verification_send
from accounts.services.users import password_verify
from portal.errors import PermissionDenied

Mode = User.TwoFactorMode


def _require_writable(actor: Actor) -> None:
    if not actor.can_write:
        raise PermissionDenied(
            "This token is read-only, so it cannot change the account. Use a read-write token "
            "(`npm login`)."
        )


def account_change_guard(actor: Actor, what: str) -> None:
    """Account changes need a token that may write, and the second factor in both npm modes."""
    _require_writable(actor)
    if actor.user.has_two_factor:
        second_factor_require(
            actor, operation=f"profile:{what}", description={"command": f"profile {what}"}
        )


def profile_update(*, actor: Actor, changes: dict) -> User:
    """`npm profile set`: email, fullname and password (the client sends every key)."""
    _require_writable(actor)
    user = actor.user
    email = changes.get("email")
    fullname = changes.get("fullname")
    password = changes.get("password")
    email_changes = isinstance(email, str) and email and email != user.email
    if not (email_changes or isinstance(password, dict) or (fullname or "") != user.fullname):
        return user
    account_change_guard(actor, "set")
    with transaction.atomic():
        if fullname is not None or user.fullname:
            user.fullname = str(fullname or "")[:200]
        if email_changes:
            _email_change(actor, user, email)
        if isinstance(password, dict):
            _password_change(actor, user, password)
        user.save()
    return user


def email_change(*, actor: Actor, user: User, email: str) -> None:
    """The portal's email change (behind sudo mode); a verification mail goes to the new address."""
    if email == user.email:
        return
    with transaction.atomic():
        _email_change(actor, user, email)
        user.save(update_fields=["email", "email_verified"])


def password_change(*, actor: Actor, user: User, old: str, new: str) -> None:
    with transaction.atomic():
        _password_change(actor, user, {"old": old, "new": new})
        user.save(update_fields=["password"])


def _email_change(actor: Actor, user: User, email: str) -> None:
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidAccountData(f'"{email}" is not an email address.') from None
    old = user.email
    user.email = email
    user.email_verified = False
    event_record("account:email-change", actor=actor, user=user, details={"from": old, "to": email})
    notify(user, "email_changed", to=old, old=old, new=email)
    email_verification_send(user)


def _password_change(actor: Actor, user: User, password: dict) -> None:
    password_verify(actor=actor, username=user.username, password=str(password.get("old", "")))
    password_set(
        actor=actor, user=user, new=str(password.get("new", "")), action="account:password-change"
    )


def password_set(*, actor: Actor, user: User, new: str, action: str) -> None:
    """Set a new password (change or reset); the caller saves the user."""
    try:
        password_validation.validate_password(new, user)
    except ValidationError as exc:
        raise InvalidAccountData("Choose a stronger password: " + " ".join(exc.messages)) from None
    user.set_password(new)
    event_record(action, actor=actor, user=user)
    notify(user, "password_changed")


def cli_tfa_enable(*, actor: Actor, password: str, mode: str) -> str | None:
    """`npm profile enable-2fa <mode>`: an otpauth:// URI to confirm, or None if only the
    mode of an existing 2FA changed."""
    _require_writable(actor)
    user = actor.user
    password_verify(actor=actor, username=user.username, password=password)
    if mode not in (Mode.AUTH_ONLY, Mode.AUTH_AND_WRITES):
        raise InvalidAccountData('The 2FA mode must be "auth-only" or "auth-and-writes".')
    if user.has_two_factor:
        account_change_guard(actor, "enable-2fa")
        two_factor.tfa_mode_set(actor=actor, user=user, mode=mode)
        return None
    device = two_factor.totp_enroll_start(user=user)
    # The mode is applied once the code confirms the device.
    cache.set(_pending_mode_key(user), mode, 3600)
    return device.config_url


def _pending_mode_key(user: User) -> str:
    return f"tfa-pending-mode:{user.pk}"


def cli_tfa_confirm(*, actor: Actor, code: str) -> list[str]:
    _require_writable(actor)
    user = actor.user
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None or user.has_two_factor:
        # With 2FA on, new factors are added in the portal (behind sudo mode), not here.
        raise InvalidAccountData("There is no 2FA setup in progress. Run `npm profile enable-2fa`.")
    mode = cache.get(_pending_mode_key(user)) or Mode.AUTH_AND_WRITES
    codes = two_factor.totp_enable_from_cli(actor=actor, device=device, code=code)
    user.refresh_from_db()
    two_factor.tfa_mode_set(actor=actor, user=user, mode=mode)
    return codes


def cli_tfa_disable(*, actor: Actor, password: str) -> None:
    _require_writable(actor)
    user = actor.user
    password_verify(actor=actor, username=user.username, password=password)
    pending = TOTPDevice.objects.filter(user=user, confirmed=False)
    if not user.has_two_factor:
        pending.delete()
        return
    account_change_guard(actor, "disable-2fa")
    two_factor.two_factor_disable(actor=actor, user=user)


def tfa_status(user: User):
    """npm's `tfa` profile field: false, or {pending, mode}."""
    if user.has_two_factor:
        return {"pending": False, "mode": user.tfa_mode}
    if TOTPDevice.objects.filter(user=user, confirmed=False).exists():
        return {
            "pending": True,
            "mode": cache.get(_pending_mode_key(user)) or Mode.AUTH_AND_WRITES.value,
        }
    return False
