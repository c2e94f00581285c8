"""Every Celery task of accounts, where Celery's autodiscovery finds them.

Tasks are thin: they take ids and call a service. A task that a service enqueues is
defined beside it (`email_send` in accounts.notifications), so services never import this
module and this module imports them without a loop.
"""

from celery import shared_task

from accounts.notifications import email_send
from accounts.second_factor import otp_challenges_purge as _otp_challenges_purge
from accounts.services.web_login import web_logins_purge as _web_logins_purge

__all__ = ["email_send", "otp_challenges_purge", "web_logins_purge"]


@shared_task
def web_logins_purge() -> int:
    return _web_logins_purge()


@shared_task
def otp_challenges_purge() -> int:
    return _otp_challenges_purge()
