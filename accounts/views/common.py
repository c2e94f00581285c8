"""Helpers every portal view of the accounts app uses."""

from dataclasses import replace

from django.conf import settings
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.actors import Actor
from accounts.sudo import session_factor_at


def portal_actor(request, *, key_proof: str = "") -> Actor:
    """The signed-in person, with the proof of a second factor their session holds, and
    `key_proof`: the operation a security-key assertion on this request was bound to."""
    if not request.user.is_authenticated:
        return Actor.for_request(request, None)
    actor = Actor.for_request(request, request.user)
    return replace(actor, session_factor_at=session_factor_at(request), key_proof=key_proof)


def next_url(request, default: str = settings.LOGIN_REDIRECT_URL):
    """The local page to continue to (`next`): a path on this site. Anything else (another
    site, a view name, a path with control characters or of absurd length) gives
    `default`, so that a redirect to it can neither leave the site nor fail."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if (
        target.startswith("/")
        and len(target) <= 2000
        and target.isprintable()
        and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure())
    ):
        return target
    return default
