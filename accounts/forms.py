from django import forms
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm
from django.urls import reverse

from accounts.actors import Actor
from accounts.notifications import notify
from accounts.services.profile import password_set
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
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class PasswordChangeForm(forms.Form):
    old = forms.CharField(
        label="Current password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new = forms.CharField(
        label="New password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )


class PasswordResetRequestForm(PasswordResetForm):
    """Django's reset form, with the email sent by Celery in Gatehouse's words."""

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
    """Sets the new password through the account service (event, notice)."""

    def save(self, commit=True):
        password_set(
            actor=Actor(user=self.user),
            user=self.user,
            new=self.cleaned_data["new_password1"],
            action="account:password-reset",
        )
        if commit:
            self.user.save(update_fields=["password"])
        return self.user
