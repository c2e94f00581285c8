"""Failure counters for everything a person could guess: passwords, tokens, codes.

Counters live in Django's cache: Redis in production, so every web process shares them
(accounts.checks refuses several web processes on a per-process cache).

Two kinds of limit:

- **Per address** (`password:ip`, `otp:ip`, `token:ip`, `web-login:ip`): a window of
  WINDOW_SECONDS; past its limit the address is refused until the window ends. This is
  what bounds an attacker.
- **Per account** (`password:account`, `otp:account`): never a lockout, which anyone could
  impose on anyone by typing wrong passwords for their name. After BACKOFF_FREE failures
  each further guess waits a delay that doubles with every failure, up to
  BACKOFF_CAP_SECONDS. A guess sent while it should wait is refused without being
  counted, so it does not lengthen the wait; a right answer clears the account's count.

A guess at a short secret (password, one-time code) is counted *before* it is verified
and given back when it was right, so a burst of parallel guesses cannot all pass a
counter that is one short of its limit, and only one of them takes the slot that opens
after a delay. Long random secrets (tokens) are looked up first and only failures count,
so a valid token is never refused for what others sent from its address.
"""

import hashlib
import math
import time

from django.core.cache import cache

from portal.errors import RateLimited

WINDOW_SECONDS = 15 * 60
LIMITS = {
    "password:ip": 50,
    "token:ip": 100,
    "otp:ip": 50,
    "web-login:ip": 60,
}

BACKOFF_SCOPES = ("password:account", "otp:account")
BACKOFF_FREE = 10
BACKOFF_BASE_SECONDS = 2
BACKOFF_CAP_SECONDS = 5 * 60
# An account's failures are forgotten after this long without another one.
BACKOFF_MEMORY_SECONDS = 24 * 3600

_WHAT = {
    "password": "wrong passwords",
    "otp": "wrong codes",
    "token": "invalid tokens",
    "web-login": "login attempts",
}


def backoff_delay(failures: int) -> int:
    """Seconds the next guess at an account waits after `failures` counted guesses."""
    if failures < BACKOFF_FREE:
        return 0
    doublings = min(failures - BACKOFF_FREE, 30)
    return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**doublings)


def _key(scope: str, ident: str) -> str:
    return f"ratelimit:{scope}:{_cache_safe(ident)}"


def _gate_key(scope: str, ident: str) -> str:
    return f"ratelimit-wait:{scope}:{_cache_safe(ident)}"


def _cache_safe(ident: str) -> str:
    """Idents are what people typed (a username may hold spaces or control characters, or
    run long), and cache backends refuse such keys: those are counted under their hash."""
    if len(ident) <= 100 and ident.isascii() and ident.isprintable() and " " not in ident:
        return ident
    return "sha256-" + hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()


def _what(scope: str) -> str:
    return _WHAT[scope.partition(":")[0]]


def _window_refused(scope: str) -> RateLimited:
    advice = " Or reset your password from the portal." if scope.startswith("password") else ""
    return RateLimited(
        f"Too many {_what(scope)} from your address. Wait 15 minutes and try again.{advice}",
        retry_after=WINDOW_SECONDS,
    )


def _backoff_refused(scope: str, until: float | None) -> RateLimited:
    seconds = max(1, math.ceil((until or time.time()) - time.time()))
    advice = " Or reset your password from the portal." if scope.startswith("password") else ""
    return RateLimited(
        f"Too many {_what(scope)} for this account. Wait {seconds} seconds and try again.{advice}",
        retry_after=seconds,
    )


def _increment(key: str, timeout: int) -> int:
    if cache.add(key, 1, timeout):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout)
        return 1


def _decrement(key: str) -> None:
    try:
        if cache.decr(key) < 0:
            cache.delete(key)
    except ValueError:  # the window ended meanwhile
        pass


def _backoff_attempt(scope: str, ident: str) -> None:
    gate = _gate_key(scope, ident)
    until = cache.get(gate)
    if until is not None:
        raise _backoff_refused(scope, until)
    key = _key(scope, ident)
    failures = _increment(key, BACKOFF_MEMORY_SECONDS)
    cache.touch(key, BACKOFF_MEMORY_SECONDS)
    delay = backoff_delay(failures)
    # The guess that takes the slot makes the next one wait; of two racing guesses one
    # gets the slot and the other is refused and not counted.
    if delay and not cache.add(gate, time.time() + delay, delay):
        _decrement(key)
        raise _backoff_refused(scope, cache.get(gate))


def ratelimit_attempt(scope: str, ident: str | None) -> None:
    """Count one guess before verifying it; refuse it when it must wait or the address
    has passed its limit."""
    if not ident:
        return
    if scope in BACKOFF_SCOPES:
        _backoff_attempt(scope, ident)
    elif _increment(_key(scope, ident), WINDOW_SECONDS) > LIMITS[scope]:
        raise _window_refused(scope)


def ratelimit_fail(scope: str, ident: str | None) -> None:
    """Count one failure found after the fact (a token that matched nothing); refuse it
    with 429 once the address has passed its limit."""
    if ident and _increment(_key(scope, ident), WINDOW_SECONDS) > LIMITS[scope]:
        raise _window_refused(scope)


def ratelimit_refund(scope: str, ident: str | None) -> None:
    """A guess that was right does not count against the address."""
    if ident:
        _decrement(_key(scope, ident))


def ratelimit_reset(scope: str, ident: str | None) -> None:
    """A right answer clears the account's failures and any wait."""
    if ident:
        cache.delete_many([_key(scope, ident), _gate_key(scope, ident)])
