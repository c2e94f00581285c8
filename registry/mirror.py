"""A file mirror of public packuments and tarballs, for a front proxy to serve.

When `GATEHOUSE_MIRROR_DIR` is set, every write to a package ends (at commit, in the
writing process, and again from a Celery task) with its public documents and tarballs
written under that folder:

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

from celery import shared_task
from django.conf import settings
from django.db import transaction

from registry.blobs import tarball_storage
from registry.models import Blob, Package, Version

TEMPORARY_PREFIX = ".tmp-"
# Names per query when copying many tarballs at once (a first mirror of a long history):
# below every database's limit on query parameters.
COPY_BATCH = 500


def _write_atomically(path: Path, data: bytes, *, replacing: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=TEMPORARY_PREFIX)
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.chmod(temporary, 0o644)
    if replacing:
        _advance_mtime(temporary, path)
    os.replace(temporary, path)


def _advance_mtime(new: str, old: Path) -> None:
    """Give a rewritten document a later whole-second mtime than the one it replaces.

    nginx's ETag is the file's mtime in seconds and its size, so two rewrites of equal size
    within one second (a dist-tag moved to a version of the same length) would keep the
    ETag, and a client revalidating the old document would be told it is still current.
    """
    try:
        previous = int(os.stat(old).st_mtime)
    except FileNotFoundError:
        return
    now = int(os.stat(new).st_mtime)
    if now <= previous:
        os.utime(new, (previous + 1, previous + 1))


def mirror_path(name: str) -> Path:
    root = Path(settings.GATEHOUSE_MIRROR_DIR).resolve()
    path = (root / name).resolve()
    if root not in path.parents:  # names are validated, but never write outside the mirror
        raise ValueError(f"refusing to mirror {name!r} outside {root}")
    return path


def mirror_schedule(package: Package) -> None:
    """After the caller's commit, bring the package's mirror in line (no-op without one).

    The writing process does it at once, at commit: the proxy serves whatever it finds, so
    a package that needs a credential from now on must leave the folder before anyone else
    reads it, and an `npm install` right after `npm publish` should find the new version.
    The task is queued all the same. Two processes writing one package can finish in
    either order, leaving the older documents, and the task (run after both) puts the
    latest back; it is also the retry when the immediate write fails.
    """
    if not settings.GATEHOUSE_MIRROR_DIR:
        return
    package_id = package.pk

    def mirror_at_commit():  # not a partial: a robust callback's failure is logged by name
        mirror_package(package_id)

    # robust: the write is committed whatever happens to its mirror; the task follows.
    transaction.on_commit(mirror_at_commit, robust=True)
    if not mirror_package_task.app.conf.task_always_eager:
        # Eager tasks (no broker: one process) would only do the same write again.
        transaction.on_commit(partial(mirror_package_task.delay, package_id))


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
    _write_atomically(folder / "index.corgi.json", bytes(packument.abbreviated), replacing=True)
    _write_atomically(folder / "index.json", bytes(packument.full), replacing=True)
    # A change that restricts the package removes its folder at that change's commit. If
    # the commit fell while this run was writing, the files just written must go again;
    # if it falls after this check, its own removal comes after these writes.
    still_public = Package.objects.filter(
        pk=package_id, access=Package.Access.PUBLIC, unpublished_at__isnull=True
    )
    if not still_public.exists():
        mirror_remove(package.name)


# Defined beside `mirror_schedule`, which enqueues it, so this module need not import
# registry.tasks; its name is the one the queue has always known it by.
@shared_task(name="registry.tasks.mirror_package")
def mirror_package_task(package_id: int) -> None:
    mirror_package(package_id)


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
