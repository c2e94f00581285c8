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
from pathlib import Path

from django.conf import settings

from registry.blobs import blob_open
from registry.models import Package, Version


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
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


def mirror_package(package_id: int) -> None:
    """Bring the mirror of one package in line with the database; safe to run twice."""
    package = Package.objects.select_related("packument").filter(pk=package_id).first()
    if package is None:
        return
    folder = mirror_path(package.name)
    packument = getattr(package, "packument", None)
    if packument is None or package.is_restricted or package.unpublished_at is not None:
        shutil.rmtree(folder, ignore_errors=True)
        return
    tarballs = folder / "-"
    published = package.versions.filter(state=Version.State.PUBLISHED).select_related("blob")
    wanted = set()
    for version in published:
        wanted.add(version.tarball_filename)
        target = tarballs / version.tarball_filename
        if not target.exists():
            with blob_open(version.blob) as source:
                _write_atomically(target, source.read())
    if tarballs.exists():
        for stale in tarballs.iterdir():
            if stale.name not in wanted:
                stale.unlink(missing_ok=True)
    # Documents last: a proxy must never hand out a packument naming a tarball not yet there.
    _write_atomically(folder / "index.corgi.json", bytes(packument.abbreviated))
    _write_atomically(folder / "index.json", bytes(packument.full))
