"""`npm login` in the browser: the CLI starts a login, the person confirms it in the
portal, and the CLI's next poll receives a fresh token, exactly once."""

import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import ratelimit
from accounts.actors import Actor
from accounts.events import event_record
from accounts.exceptions import WebLoginExpired
from accounts.models import WebLogin
from accounts.secrets import secret_generate, secret_hash
from accounts.services.cli_login import cli_login_token
from portal.errors import PermissionDenied


def web_login_start(*, actor: Actor, create_account: bool) -> tuple[WebLogin, str]:
    """Start a login; returns it and the secret the CLI will poll with."""
    ratelimit.ratelimit_attempt("web-login:ip", actor.ip)
    done_secret = secret_generate(prefix="", length=43)
    login = WebLogin.objects.create(
        done_hash=secret_hash(done_secret),
        create_account=create_account,
        requested_ip=actor.ip,
        requested_agent=actor.user_agent,
        expires_at=timezone.now() + timedelta(seconds=settings.GATEHOUSE_WEB_LOGIN_TTL_SECONDS),
    )
    return login, done_secret


def web_login_pending(login_id: str) -> WebLogin:
    try:
        parsed = uuid.UUID(login_id)
    except ValueError:
        parsed = None
    login = (
        WebLogin.objects.filter(pk=parsed, confirmed_at__isnull=True).first() if parsed else None
    )
    if login is None or login.expires_at <= timezone.now():
        raise WebLoginExpired(
            "This login link has expired or was already used. Run `npm login` again."
        )
    return login


def web_login_factor_is_fresh(actor: Actor) -> bool:
    """Whether the confirming session passed its second factor within sudo mode's window."""
    stamp = actor.session_factor_at
    return stamp is not None and time.time() - stamp < settings.GATEHOUSE_SUDO_SECONDS


def web_login_confirm(*, actor: Actor, login: WebLogin) -> None:
    """The person signed in to the portal lets the CLI that started `login` act as them.
    A person with a second factor must have passed it within sudo mode's window."""
    if actor.user.has_two_factor and not web_login_factor_is_fresh(actor):
        raise PermissionDenied(
            "Confirm it is you with your second factor first, then allow the npm CLI."
        )
    with transaction.atomic():
        updated = WebLogin.objects.filter(pk=login.pk, confirmed_at__isnull=True).update(
            user=actor.user, confirmed_at=timezone.now()
        )
        if not updated:
            raise WebLoginExpired("This login was already confirmed. Run `npm login` again.")
        event_record(
            "login:cli-confirmed",
            actor=actor,
            details={"requested_ip": login.requested_ip, "agent": login.requested_agent},
        )


def web_login_poll(*, actor: Actor, done_secret: str) -> str | None:
    """The token for a confirmed login (once), None while it waits, or WebLoginExpired."""
    login = WebLogin.objects.filter(done_hash=secret_hash(done_secret)).first()
    if login is None or login.expires_at <= timezone.now():
        raise WebLoginExpired("This login has expired or was cancelled. Run `npm login` again.")
    if login.confirmed_at is None:
        return None
    with transaction.atomic():
        # Delete first: of two racing polls only one gets a row count of 1 and a token.
        deleted, _ = WebLogin.objects.filter(pk=login.pk).delete()
        if not deleted:
            raise WebLoginExpired("This login was already completed. Run `npm login` again.")
        # The person confirmed in a portal session that passed their second factor.
        return cli_login_token(actor=actor, user=login.user, via="web")


def web_logins_purge() -> int:
    deleted, _ = WebLogin.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
