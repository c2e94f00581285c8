"""Tarball bytes, content-addressed by sha512, through the `tarballs` storage backend.

Local disk by default; any S3-compatible store through django-storages. A blob is
written once, shared by every version with the same bytes, and deleted only by the
periodic `blobs_collect` task when nothing references it.
"""

from contextlib import contextmanager

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db.models import Exists, OuterRef

from registry.models import Blob, Version


def tarball_storage():
    return storages["tarballs"]


@contextmanager
def blob_writing(data: bytes, sha512_hex: str):
    """Yield a Blob row for `data`; remove a newly written file if the block fails.

    Use inside the transaction that references the blob: when the transaction rolls back,
    the file this call wrote goes with it, so a refused publish leaves nothing on disk.
    """
    blob = Blob.objects.filter(pk=sha512_hex).first()
    wrote_file = False
    if blob is None:
        blob = Blob.objects.create(sha512=sha512_hex, size=len(data))
    storage = tarball_storage()
    if not storage.exists(blob.path):
        storage.save(blob.path, ContentFile(data))
        wrote_file = True
    try:
        yield blob
    except BaseException:
        if wrote_file:
            storage.delete(blob.path)
        raise


def blob_open(blob: Blob):
    return tarball_storage().open(blob.path, "rb")


def blob_read(blob: Blob) -> bytes:
    with blob_open(blob) as handle:
        return handle.read()


def blobs_collect() -> int:
    """Delete blobs no version references; returns how many went."""
    unreferenced = Blob.objects.filter(~Exists(Version.objects.filter(blob=OuterRef("pk"))))
    storage = tarball_storage()
    removed = 0
    for blob in unreferenced.iterator():
        storage.delete(blob.path)
        blob.delete()
        removed += 1
    return removed
