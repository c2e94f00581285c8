"""Who is making a request: every service takes an Actor, never a bare user."""

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip() or None
    return request.META.get("REMOTE_ADDR") or None


@dataclass(frozen=True)
class Actor:
    user: object | None  # accounts.models.User
    token: object | None = None  # accounts.models.Token when the request carried one
    ip: str | None = None
    user_agent: str = ""
    # The `npm-otp` header: a second factor offered with this request, checked only when
    # an action needs one (accounts.second_factor).
    otp: str | None = None
    npm_command: str = ""
    # Proof of a second factor already checked by a portal view for one operation: the key
    # of the operation a security-key assertion was bound to (registry.authz.Operation).
    key_proof: str = ""
    # When this browser session last passed a second factor (not a password): within sudo
    # mode's window it proves a fresh second factor for governance in the portal.
    session_factor_at: float | None = None

    @classmethod
    def anonymous(cls, request: HttpRequest | None = None) -> "Actor":
        if request is None:
            return cls(user=None)
        return cls(user=None, ip=client_ip(request), user_agent=_agent(request))

    @classmethod
    def for_request(cls, request: HttpRequest, user, token=None) -> "Actor":
        return cls(
            user=user,
            token=token,
            ip=client_ip(request),
            user_agent=_agent(request),
            otp=request.META.get("HTTP_NPM_OTP") or None,
            npm_command=request.META.get("HTTP_NPM_COMMAND", "")[:40],
        )

    @property
    def is_authenticated(self) -> bool:
        return self.user is not None

    @property
    def can_write(self) -> bool:
        return self.user is not None and not (self.token is not None and self.token.readonly)


def _agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:300]
