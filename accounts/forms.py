from django import forms
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm
from django.urls import reverse

from accounts.actors import Actor
from accounts.notifications import notify
from accounts.services.profile import password_reset
from portal.links import registry_url


class LoginForm(forms.Form):
    username = forms.CharField(
        max_length=214,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class SignupForm(forms.Form):
    username = forms.CharField(
        max_length=214, widget=forms.TextInput(attrs={"autocomplete": "username"})
    )
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))


class EmailChangeForm(forms.Form):
    email = forms.EmailField(
        label="New address", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        label="Current password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class PasswordChangeForm(forms.Form):
    old = forms.CharField(
        label="Current password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new = forms.CharField(
        label="New password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )


class PasswordResetRequestForm(PasswordResetForm):
    """Django's reset form, with the email sent by Celery in Gatehouse's words, and only
    to a confirmed address. The page says the same whoever asks, so it tells nobody which
    addresses have accounts."""

    def get_users(self, email):
        return (user for user in super().get_users(email) if user.email_verified)

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        url = registry_url(
            reverse("accounts:password-reset-confirm", args=[context["uid"], context["token"]])
        )
        notify(context["user"], "password_reset", to=to_email, url=url)


class PasswordResetSetForm(SetPasswordForm):
    """Sets the new password through the account service, which revokes every token and
    ends every session of the account."""

    def __init__(self, user, *args, actor: Actor | None = None, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.actor = actor or Actor(user=user)

    def save(self, commit=True):
        password_reset(actor=self.actor, user=self.user, new=self.cleaned_data["new_password1"])
        return self.user
