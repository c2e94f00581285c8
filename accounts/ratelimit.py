"""Failure counters for everything a person could guess: passwords, tokens, codes.

Counters live in Django's cache (Redis in production, so every web process shares them).
Callers check before verifying and count a failure before raising, so a burst of
parallel guesses cannot slip between the check and the count.
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
}


def _key(scope: str, ident: str) -> str:
    return f"ratelimit:{scope}:{ident}"


def ratelimit_check(scope: str, ident: str | None) -> None:
    if not ident:
        return
    if (cache.get(_key(scope, ident)) or 0) >= LIMITS[scope]:
        raise RateLimited(
            "Too many failed attempts. Wait 15 minutes and try again, "
            "or reset your password from the portal.",
            retry_after=WINDOW_SECONDS,
        )


def ratelimit_fail(scope: str, ident: str | None) -> None:
    if not ident:
        return
    key = _key(scope, ident)
    if cache.add(key, 1, WINDOW_SECONDS):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, WINDOW_SECONDS)


def ratelimit_reset(scope: str, ident: str | None) -> None:
    if ident:
        cache.delete(_key(scope, ident))
