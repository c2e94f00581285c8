from celery import shared_task
from django.core.mail import send_mail

from accounts.services.web_login import web_logins_purge as _web_logins_purge


@shared_task
def web_logins_purge() -> int:
    return _web_logins_purge()


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def email_send(address: str, subject: str, body: str) -> None:
    send_mail(subject, body, None, [address])


@shared_task
def otp_challenges_purge() -> int:
    from accounts.second_factor import otp_challenges_purge as _purge

    return _purge()
