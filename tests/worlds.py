"""A world built once per test module (the access and governance matrices, the bad-input
corpus): many requests against one arrangement, each rolled back after."""

from contextlib import contextmanager

from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import transaction
from django.test import override_settings

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def world_storages(tarballs) -> dict:
    """As tests/conftest.py sets them, with the world's tarballs in a folder of its own."""
    return {
        **django_settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        "tarballs": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tarballs},
        },
    }


@contextmanager
def world_built_once(django_db_blocker, tmp_path_factory):
    """Inside: a transaction rolled back after the module's last test, fast password
    hashing, and the world's tarball folder. Yields the storages, which each test sets
    again (tests/conftest.py gives every test a tarball folder of its own)."""
    storages = world_storages(tmp_path_factory.mktemp("tarballs"))
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHERS, STORAGES=storages),
        transaction.atomic(),
    ):
        cache.clear()
        yield storages
        transaction.set_rollback(True)
