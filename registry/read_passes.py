"""Restricted reads without a query: passes for bearer tokens (see registry.read_cache).

The first read of a restricted package with a token authenticates and authorizes it the
usual way (registry.api.reads, registry.authz). When that read is allowed, the token gets
a pass for the package, and its later reads check the pass in memory instead: the token
must still be unexpired and used from an address it allows, exactly as
`token_authenticate` checks it. Its last use is still recorded, at most once a minute per
process and address.

A pass is only ever a yes, so granting access needs no announcement. Anything that can
take read access away (revoking a token, deactivating a person, removing a maintainer, a
member, a team member or a grant, changing a role) withdraws every pass in every process:
the receivers below announce ACCESS_CHANGED inside the transaction that made the change.
Such changes are rare next to reads, so dropping all passes is cheaper than tracking
which ones they touch.
"""

import time

from django.apps import apps
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from accounts.exceptions import InvalidToken
from accounts.secrets import secret_hash
from accounts.services.tokens import LAST_USED_PRECISION, token_limits_check, token_use_record
from registry.read_cache import ACCESS_CHANGED, ReaderPass, cache, read_cache_announce


def _token_hash(request) -> str | None:
    scheme, _, secret = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret_hash(secret.strip())


def reader_pass_allows(request, name: str, ip: str | None) -> bool:
    """Whether the request's bearer token holds a pass to read `name` that still holds."""
    token_hash = _token_hash(request)
    held = cache.pass_get(token_hash, name) if token_hash else None
    if held is None:
        return False
    now = timezone.now()
    try:
        token_limits_check(expires_at=held.expires_at, cidrs=held.cidrs, ip=ip, now=now)
    except InvalidToken:
        return False  # the full path refuses it, with the reason
    clock = time.monotonic()
    if held.noted_ip != ip or clock - held.noted_at >= LAST_USED_PRECISION.total_seconds():
        token_use_record(held.token_id, ip=ip, now=now)
        held.noted_ip, held.noted_at = ip, clock
    return True


def reader_pass_grant(request, name: str, epoch: int) -> None:
    """After an allowed read of restricted `name`: give the request's bearer token a pass."""
    actor = getattr(request, "_gatehouse_actor", None)
    token = getattr(actor, "token", None)
    token_hash = _token_hash(request)
    if token is None or token_hash is None or token.token_hash != token_hash:
        return  # anonymous, or a password (never remembered)
    clock = time.monotonic()
    held = ReaderPass(
        token_id=token.pk,
        expires_at=token.expires_at,
        cidrs=tuple(token.cidr_whitelist or ()),
        noted_ip=actor.ip,  # token_authenticate has just recorded this use
        noted_at=clock,
        stored_at=clock,
    )
    cache.pass_put(token_hash, name, held, epoch)


def _access_changed(sender, instance=None, created=False, update_fields=None, **kwargs):
    if created:
        return  # a new row can only grant access
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # a person logging in changes nothing about what their tokens may read
    read_cache_announce(ACCESS_CHANGED)


def read_passes_connect() -> None:
    """Withdraw passes whenever a row that decides read access changes or goes."""
    for label in (
        "accounts.User",
        "accounts.Token",
        "registry.Org",
        "registry.Membership",
        "registry.Team",
        "registry.TeamMember",
        "registry.Maintainer",
        "registry.TeamGrant",
    ):
        model = apps.get_model(label)
        post_save.connect(_access_changed, sender=model, dispatch_uid=f"read-passes-save-{label}")
        post_delete.connect(
            _access_changed, sender=model, dispatch_uid=f"read-passes-delete-{label}"
        )
