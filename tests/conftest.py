"""Shared fixtures and the personas every test uses.

alice owns packages, bob maintains some of them, carol is an outsider. Each has a
login token (`alice_token`, …) minted through the same service the npm CLI uses.
"""

import os
import socket
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.cache import cache
from kombu import pools

from accounts.actors import Actor
from accounts.models import User
from accounts.services.tokens import token_issue
from portal.celery import app
from registry.read_cache import cache as read_cache
from registry.read_cache import read_cache_stop

# Playwright's sync API runs an event loop; Django must allow ORM calls from that thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct horse battery staple"
BROKER = os.environ.get("GATEHOUSE_TEST_BROKER_URL", "redis://127.0.0.1:6379/14")


def pytest_collection_modifyitems(items):
    for item in items:
        if "e2e" in item.path.parts:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Hashed static names need `collectstatic`; tests serve the source files.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        "tarballs": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "tarballs"},
        },
    }
    cache.clear()
    read_cache.reset(healthy=read_cache.healthy)  # each test starts from its own database
    yield
    cache.clear()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(tmp_path_factory, django_db_modify_db_settings_parallel_suffix):
    """On SQLite, test in a file as the embedded mode runs, not in Django's shared in-memory
    database: that one fails a second connection at once ("table is locked") where a file
    makes it wait (busy timeout, BEGIN IMMEDIATE), so tests with threads would flake."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        folder = tmp_path_factory.mktemp("database")
        database.setdefault("TEST", {})["NAME"] = str(folder / "test.sqlite3")


@pytest.fixture(scope="session", autouse=True)
def _read_cache_listener_stops(django_db_setup):
    """The read cache's PostgreSQL listener holds a connection; close it before the test
    database is dropped."""
    yield
    read_cache_stop()


def make_user(username: str) -> User:
    return User.objects.create_user(
        username=username, email=f"{username}@example.com", password=PASSWORD
    )


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def bob(db):
    return make_user("bob")


@pytest.fixture
def carol(db):
    return make_user("carol")


def issue_token(user: User) -> str:
    return token_issue(actor=Actor(user=user), user=user, name="test")


@pytest.fixture
def alice_codes(alice):
    """alice with an authenticator app (auth-only: her writes ask for no code, governance
    does); each call gives a fresh code for one operation."""
    from tests.accounts.factors import Codes

    return Codes(alice, mode=User.TwoFactorMode.AUTH_ONLY)


@pytest.fixture
def alice_token(alice):
    return issue_token(alice)


@pytest.fixture
def bob_token(bob):
    return issue_token(bob)


@pytest.fixture
def carol_token(carol):
    return issue_token(carol)


# A real Celery worker -----------------------------------------------------------------------
# Most tests run tasks eagerly; those that prove the path production takes (enqueued on
# commit, carried by Redis, consumed by a worker) ask for `real_worker`.


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def _drop_connections() -> None:
    """Forget every broker connection and producer made under the previous settings.

    Even eager tasks open a producer, so an earlier test leaves one pointing at Celery's
    default broker. kombu keeps its pools in process-wide registries keyed by connection;
    closing a pool without removing it leaves a closed pool that the next producer would
    be handed."""
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def real_worker():
    """A worker thread consuming from Redis, under a key prefix of its own so that nobody
    else's worker (another test run on this machine) takes our tasks, nor we theirs.

    Without Redis the test is skipped, except in CI, where it fails."""
    if not _redis_reachable():
        if os.environ.get("CI"):
            pytest.fail("Redis is not running on 127.0.0.1:6379; CI must start it")
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    keys = ("task_always_eager", "broker_url", "broker_transport_options")
    previous = {key: app.conf[key] for key in keys}
    had_pool = app._pool is not None
    app.conf.update(
        task_always_eager=False,
        broker_url=BROKER,
        broker_transport_options={"global_keyprefix": f"gatehouse-test-{uuid.uuid4().hex}:"},
    )
    _drop_connections()
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        app.conf.update(previous)
        _drop_connections()
        if had_pool:
            # Leave the app as we found it: with a pool, now for the restored broker.
            app.pool  # noqa: B018
