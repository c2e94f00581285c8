"""A package's settings (publishing policy) and its security history."""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.second_factor import OTPRequired
from accounts.sudo import sudo_required
from accounts.views.common import portal_actor
from portal.errors import DomainError
from registry.authz import Action, decide
from registry.services.common import package_for
from registry.services.package_settings import MAX_APPROVALS, package_settings_update

MFA_CHOICES = [
    ("none", "No second factor required to publish"),
    ("publish", "A second factor for every publish; no token may bypass it"),
    ("automation", "A second factor for every publish, except tokens made to bypass it"),
]


class PackageSettingsForm(forms.Form):
    access = forms.ChoiceField(
        choices=[("public", "public"), ("restricted", "restricted (scoped only)")]
    )
    mfa = forms.ChoiceField(
        choices=MFA_CHOICES, widget=forms.RadioSelect, label="Two-factor for publishing"
    )
    require_staged = forms.BooleanField(
        required=False, label="Every release must be staged and approved"
    )
    approvals_required = forms.IntegerField(
        min_value=1, max_value=MAX_APPROVALS, label="Approvals required"
    )
    exclude_stager = forms.BooleanField(
        required=False, label="The person who staged a release may not approve it"
    )

    @classmethod
    def for_package(cls, package, data=None):
        mfa = "none"
        if package.publish_requires_tfa:
            mfa = "automation" if package.automation_token_overrides_tfa else "publish"
        initial = {
            "access": package.access,
            "mfa": mfa,
            "require_staged": package.require_staged,
            "approvals_required": package.approvals_required,
            "exclude_stager": package.exclude_stager,
        }
        return cls(data, initial=initial)

    def changes(self) -> dict:
        data = dict(self.cleaned_data)
        mfa = data.pop("mfa")
        data["publish_requires_tfa"] = mfa != "none"
        data["automation_token_overrides_tfa"] = mfa == "automation"
        return data


def _package(request, name: str, action: Action):
    try:
        return package_for(portal_actor(request), name, action)
    except DomainError:
        raise Http404(f"{name} is not in this registry, or you may not change it.") from None


@login_required
@sudo_required
@require_http_methods(["GET", "POST"])
def settings_page(request, name: str):
    package = _package(request, name, Action.REVIEW)
    form = PackageSettingsForm.for_package(package, request.POST or None)
    decision = decide(portal_actor(request), Action.SETTINGS, package=package)
    if not decision.allowed:
        # Maintainers see the rules; only who may change them (and can prove it) may save.
        messages.error(request, decision.reason)
    elif request.method == "POST" and form.is_valid():
        try:
            package_settings_update(actor=portal_actor(request), name=name, changes=form.changes())
        except OTPRequired:
            # The second factor of sudo mode ran out while the form was open: confirm again.
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('accounts:sudo')}?{query}")
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Saved the package settings.")
            return redirect("registry:package-settings", name=name)
    context = {"package": package, "form": form, "may_change": decision.allowed}
    return render(request, "registry/package_settings.html", context)


@login_required
def history(request, name: str):
    package = _package(request, name, Action.REVIEW)
    events = package.events.select_related("actor")[:200]
    return render(request, "registry/package_history.html", {"package": package, "events": events})
