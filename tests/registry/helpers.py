"""Publishing through the HTTP API from tests, as the npm CLI would."""

import json
import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from registry.read_cache import cache, read_cache_ready
from tests.packages import publish_body


def publish(client, token: str, name: str, version: str = "1.0.0", **kwargs):
    body = publish_body(name, version, **kwargs)
    return client.put(
        f"/{name}",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def write(client, method: str, path: str, token: str, body=None, otp: str | None = None):
    """A registry write as npm sends it, with `otp` in `npm-otp` when given (`--otp`)."""
    return getattr(client, method)(
        path,
        data=json.dumps(body) if body is not None else "",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **({"HTTP_NPM_OTP": otp} if otp else {}),
    )


# LISTEN/NOTIFY reaches other processes only on PostgreSQL; SQLite serves one process.
on_postgresql = pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="LISTEN/NOTIFY is PostgreSQL's (CI runs it there)",
)


def wait_until(condition, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def read_cache_settle() -> None:
    """The read cache is in use, and every notification sent so far has been handled."""
    assert wait_until(read_cache_ready), "the read cache never became ready"
    if connection.vendor == "postgresql":
        # Notifications arrive in commit order: once a marker sent now is handled, so is
        # the one of any write before it.
        marker = f"marker-{time.monotonic_ns()}"
        with psycopg.connect(**pg_params(), autocommit=True) as other:
            other.execute("SELECT pg_notify('gatehouse_packages', %s)", [marker])
        assert wait_until(lambda: cache.last_invalidated == marker)


def pg_params() -> dict:
    """Connection parameters for a second PostgreSQL session (another process, in effect)."""
    excluded = ("cursor_factory", "context")
    return {k: v for k, v in connection.get_connection_params().items() if k not in excluded}
