"""The second factor at the npm CLI: `WWW-Authenticate: OTP`, `npm-otp`, and web OTP.

Every code is single-use per operation. The first use of a code is recorded in the
database (`SecondFactorUse`, a keyed hash of the code and the operation it proved) in the
same transaction that verifies it, and the table's unique constraint lets exactly one
operation own a code. npm sends one `--otp` code on every request of a command (unpublish
makes five), so within a short window the code passes again for that same operation, and
only for it; a recovery code never passes twice.

A person who holds a security key gets, in the 401, an `authUrl` (a portal page saying
exactly what the server was asked to do, approved with the key) and a `doneUrl` the CLI
polls; the poll answers with a one-time code bound to that operation.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.actors import Actor
from accounts.events import event_record
from accounts.exceptions import SecondFactorInvalid
from accounts.models import OTPChallenge, SecondFactorUse, User
from accounts.recovery_codes import looks_like_recovery_code
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


APP, RECOVERY_CODE, SECURITY_KEY = "app", "recovery-code", "security-key"


def second_factor_require(actor: Actor, *, operation: str, description: dict) -> str:
    """Pass when this request proves a second factor for `operation`, else raise OTPRequired.

    `operation` is the server's own name for exactly what is being done (for instance
    `publish:foo@1.2.3`); `description` is what the server parsed, shown on the web-OTP
    page: `summary`, and where relevant `package`, `version`, `tag`, `action`.
    Returns which factor it was: "app", "recovery-code" or "security-key".
    """
    code = (actor.otp or "").strip()
    if not code:
        raise _challenge(actor, operation, description)
    try:
        return _code_use(actor, code, operation)
    except SecondFactorInvalid as exc:
        raise OTPRefused(exc.message) from None


def _factor_of(code: str) -> str:
    if code.startswith(WEB_OTP_PREFIX):
        return SECURITY_KEY
    return RECOVERY_CODE if looks_like_recovery_code(code) else APP


def _use_hash(user: User, code: str) -> str:
    # Keyed: an app code has only a million values, so a plain hash would give it away.
    return salted_hmac(
        "gatehouse.second-factor-use", f"{user.pk}:{code}", algorithm="sha256"
    ).hexdigest()


def _reuse_cutoff():
    return timezone.now() - timedelta(seconds=REUSE_SECONDS)


def _code_use(actor: Actor, code: str, operation: str) -> str:
    """Record the code's use for `operation` and verify it, in one transaction; or, when
    the code was already used, pass it only for the same operation within the window.

    The row is inserted before the code is verified, so a concurrent request offering the
    same code waits on the unique constraint until this one commits (or gives the code up)
    and then sees which operation owns it.
    """
    user = actor.user
    factor = _factor_of(code)
    code_hash = _use_hash(user, code)
    refusal = None
    with transaction.atomic():
        claim = _claim(user, code_hash, operation, factor)
        if claim is not None:
            try:
                _code_verify(actor, code, factor, operation)
            except SecondFactorInvalid as exc:
                # Give the code up, but keep what the check recorded (event, throttle).
                claim.delete()
                refusal = exc
    if refusal is not None:
        raise refusal
    if claim is None:
        earlier = SecondFactorUse.objects.filter(user=user, code_hash=code_hash).first()
        return _code_reuse(actor, earlier, operation)
    return factor


def _claim(user: User, code_hash: str, operation: str, factor: str) -> SecondFactorUse | None:
    """Insert the code's row (first dropping one past the window), or None when an earlier
    use, committed by another request, holds the code."""
    SecondFactorUse.objects.filter(
        user=user, code_hash=code_hash, used_at__lte=_reuse_cutoff()
    ).delete()
    try:
        with transaction.atomic():
            return SecondFactorUse.objects.create(
                user=user, code_hash=code_hash, operation=operation, factor=factor
            )
    except IntegrityError:
        return None


def _code_verify(actor: Actor, code: str, factor: str, operation: str) -> None:
    if factor == SECURITY_KEY:
        _web_code_redeem(actor.user, code, operation)
    else:
        second_factor_verify(actor=actor, user=actor.user, code=code)


def _code_reuse(actor: Actor, earlier: SecondFactorUse | None, operation: str) -> str:
    if earlier is not None and earlier.factor == RECOVERY_CODE:
        raise SecondFactorInvalid(
            "That recovery code was already used; each recovery code works once. Use another "
            "one, or the current code from your authenticator app."
        )
    if earlier is None or earlier.operation != operation or earlier.used_at <= _reuse_cutoff():
        event_record(
            "2fa:verify-failed",
            actor=actor,
            user=actor.user,
            details={"factor": "code used for another command"},
        )
        raise SecondFactorInvalid(
            "This one-time password was already used for another command. "
            "Wait for the next code from your authenticator and run the command again."
        )
    return earlier.factor


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


# What the web-OTP page shows of the operation: only what the server parsed itself.
SHOWN = ("summary", "action", "package", "version", "tag", "org")


def otp_challenge_create(
    actor: Actor, operation: str, description: dict
) -> tuple[OTPChallenge, str]:
    """A pending approval of exactly `operation`; returns it and the secret the CLI polls.

    The page shows the server's `description`, never what the client says it is doing;
    npm's `npm-command` header is kept apart as `client_command`, a hint at most.
    """
    done_secret = secret_generate(prefix="", length=43)
    details = {key: str(description[key]) for key in SHOWN if description.get(key)}
    details.setdefault("summary", operation)
    details.update(
        ip=actor.ip,
        client=actor.user_agent,
        client_command=actor.npm_command,
        token=getattr(actor.token, "name", "") or getattr(actor.token, "display_prefix", ""),
    )
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
    """Drop expired approvals and code uses past the reuse window (a periodic task)."""
    challenges, _ = OTPChallenge.objects.filter(expires_at__lte=timezone.now()).delete()
    uses, _ = SecondFactorUse.objects.filter(used_at__lte=_reuse_cutoff()).delete()
    return challenges + uses
