"""Account changes made from the npm CLI (`npm profile …`) and the portal."""

from django.contrib.auth import password_validation
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.actors import Actor
from accounts.events import event_record
from accounts.exceptions import InvalidAccountData
from accounts.models import User
from accounts.notifications import notify
from accounts.second_factor import second_factor_require
from accounts.services import two_factor
from accounts.services.email_verification import email_verification_send
from accounts.services.tokens import token_revoke, tokens_of
from accounts.services.users import password_verify
from portal.errors import PermissionDenied
from portal.links import registry_url

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


def profile_update(*, actor: Actor, changes: dict, password_checked: bool = False) -> User:
    """`npm profile set`: email, fullname and password (the client sends every key).

    A new email address or password needs the current password: `password.old` (npm
    sends it with a new password; another client may send it alone with a new email), or
    Basic credentials on this very request (`password_checked`). npm sends none with an
    email, so `npm profile set email` is refused with where to do it instead. A new
    address counts only once proved (accounts.services.email_verification).
    """
    _require_writable(actor)
    user = actor.user
    email = changes.get("email")
    new_email = email if isinstance(email, str) and email and email != user.email else ""
    old_password, new_password = _passwords(changes.get("password"))
    fullname = str(changes.get("fullname") or "")[:200]  # npm sends null to clear it
    fullname_changes = "fullname" in changes and fullname != user.fullname
    if not (new_email or new_password or fullname_changes):
        return user
    if new_email and not (password_checked or old_password):
        raise InvalidAccountData(
            "Changing your email address needs your current password, which `npm profile "
            f"set` does not send. Change it on your account page: {_settings_url()}"
        )
    account_change_guard(actor, "set")
    if new_email or new_password:
        _current_password_check(actor, user, old_password, password_checked)
    with transaction.atomic():
        if fullname_changes:
            user.fullname = fullname
        if new_email:
            _email_change_request(actor, user, new_email)
        if new_password:
            _password_set(user, new_password)
            _password_changed(actor, user, "account:password-change")
        user.save()
    return user


def _passwords(password) -> tuple[str, str]:
    """npm's `password: {old, new}`: the current and the new password, "" when absent."""
    if not isinstance(password, dict):
        return "", ""
    return str(password.get("old") or ""), str(password.get("new") or "")


def _current_password_check(actor: Actor, user: User, old: str, password_checked: bool) -> None:
    if old or not password_checked:
        password_verify(actor=actor, username=user.username, password=old)


def _settings_url() -> str:
    return registry_url(reverse("accounts:settings"))


def email_change(*, actor: Actor, user: User, email: str, password: str) -> None:
    """The portal's email change: the current password, then a verification link to the
    new address, which counts only once followed; the old address is told. Asking for the
    address in force drops a change that waits."""
    password_verify(actor=actor, username=user.username, password=password)
    with transaction.atomic():
        if email == user.email:
            _email_change_cancel(actor, user)
        else:
            _email_change_request(actor, user, email)
        user.save(update_fields=["pending_email"])


def _email_change_request(actor: Actor, user: User, email: str) -> None:
    """Keep `email` as the pending address and send it a link; the caller saves the user."""
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidAccountData(f'"{email}" is not an email address.') from None
    user.pending_email = email
    event_record(
        "account:email-change-request",
        actor=actor,
        user=user,
        details={"from": user.email, "to": email},
    )
    notify(user, "email_change_requested", to=user.email, new=email)
    email_verification_send(user)


def _email_change_cancel(actor: Actor, user: User) -> None:
    if user.pending_email:
        details = {"to": user.pending_email}
        user.pending_email = ""
        event_record("account:email-change-cancel", actor=actor, user=user, details=details)


def password_change(*, actor: Actor, user: User, old: str, new: str) -> None:
    """The portal's password change: the current password first. Django ends every other
    session of the person (their hash derives from the password); the caller keeps its own
    with `update_session_auth_hash`."""
    password_verify(actor=actor, username=user.username, password=old)
    with transaction.atomic():
        _password_set(user, new)
        user.save(update_fields=["password"])
        _password_changed(actor, user, "account:password-change")


def password_reset(*, actor: Actor, user: User, new: str) -> None:
    """Set the password from an emailed reset link. Whoever had the account's credentials
    loses them: every token is revoked, every session ends (Django checks each session's
    hash against the password), and an email change waiting for confirmation is dropped."""
    with transaction.atomic():
        _password_set(user, new)
        pending, user.pending_email = user.pending_email, ""
        user.save(update_fields=["password", "pending_email"])
        tokens = list(tokens_of(user))
        for token in tokens:
            token_revoke(actor=actor, token=token)
        _password_changed(
            actor,
            user,
            "account:password-reset",
            details={"tokens_revoked": len(tokens), "email_change_dropped": pending},
            reset=True,
        )


def _password_set(user: User, new: str) -> None:
    try:
        password_validation.validate_password(new, user)
    except ValidationError as exc:
        raise InvalidAccountData("Choose a stronger password: " + " ".join(exc.messages)) from None
    user.set_password(new)


def _password_changed(
    actor: Actor, user: User, action: str, details: dict | None = None, reset: bool = False
) -> None:
    event_record(action, actor=actor, user=user, details=details)
    notify(user, "password_changed", reset=reset)


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
