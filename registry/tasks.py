from celery import shared_task

from registry.blobs import blobs_collect as _blobs_collect


@shared_task
def blobs_collect() -> int:
    return _blobs_collect()


@shared_task
def mirror_package(package_id: int) -> None:
    from registry.mirror import mirror_package as _mirror_package

    _mirror_package(package_id)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def staged_release_mail(stage_id: str, event: str) -> int:
    from registry.notifications import staged_release_mail_send

    return staged_release_mail_send(stage_id, event)


@shared_task
def staged_releases_sweep() -> tuple[int, int]:
    from registry.services.stage import staged_releases_sweep as _sweep

    return _sweep()
