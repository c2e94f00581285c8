from celery import shared_task

from accounts.services.web_login import web_logins_purge as _web_logins_purge


@shared_task
def web_logins_purge() -> int:
    return _web_logins_purge()
