"""Tasks go through a real broker to a real Celery worker (Redis here, as in production).

Most tests run tasks eagerly; this one proves the queued path: a publish commits, its
mirror task is enqueued on commit, and a worker consuming from Redis writes the files.
"""

import os
import socket
import time

import kombu.pools
import pytest
from celery.contrib.testing.worker import start_worker

from portal.celery import app
from tests.registry.helpers import publish

BROKER = os.environ.get("GATEHOUSE_TEST_BROKER_URL", "redis://127.0.0.1:6379/14")


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def real_worker():
    if not _redis_reachable():
        if os.environ.get("CI"):
            pytest.fail("Redis is not running on 127.0.0.1:6379; CI must start it")
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    previous = {key: app.conf[key] for key in ("task_always_eager", "broker_url")}
    app.conf.update(task_always_eager=False, broker_url=BROKER)
    _drop_connections()
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        app.conf.update(previous)
        _drop_connections()


def _drop_connections():
    """Forget connections opened under the previous broker setting: even eager tasks open
    a producer, so an earlier test leaves one pointing at Celery's default broker."""
    kombu.pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.mark.django_db(transaction=True)
def test_publish_is_mirrored_by_a_worker(client, alice_token, settings, tmp_path, real_worker):
    settings.GATEHOUSE_MIRROR_DIR = str(tmp_path / "mirror")
    assert publish(client, alice_token, "queued", "1.0.0").status_code == 201

    target = tmp_path / "mirror/queued/index.json"
    deadline = time.monotonic() + 20
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert target.exists(), "the worker did not run the mirror task"
