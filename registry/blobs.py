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
def blob_cleanup():
    """Around a transaction that stores blobs: if it fails (even at commit), the files
    it wrote go too, so a refused publish leaves nothing on disk.

    Yields the list `blob_store` records newly written blobs in.
    """
    written: list[Blob] = []
    try:
        yield written
    except BaseException:
        storage = tarball_storage()
        for blob in written:
            # Keep the file if another transaction committed a row for the same bytes.
            if not Blob.objects.filter(pk=blob.pk).exists():
                storage.delete(blob.path)
        raise


def blob_store(data: bytes, sha512_hex: str, *, cleanup: list) -> Blob:
    """The Blob row for `data`, writing the file if it is new (inside a transaction).

    Creating the row first serialises two writers of the same bytes on its primary key,
    so the one that writes the file is the one that owns the row.
    """
    blob = Blob.objects.filter(pk=sha512_hex).first()
    if blob is None:
        blob = Blob.objects.create(sha512=sha512_hex, size=len(data))
    storage = tarball_storage()
    if not storage.exists(blob.path):
        storage.save(blob.path, ContentFile(data))
        cleanup.append(blob)
    return blob


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
