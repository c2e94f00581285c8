"""The second factor at the npm CLI: `WWW-Authenticate: OTP`, `npm-otp`, and web OTP.

npm sends one `--otp` code on every request of a command (unpublish makes five), while
django-otp refuses a TOTP code it has seen. So a verified code is remembered briefly
together with the operation it was given for: the same code passes again for that
operation only, and is refused for anything else.

A person who holds a security key gets, in the 401, an `authUrl` (a portal page saying
exactly what is being authorised, approved with the key) and a `doneUrl` the CLI polls;
the poll answers with a one-time code bound to that operation.
"""

import hashlib
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.actors import Actor
from accounts.events import event_record
from accounts.exceptions import SecondFactorInvalid
from accounts.models import OTPChallenge, User
from accounts.secrets import secret_generate, secret_hash
from accounts.services.two_factor import second_factor_verify
from accounts.webauthn import keys_of
from portal.errors import AuthenticationRequired, NotFound
from portal.links import registry_url

REUSE_SECONDS = 120
WEB_OTP_PREFIX = "wotp_"


class OTPRequired(AuthenticationRequired):
    """401 with exactly `WWW-Authenticate: OTP`, which makes npm ask for (or use) a code."""

    def __init__(self, message: str, extra: dict | None = None):
        super().__init__(message)
        self.extra = extra or {}

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "OTP"}


class OTPRefused(OTPRequired):
    """A code was offered and refused. npm prints only its own text for EOTP, but it
    prints an `npm-notice` header, so the reason (and what to do) goes there too."""

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "npm-notice": self.message}


def _reuse_key(user: User, code: str) -> str:
    return f"otp-used:{user.pk}:{hashlib.sha256(code.encode()).hexdigest()}"


def second_factor_require(actor: Actor, *, operation: str, description: dict) -> str:
    """Pass when this request proves a second factor for `operation`, else raise OTPRequired.

    Returns which factor it was: "app", "recovery-code" or "security-key".
    """
    user = actor.user
    code = (actor.otp or "").strip()
    if not code:
        raise _challenge(actor, operation, description)
    remembered = cache.get(_reuse_key(user, code))
    if remembered is not None:
        used_for, factor = remembered
        if used_for == operation:
            return factor
        raise OTPRefused(
            "This one-time password was already used for another command. "
            "Wait for the next code from your authenticator and run the command again."
        )
    try:
        if code.startswith(WEB_OTP_PREFIX):
            _web_code_redeem(user, code, operation)
            factor = "security-key"
        else:
            matched = second_factor_verify(actor=actor, user=user, code=code)
            factor = "recovery-code" if matched == "recovery-code" else "app"
    except SecondFactorInvalid as exc:
        raise OTPRefused(exc.message) from None
    cache.set(_reuse_key(user, code), (operation, factor), REUSE_SECONDS)
    return factor


def _challenge(actor: Actor, operation: str, description: dict) -> OTPRequired:
    message = (
        "This operation requires a one-time password from your authenticator. "
        "Run it again with --otp=<code>."
    )
    if not keys_of(actor.user).exists():
        return OTPRequired(message)
    challenge, done_secret = otp_challenge_create(actor, operation, description)
    return OTPRequired(
        message.replace("from your authenticator", "(or your security key)"),
        extra={
            "authUrl": registry_url(reverse("accounts:web-otp", args=[challenge.pk.hex])),
            "doneUrl": registry_url(f"-/v1/otp/{done_secret}"),
        },
    )


def otp_challenge_create(
    actor: Actor, operation: str, description: dict
) -> tuple[OTPChallenge, str]:
    done_secret = secret_generate(prefix="", length=43)
    details = {
        **description,
        "ip": actor.ip,
        "client": actor.user_agent,
        "token": getattr(actor.token, "name", "") or getattr(actor.token, "display_prefix", ""),
    }
    challenge = OTPChallenge.objects.create(
        user=actor.user,
        token_key=getattr(actor.token, "key", None),
        operation=operation,
        description=details,
        done_hash=secret_hash(done_secret),
        expires_at=timezone.now() + timedelta(seconds=settings.GATEHOUSE_WEB_OTP_TTL_SECONDS),
    )
    return challenge, done_secret


def otp_challenge_pending(*, user: User, challenge_id) -> OTPChallenge:
    try:
        parsed = uuid.UUID(str(challenge_id))
    except ValueError:
        parsed = None
    challenge = OTPChallenge.objects.filter(pk=parsed, user=user).first() if parsed else None
    if challenge is None or challenge.expires_at <= timezone.now():
        raise NotFound(
            "This approval request expired or belongs to another account. Run the command again."
        )
    return challenge


def otp_challenge_approve(*, actor: Actor, challenge: OTPChallenge, device) -> None:
    with transaction.atomic():
        updated = OTPChallenge.objects.filter(pk=challenge.pk, approved_at__isnull=True).update(
            approved_at=timezone.now()
        )
        if not updated:
            raise NotFound("This request was already approved.")
        event_record(
            "2fa:cli-approve",
            actor=actor,
            details={"operation": challenge.operation, "key": device.name, **challenge.description},
        )


def otp_challenge_poll(*, done_secret: str) -> str | None:
    """The one-time code for an approved challenge (once), None while it waits."""
    challenge = OTPChallenge.objects.filter(done_hash=secret_hash(done_secret)).first()
    if challenge is None or challenge.expires_at <= timezone.now():
        raise NotFound("This approval request expired. Run the command again.")
    if challenge.approved_at is None:
        return None
    code = secret_generate(prefix=WEB_OTP_PREFIX, length=32)
    handed_out = OTPChallenge.objects.filter(pk=challenge.pk, code_hash="").update(
        code_hash=secret_hash(code)
    )
    if not handed_out:
        raise NotFound("The code for this approval was already collected. Run the command again.")
    return code


def _web_code_redeem(user: User, code: str, operation: str) -> None:
    redeemed = OTPChallenge.objects.filter(
        user=user,
        code_hash=secret_hash(code),
        operation=operation,
        code_used_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).update(code_used_at=timezone.now())
    if not redeemed:
        raise SecondFactorInvalid(
            "This security-key approval is for another command, expired, or was already used. "
            "Run the command again."
        )


def otp_challenges_purge() -> int:
    deleted, _ = OTPChallenge.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
