"""Helpers every portal view of the accounts app uses."""

from django.utils.http import url_has_allowed_host_and_scheme

from accounts.actors import Actor


def portal_actor(request) -> Actor:
    user = request.user if request.user.is_authenticated else None
    return Actor.for_request(request, user)


def next_url(request, default: str = "accounts:packages"):
    """The local page to continue to (`next`), never another site."""
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, request.is_secure()
    ):
        return target
    return default
