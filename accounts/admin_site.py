"""The Django admin's site: staff only, each with a second factor that verified the
session (an authenticator app or a security key, at sign-in or at the sudo step).

The admin has no sign-in page of its own: people sign in through the portal, second
factor included. Staff without a factor are sent to enrol one; staff whose session was
verified otherwise (a recovery code, or before the factor existed) confirm it at the
sudo step with their app or key.

INSTALLED_APPS names `AdminConfig` below, so this module is imported before the models
are: it imports none.
"""

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


class AdminConfig(DjangoAdminConfig):
    default_site = "accounts.admin_site.StaffAdminSite"


def staff_session_verified(request) -> bool:
    """Whether the session's user holds a second factor and the session was verified
    with one (django-otp's record, which goes when the factor goes)."""
    user = request.user
    return user.is_authenticated and user.has_two_factor and user.is_verified()


class StaffAdminSite(admin.AdminSite):
    def has_permission(self, request):
        return super().has_permission(request) and staff_session_verified(request)

    def login(self, request, extra_context=None):
        target = _next(request)
        if self.has_permission(request):
            return redirect(target)
        user = request.user
        if not (user.is_active and user.is_staff):
            return redirect(f"{reverse('accounts:login')}?{urlencode({'next': target})}")
        if not user.has_two_factor:
            messages.info(request, "The admin needs two-factor authentication: add a factor here.")
            return redirect("accounts:security")
        messages.info(request, "Confirm it is you with your authenticator app or security key.")
        return redirect(f"{reverse('accounts:sudo')}?{urlencode({'next': target})}")


def _next(request) -> str:
    target = request.GET.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, request.is_secure()
    ):
        return target
    return reverse("admin:index")
