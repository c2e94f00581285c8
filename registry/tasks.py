"""Every Celery task of the registry, where Celery's autodiscovery finds them.

Tasks are thin: they take ids and call a service. A task that a service enqueues is
defined beside the code that enqueues it (`mirror_package_task` in registry.mirror,
`staged_release_mail_task` in registry.notifications), so services never import this
module and this module imports them without a loop.
"""

from celery import shared_task

from registry.blobs import blobs_collect as _blobs_collect
from registry.mirror import mirror_package_task
from registry.notifications import staged_release_mail_task
from registry.services.stage import staged_releases_sweep as _staged_releases_sweep

__all__ = [
    "blobs_collect",
    "mirror_package_task",
    "staged_release_mail_task",
    "staged_releases_sweep",
]


@shared_task
def blobs_collect() -> int:
    return _blobs_collect()


@shared_task
def staged_releases_sweep() -> tuple[int, int]:
    return _staged_releases_sweep()
