"""Portal pages for signing in and for confirming an `npm login` started at the CLI."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login, logout
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.actors import Actor
from accounts.forms import LoginForm, SignupForm
from accounts.services.login import SECOND_FACTOR, login_password_step
from accounts.services.users import user_create
from accounts.services.web_login import (
    web_login_confirm,
    web_login_factor_is_fresh,
    web_login_pending,
)
from accounts.sudo import session_mark_verified, sudo_is_fresh
from accounts.views.common import next_url, portal_actor
from portal.errors import DomainError


@require_http_methods(["GET", "POST"])
def login_view(request):
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            step = login_password_step(request, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            if step == SECOND_FACTOR:
                query = urlencode({"next": next_url(request, "")})
                return redirect(f"{reverse('accounts:login-verify')}?{query}")
            return redirect(next_url(request))
    return render(request, "accounts/login.html", {"form": form, "next": next_url(request, "")})


@require_http_methods(["GET", "POST"])
def signup_view(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_create(actor=Actor.anonymous(request), **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            # The password was just chosen: sudo mode, without a second factor.
            session_mark_verified(request, by_factor=False)
            return redirect(next_url(request))
    return render(request, "accounts/signup.html", {"form": form, "next": next_url(request, "")})


@require_POST
def logout_view(request):
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect("home")


@require_http_methods(["GET", "POST"])
def cli_login(request, login_id):
    try:
        pending = web_login_pending(str(login_id))
    except DomainError as exc:
        return render(request, "accounts/cli_login.html", {"error": exc.message}, status=404)
    if not request.user.is_authenticated:
        # `npm adduser` sends people to create an account; `npm login` to sign in.
        target = "accounts:signup" if pending.create_account else "accounts:login"
        query = urlencode({"next": request.get_full_path()})
        return redirect(f"{reverse(target)}?{query}")
    if not _may_confirm_now(request):
        query = urlencode({"next": request.get_full_path()})
        return redirect(f"{reverse('accounts:sudo')}?{query}")
    if request.method == "POST":
        try:
            web_login_confirm(actor=portal_actor(request), login=pending)
        except DomainError as exc:
            return render(request, "accounts/cli_login.html", {"error": exc.message}, status=409)
        return render(request, "accounts/cli_login_done.html")
    return render(request, "accounts/cli_login.html", {"pending": pending})


def _may_confirm_now(request) -> bool:
    """Handing the CLI a token is as sensitive as any change to the account: sudo mode, and
    for a person with a second factor, that factor passed within sudo mode's window."""
    if not sudo_is_fresh(request):
        return False
    return not request.user.has_two_factor or web_login_factor_is_fresh(portal_actor(request))
