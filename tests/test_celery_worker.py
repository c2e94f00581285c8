"""Tasks go through a real broker to a real Celery worker (Redis here, as in production).

Most tests run tasks eagerly; this one proves the queued path: a publish commits, its
mirror task is enqueued on commit, and a worker consuming from Redis writes the files
(`real_worker`, in tests/conftest.py).
"""

import time

import pytest

from tests.registry.helpers import publish


@pytest.mark.django_db(transaction=True)
def test_publish_is_mirrored_by_a_worker(client, alice_token, settings, tmp_path, real_worker):
    settings.GATEHOUSE_MIRROR_DIR = str(tmp_path / "mirror")
    assert publish(client, alice_token, "queued", "1.0.0").status_code == 201

    target = tmp_path / "mirror/queued/index.json"
    deadline = time.monotonic() + 20
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert target.exists(), "the worker did not run the mirror task"
