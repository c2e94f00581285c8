"""Several web processes on a per-process cache would not share rate limits: refused."""

import subprocess
import sys
from pathlib import Path

from django.core.checks import run_checks

ROOT = Path(__file__).resolve().parent.parent.parent
LOCAL = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/0",
    }
}


def _errors() -> list[str]:
    return [message.id for message in run_checks() if message.is_serious()]


def test_several_workers_on_a_per_process_cache_are_an_error(settings):
    settings.DEBUG, settings.GATEHOUSE_WORKERS, settings.CACHES = False, 4, LOCAL

    assert "accounts.E001" in _errors()


def test_one_worker_a_shared_cache_or_debug_pass(settings):
    for debug, workers, caches in [(False, 1, LOCAL), (False, 4, REDIS), (True, 4, LOCAL)]:
        settings.DEBUG, settings.GATEHOUSE_WORKERS, settings.CACHES = debug, workers, caches

        assert "accounts.E001" not in _errors()


def test_the_server_refuses_to_start_with_web_concurrency_and_no_cache_url(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "GATEHOUSE_VAR_DIR": str(tmp_path), "WEB_CONCURRENCY": "3"},
        capture_output=True,
        text=True,
    )

    assert result.returncode != 0
    assert "accounts.E001" in result.stderr
    assert "GATEHOUSE_WORKERS is 3" in result.stderr and "CACHE_URL" in result.stderr
