"""Bearer tokens for the npm CLI: issue, authenticate, list, revoke."""

import ipaddress
import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts import ratelimit
from accounts.actors import Actor
from accounts.events import event_record
from accounts.exceptions import InvalidToken
from accounts.models import Token, User
from accounts.secrets import TOKEN_PREFIX, secret_display_prefix, secret_generate, secret_hash
from portal.errors import NotFound

# Recording every use would put a write on every install request; once a minute is enough
# to answer "when and from where was this token last used".
LAST_USED_PRECISION = timedelta(minutes=1)


def token_issue(*, actor: Actor, user: User, kind: str = Token.Kind.SESSION, name: str = "") -> str:
    """Create a token for `user` and return its secret, which is never shown again."""
    secret = secret_generate()
    with transaction.atomic():
        token = Token.objects.create(
            user=user,
            kind=kind,
            name=name,
            token_hash=secret_hash(secret),
            display_prefix=secret_display_prefix(secret),
            created_ip=actor.ip,
        )
        event_record(
            "token:create",
            actor=actor,
            user=user,
            details={"token": str(token.key), "kind": kind, "name": name},
        )
    return secret


def token_authenticate(secret: str, *, ip: str | None) -> Token:
    """The token with this secret, or InvalidToken. Only failures count against the
    address: a valid token is never refused for guesses sent from where it is used."""
    token = (
        Token.objects.select_related("user")
        .filter(token_hash=secret_hash(secret), user__is_active=True)
        .first()
    )
    if token is None:
        ratelimit.ratelimit_fail("token:ip", ip)  # 429 once the address passed its limit
        raise InvalidToken(
            "This access token is not valid (revoked, expired or mistyped). "
            "Run `npm login` to get a new one."
        )
    now = timezone.now()
    token_limits_check(expires_at=token.expires_at, cidrs=token.cidr_whitelist, ip=ip, now=now)
    stale = token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION
    if stale or token.last_used_ip != ip:
        token_use_record(token.pk, ip=ip, now=now)
    return token


def token_limits_check(*, expires_at, cidrs, ip: str | None, now) -> None:
    """Raise InvalidToken when a token with these limits may not be used now, from `ip`.

    Also asked by registry.read_passes, which remembers a token's limits between reads."""
    if expires_at is not None and expires_at <= now:
        raise InvalidToken(f"This access token expired on {expires_at:%Y-%m-%d}. Run `npm login`.")
    if cidrs and not _ip_allowed(ip, cidrs):
        raise InvalidToken(f"This access token may not be used from {ip}.")


def _ip_allowed(ip: str | None, cidrs) -> bool:
    if ip is None:
        return False
    address = ipaddress.ip_address(ip)
    return any(address in ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def token_use_record(token_id: int, *, ip: str | None, now) -> None:
    Token.objects.filter(pk=token_id).update(last_used_at=now, last_used_ip=ip)


def tokens_of(user: User):
    return Token.objects.filter(user=user).order_by("-created_at", "-id")


def token_find(*, user: User, key_or_secret: str) -> Token:
    """A token of `user` by its key (as `npm token list` shows) or by its full secret."""
    tokens = Token.objects.filter(user=user)
    if key_or_secret.startswith(TOKEN_PREFIX):
        token = tokens.filter(token_hash=secret_hash(key_or_secret)).first()
    else:
        try:
            token = tokens.filter(key=uuid.UUID(key_or_secret)).first()
        except ValueError:
            token = None
    if token is None:
        raise NotFound(f'You have no token "{key_or_secret}". Run `npm token list` to see yours.')
    return token


def token_revoke(*, actor: Actor, token: Token) -> None:
    with transaction.atomic():
        event_record(
            "token:revoke",
            actor=actor,
            user=token.user,
            details={"token": str(token.key), "kind": token.kind, "name": token.name},
        )
        token.delete()
