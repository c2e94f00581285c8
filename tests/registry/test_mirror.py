"""The file mirror a front proxy serves: public packages only, always consistent."""

import json
import os
from contextlib import contextmanager
from unittest.mock import patch

import pytest

from registry import mirror as mirror_module
from registry.mirror import mirror_package_task
from registry.models import Package
from tests.registry.helpers import publish, write

# The mirror is written after commit, so these tests need real transactions.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queued(monkeypatch) -> list:
    """Mirror tasks sent to a broker (none is running): the backstop after each write."""
    sent = []
    monkeypatch.setitem(mirror_package_task.app.conf, "task_always_eager", False)
    monkeypatch.setattr(mirror_package_task, "delay", sent.append)
    return sent


@pytest.fixture
def mirror(settings, tmp_path):
    settings.GATEHOUSE_MIRROR_DIR = str(tmp_path / "mirror")
    return tmp_path / "mirror"


def test_publish_mirrors_packuments_and_tarball(client, alice_token, mirror):
    assert publish(client, alice_token, "mirrored", "1.0.0").status_code == 201

    full = json.loads((mirror / "mirrored/index.json").read_text())
    corgi = json.loads((mirror / "mirrored/index.corgi.json").read_text())
    assert full["versions"]["1.0.0"]["dist"]["tarball"].endswith("/mirrored/-/mirrored-1.0.0.tgz")
    assert list(corgi["versions"]) == ["1.0.0"]
    served = client.get("/mirrored/-/mirrored-1.0.0.tgz")
    served_bytes = b"".join(served.streaming_content)
    assert (mirror / "mirrored/-/mirrored-1.0.0.tgz").read_bytes() == served_bytes
    assert (mirror / "mirrored/index.json").read_bytes() == client.get("/mirrored").content


def test_restricted_packages_are_never_mirrored(client, alice_token, mirror):
    assert publish(client, alice_token, "@alice/secret", "1.0.0").status_code == 201
    assert not (mirror / "@alice").exists()


def test_mirror_follows_dist_tags_and_unpublish(client, alice_token, mirror):
    publish(client, alice_token, "moving", "1.0.0")
    publish(client, alice_token, "moving", "1.1.0")
    assert (
        write(client, "put", "/-/package/moving/dist-tags/stable", alice_token, "1.0.0").status_code
        == 200
    )
    assert json.loads((mirror / "moving/index.json").read_text())["dist-tags"]["stable"] == "1.0.0"

    rev = client.get("/moving").json()["_rev"]
    assert write(client, "delete", f"/moving/-rev/{rev}", alice_token).status_code == 200
    assert not (mirror / "moving").exists()


def test_mirror_is_off_by_default(client, alice_token, tmp_path):
    publish(client, alice_token, "unmirrored", "1.0.0")
    assert not (tmp_path / "mirror").exists()


@contextmanager
def tarball_stats(mirror):
    """The mirrored tarball files something stat()s meanwhile: each one a per-version cost."""
    seen = []
    real_stat = os.stat
    root = str(mirror.resolve())

    def stat(path, *args, **kwargs):
        if isinstance(path, str | os.PathLike):
            name = os.fspath(path)
            if name.startswith(root) and name.endswith(".tgz"):
                seen.append(name)
        return real_stat(path, *args, **kwargs)

    with patch("os.stat", stat):
        yield seen


def inodes(folder) -> dict[str, int]:
    return {path.name: path.stat().st_ino for path in folder.iterdir()}


def test_a_publish_copies_only_its_own_tarball(client, alice_token, mirror):
    for minor in range(5):
        assert publish(client, alice_token, "long-lived", f"1.{minor}.0").status_code == 201
    tarballs = mirror / "long-lived/-"
    before = inodes(tarballs)

    with tarball_stats(mirror) as stats:
        assert publish(client, alice_token, "long-lived", "1.5.0").status_code == 201

    after = inodes(tarballs)
    assert set(after) == {f"long-lived-1.{minor}.0.tgz" for minor in range(6)}
    assert {name: after[name] for name in before} == before  # not rewritten
    assert stats == []  # one listing of the folder, no look at each earlier tarball
    assert "1.5.0" in json.loads((mirror / "long-lived/index.json").read_text())["versions"]


