from celery import shared_task

from registry.blobs import blobs_collect as _blobs_collect


@shared_task
def blobs_collect() -> int:
    return _blobs_collect()


@shared_task
def mirror_package(package_id: int) -> None:
    from registry.mirror import mirror_package as _mirror_package

    _mirror_package(package_id)
