"""Failure counters for everything a person could guess: passwords, tokens, codes.

Counters live in Django's cache (Redis in production, so every web process shares them).
A guess at a short secret (password, one-time code) is counted *before* it is verified
and given back when it was right, so a burst of parallel guesses cannot all pass a
counter that is one short of its limit. Long random secrets (tokens) count failures only.
"""

from django.core.cache import cache

from portal.errors import RateLimited

WINDOW_SECONDS = 15 * 60
LIMITS = {
    "password:account": 10,
    "password:ip": 50,
    "token:ip": 100,
    "otp:account": 10,
    "otp:ip": 50,
    "web-login:ip": 60,
}


def _key(scope: str, ident: str) -> str:
    return f"ratelimit:{scope}:{ident}"


def _refused() -> RateLimited:
    return RateLimited(
        "Too many failed attempts. Wait 15 minutes and try again, "
        "or reset your password from the portal.",
        retry_after=WINDOW_SECONDS,
    )


def ratelimit_check(scope: str, ident: str | None) -> None:
    if ident and (cache.get(_key(scope, ident)) or 0) >= LIMITS[scope]:
        raise _refused()


def _increment(key: str) -> int:
    if cache.add(key, 1, WINDOW_SECONDS):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, WINDOW_SECONDS)
        return 1


def ratelimit_fail(scope: str, ident: str | None) -> None:
    if ident:
        _increment(_key(scope, ident))


def ratelimit_attempt(scope: str, ident: str | None) -> None:
    """Count one guess before verifying it; refuse once the limit is passed."""
    if ident and _increment(_key(scope, ident)) > LIMITS[scope]:
        raise _refused()


def ratelimit_refund(scope: str, ident: str | None) -> None:
    """A guess that was right does not count against the limit."""
    if not ident:
        return
    try:
        if cache.decr(_key(scope, ident)) < 0:
            cache.delete(_key(scope, ident))
    except ValueError:  # the window ended meanwhile
        pass


def ratelimit_reset(scope: str, ident: str | None) -> None:
    if ident:
        cache.delete(_key(scope, ident))
