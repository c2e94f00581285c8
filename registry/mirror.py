"""A file mirror of public packuments and tarballs, for a front proxy to serve.

When `GATEHOUSE_MIRROR_DIR` is set, every write to a package ends (after commit, through
a Celery task) with its public documents and tarballs written under that folder:

    <dir>/<name>/index.json          full packument
    <dir>/<name>/index.corgi.json    abbreviated packument
    <dir>/<name>/-/<file>.tgz        tarballs of published versions

A restricted or unpublished package is removed from the mirror, so a proxy that serves
only what it finds there (and passes everything else to Gatehouse) never serves bytes
that need a credential. See bench/nginx.conf.
"""

import os
import shutil
import tempfile
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import transaction

from registry import tasks
from registry.blobs import tarball_storage
from registry.models import Blob, Package, Version

TEMPORARY_PREFIX = ".tmp-"
# Names per query when copying many tarballs at once (a first mirror of a long history):
# below every database's limit on query parameters.
COPY_BATCH = 500


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=TEMPORARY_PREFIX)
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def mirror_path(name: str) -> Path:
    root = Path(settings.GATEHOUSE_MIRROR_DIR).resolve()
    path = (root / name).resolve()
    if root not in path.parents:  # names are validated, but never write outside the mirror
        raise ValueError(f"refusing to mirror {name!r} outside {root}")
    return path


def mirror_schedule(package: Package) -> None:
    """After the caller's commit, bring the package's mirror in line (no-op without one).

    The task does the copying. A package that anyone could read until now may need a
    credential from now on, though, and the proxy serves whatever it finds: so its folder
    goes on commit, here, rather than whenever a worker gets to it. The task is queued all
    the same, to take away files a worker that read the package before the change may
    write after this removal.
    """
    if not settings.GATEHOUSE_MIRROR_DIR:
        return
    if package.is_restricted or package.unpublished_at is not None:
        transaction.on_commit(partial(mirror_remove, package.name))
    transaction.on_commit(partial(tasks.mirror_package.delay, package.pk))


def mirror_remove(name: str) -> None:
    shutil.rmtree(mirror_path(name), ignore_errors=True)


def mirror_package(package_id: int) -> None:
    """Bring the mirror of one package in line with the database; safe to run twice.

    Only the difference is written: the tarballs of versions published since the last
    run are copied, those of versions no longer published are deleted, and both documents
    are rewritten. A tarball already there is right, since a name@version is never reused.
    """
    package = Package.objects.select_related("packument").filter(pk=package_id).first()
    if package is None:
        return
    packument = getattr(package, "packument", None)
    if packument is None or package.is_restricted or package.unpublished_at is not None:
        mirror_remove(package.name)
        return
    folder = mirror_path(package.name)
    tarballs = folder / "-"
    # List before querying: a file another run copied is then for a version this query
    # sees as published, so it is never taken for a stale one.
    present = _tarballs_present(tarballs)
    published = package.versions.filter(state=Version.State.PUBLISHED)
    wanted = set(published.values_list("tarball_filename", flat=True))
    _tarballs_copy(published, tarballs, sorted(wanted - present))
    for stale in present - wanted:
        (tarballs / stale).unlink(missing_ok=True)
    # Documents last: a proxy must never hand out a packument naming a tarball not yet there.
    _write_atomically(folder / "index.corgi.json", bytes(packument.abbreviated))
    _write_atomically(folder / "index.json", bytes(packument.full))


def _tarballs_present(tarballs: Path) -> set[str]:
    """File names in the tarball folder, leaving out files other runs are still writing."""
    try:
        with os.scandir(tarballs) as entries:
            return {entry.name for entry in entries if not entry.name.startswith(TEMPORARY_PREFIX)}
    except FileNotFoundError:
        return set()


def _tarballs_copy(published, tarballs: Path, filenames: list[str]) -> None:
    storage = tarball_storage()
    for start in range(0, len(filenames), COPY_BATCH):
        batch = filenames[start : start + COPY_BATCH]
        rows = published.filter(tarball_filename__in=batch).values_list(
            "tarball_filename", "blob_id"
        )
        for filename, sha512 in rows:
            with storage.open(Blob.path_for(sha512), "rb") as source:
                _write_atomically(tarballs / filename, source.read())
