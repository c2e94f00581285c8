"""Portal pages for the account itself: email, password, verification, password reset."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.actors import Actor
from accounts.forms import (
    EmailChangeForm,
    PasswordChangeForm,
    PasswordResetRequestForm,
    PasswordResetSetForm,
)
from accounts.services.email_verification import (
    email_to_verify,
    email_verification_send,
    email_verify,
)
from accounts.services.profile import email_change, password_change
from accounts.sudo import sudo_required
from accounts.views.common import portal_actor
from portal.errors import DomainError


@login_required
@sudo_required
@require_http_methods(["GET", "POST"])
def account_settings(request):
    user = request.user
    email_form = EmailChangeForm(
        request.POST if request.POST.get("form") == "email" else None, initial={"email": user.email}
    )
    password_form = PasswordChangeForm(
        request.POST if request.POST.get("form") == "password" else None
    )
    if request.method == "POST":
        try:
            if email_form.is_bound and email_form.is_valid():
                email_change(actor=portal_actor(request), user=user, **email_form.cleaned_data)
                messages.success(request, _email_change_message(user))
                return redirect("accounts:settings")
            if password_form.is_bound and password_form.is_valid():
                password_change(
                    actor=portal_actor(request), user=user, **password_form.cleaned_data
                )
                update_session_auth_hash(request, user)  # stay signed in here
                messages.success(request, "Your password was changed.")
                return redirect("accounts:settings")
        except DomainError as exc:
            messages.error(request, exc.message)
    context = {"email_form": email_form, "password_form": password_form}
    return render(request, "accounts/settings.html", context)


def _email_change_message(user) -> str:
    if not user.pending_email:
        return f"Your address stays {user.email}."
    return (
        f"We sent a confirmation link to {user.pending_email}. Your address stays "
        f"{user.email} until you open it; we told {user.email} too."
    )


def email_verify_view(request, token: str):
    try:
        email_verify(actor=portal_actor(request), token=token)
    except DomainError as exc:
        return render(request, "accounts/email_verified.html", {"error": exc.message}, status=400)
    return render(request, "accounts/email_verified.html")


@login_required
@require_POST
def email_verification_resend(request):
    address = email_to_verify(request.user)
    if address:
        email_verification_send(request.user)
        messages.success(request, f"We sent a new confirmation link to {address}.")
    return redirect("accounts:settings")


password_reset = auth_views.PasswordResetView.as_view(
    form_class=PasswordResetRequestForm,
    template_name="accounts/password_reset.html",
    success_url=reverse_lazy("accounts:password-reset-sent"),
)
password_reset_sent = auth_views.PasswordResetDoneView.as_view(
    template_name="accounts/password_reset_sent.html"
)


class PasswordResetConfirm(auth_views.PasswordResetConfirmView):
    """The reset is recorded with the address and client it came from."""

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "actor": Actor.for_request(self.request, self.user)}


password_reset_confirm = PasswordResetConfirm.as_view(
    form_class=PasswordResetSetForm,
    template_name="accounts/password_reset_confirm.html",
    success_url=reverse_lazy("accounts:password-reset-complete"),
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="accounts/password_reset_complete.html"
)