def test_unpublishing_a_version_removes_only_its_tarball(client, alice_token, mirror):
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        publish(client, alice_token, "pruned", version)
    tarballs = mirror / "pruned/-"
    # A file another run of the mirror is still writing, to rename into place.
    (tarballs / ".tmp-in-progress").write_bytes(b"partial")
    before = inodes(tarballs)
    document = client.get("/pruned").json()
    del document["versions"]["1.1.0"]

    response = write(client, "put", f"/pruned/-rev/{document['_rev']}", alice_token, document)

    assert response.status_code == 200, response.content
    assert inodes(tarballs) == {
        name: inode for name, inode in before.items() if name != "pruned-1.1.0.tgz"
    }
    assert list(json.loads((mirror / "pruned/index.json").read_text())["versions"]) == [
        "1.0.0",
        "2.0.0",
    ]


@pytest.mark.parametrize("change", ["restrict", "unpublish"])
def test_a_package_leaves_the_mirror_before_any_worker_runs(
    client, alice_codes, alice_token, mirror, queued, change
):
    publish(client, alice_token, "@alice/opened", "1.0.0", access="public")
    assert (mirror / "@alice/opened/-/opened-1.0.0.tgz").exists()
    queued.clear()

    if change == "restrict":  # npm access set status=private
        body = {"access": "restricted"}
        path = "/-/package/@alice/opened/access"
        response = write(client, "post", path, alice_token, body, otp=alice_codes())
    else:
        rev = client.get("/@alice/opened").json()["_rev"]
        response = write(client, "delete", f"/@alice/opened/-rev/{rev}", alice_token)

    assert response.status_code == 200, response.content
    assert not (mirror / "@alice/opened").exists()
    assert queued == [Package.objects.get(name="@alice/opened").pk]  # the task still runs


def test_a_new_version_is_mirrored_before_any_worker_runs(client, alice_token, mirror, queued):
    publish(client, alice_token, "fresh", "1.0.0")
    queued.clear()

    assert publish(client, alice_token, "fresh", "1.1.0").status_code == 201

    corgi = json.loads((mirror / "fresh/index.corgi.json").read_text())
    assert list(corgi["versions"]) == ["1.0.0", "1.1.0"]
    assert (mirror / "fresh/-/fresh-1.1.0.tgz").exists()
    assert queued == [Package.objects.get(name="fresh").pk]


def test_a_failed_mirror_write_leaves_the_publish_and_the_task(client, alice_token, mirror, queued):
    mirror.mkdir()
    (mirror / "blocked").write_text("a file where the package's folder should be")

    assert publish(client, alice_token, "blocked", "1.0.0").status_code == 201

    assert client.get("/blocked").status_code == 200
    assert queued == [Package.objects.get(name="blocked").pk]


def _nginx_etag(path) -> tuple[int, int]:
    """What nginx builds its ETag from: the mtime in whole seconds and the size."""
    status = os.stat(path)
    return int(status.st_mtime), status.st_size


def test_a_rewrite_of_equal_size_still_changes_the_proxy_etag(client, alice_token, mirror):
    publish(client, alice_token, "retag", "1.0.0")
    publish(client, alice_token, "retag", "1.1.0")
    corgi = mirror / "retag/index.corgi.json"
    tag = "/-/package/retag/dist-tags/stable"
    etags, bodies = [], []
    for version in ("1.0.0", "1.1.0", "1.0.0"):  # faster than a second, same sizes
        assert write(client, "put", tag, alice_token, version).status_code == 200
        etags.append(_nginx_etag(corgi))
        bodies.append(corgi.read_bytes())

    assert len({size for _, size in etags}) == 1 and len(set(bodies)) == 3
    assert len(set(etags)) == 3


def test_without_a_broker_the_writing_process_mirrors_once(
    client, alice_token, mirror, monkeypatch
):
    sent = []
    monkeypatch.setattr(mirror_package_task, "delay", sent.append)  # tasks run eagerly here

    assert publish(client, alice_token, "single", "1.0.0").status_code == 201

    assert (mirror / "single/index.json").exists() and sent == []


def test_a_package_restricted_while_its_mirror_is_written_leaves_no_files(
    client, alice_token, mirror, monkeypatch
):
    publish(client, alice_token, "@alice/racing", "1.0.0", access="public")
    package = Package.objects.get(name="@alice/racing")
    real_write = mirror_module._write_atomically

    def restricted_meanwhile(path, data, **kwargs):
        # Another request restricts the package and, at its commit, removes the folder.
        Package.objects.filter(pk=package.pk).update(access=Package.Access.RESTRICTED)
        mirror_module.mirror_remove(package.name)
        real_write(path, data, **kwargs)

    monkeypatch.setattr(mirror_module, "_write_atomically", restricted_meanwhile)
    mirror_module.mirror_package(package.pk)

    assert not (mirror / "@alice/racing").exists()
