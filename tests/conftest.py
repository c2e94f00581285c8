"""Shared fixtures and the personas every test uses.

alice owns packages, bob maintains some of them, carol is an outsider. Each has a
login token (`alice_token`, …) minted through the same service the npm CLI uses.
"""

import os

import pytest
from django.core.cache import cache

from accounts.actors import Actor
from accounts.models import User
from accounts.services.tokens import token_issue
from registry.read_cache import cache as read_cache
from registry.read_cache import read_cache_stop

# Playwright's sync API runs an event loop; Django must allow ORM calls from that thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct horse battery staple"


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
def alice_token(alice):
    return issue_token(alice)


@pytest.fixture
def bob_token(bob):
    return issue_token(bob)


@pytest.fixture
def carol_token(carol):
    return issue_token(carol)
