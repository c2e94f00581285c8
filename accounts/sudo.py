"""Whether a browser session has passed its second factor, and how recently (sudo mode).

Signing in, and re-authenticating for a sensitive page, stamp the session (with the
second factor, for people who have one); sensitive pages need a stamp younger than
GATEHOUSE_SUDO_SECONDS.
"""

import time
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

SESSION_KEY = "gatehouse_2fa_at"
FACTOR_KEY = "gatehouse_factor_at"


def session_mark_verified(request, *, by_factor: bool) -> None:
    """Stamp sudo mode. `by_factor`: the person just used a second factor (not a password),
    which is the proof governance asks of a portal session (registry.authz)."""
    now = int(time.time())
    request.session[SESSION_KEY] = now
    if by_factor:
        request.session[FACTOR_KEY] = now
    else:
        request.session.pop(FACTOR_KEY, None)


def session_factor_at(request) -> int | None:
    """When this session last passed a second factor, if ever."""
    session = getattr(request, "session", None)
    return session.get(FACTOR_KEY) if session is not None else None


def session_verified_at(request) -> int | None:
    return request.session.get(SESSION_KEY)


def sudo_is_fresh(request) -> bool:
    stamp = session_verified_at(request)
    return stamp is not None and time.time() - stamp < settings.GATEHOUSE_SUDO_SECONDS


def sudo_required(view):
    """A fresh re-authentication within the last few minutes, or a detour via the sudo
    page: a second factor for people who have one, the password for those who do not."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not sudo_is_fresh(request):
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('accounts:sudo')}?{query}")
        return view(request, *args, **kwargs)

    return wrapped
