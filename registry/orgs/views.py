"""Portal pages for organizations: members, invitations, teams, packages, policies,
compliance and history. Every page fetches and authorizes its org through `org_for`
(an org you are not in is a 404); every write is a POST into `registry.orgs.services`."""

from functools import wraps
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.validators import validate_email
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.second_factor import OTPRequired
from accounts.sudo import sudo_required
from accounts.views.common import portal_actor
from portal.errors import DomainError, NotFound
from registry.authz import (
    Action,
    OrgAction,
    decide,
    decide_org,
    may_change_member,
    packages_visible_to,
)
from registry.orgs import services as orgs
from registry.orgs.compliance import org_compliance
from registry.orgs.models import Invitation, Membership, Org
from registry.orgs.team_grants import (
    PERMISSIONS,
    team_grant_remove,
    team_grant_set,
    team_grants_visible,
)
from registry.policy import package_policy

Role = Membership.Role


# Forms ----------------------------------------------------------------------------------


class OrgCreateForm(forms.Form):
    name = forms.CharField(max_length=214, help_text="Your packages will be named @name/…")
    description = forms.CharField(max_length=300, required=False)


class InviteForm(forms.Form):
    invitee = forms.CharField(max_length=254, label="Username or email address")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)

    def invitation(self) -> dict:
        invitee, role = self.cleaned_data["invitee"].strip(), self.cleaned_data["role"]
        return (
            {"email": invitee, "role": role}
            if "@" in invitee
            else {"username": invitee, "role": role}
        )

    def clean_invitee(self):
        invitee = self.cleaned_data["invitee"].strip()
        if "@" in invitee:
            validate_email(invitee)
        return invitee


PUBLISHING_ACCESS = [
    (Org.PublishingAccess.ANY, "Anyone who may write, with a second factor or a token alone"),
    (
        Org.PublishingAccess.SECOND_FACTOR,
        "Every publish needs a second factor; a token alone cannot publish",
    ),
    (
        Org.PublishingAccess.STAGE_AUTOMATION,
        "Every publish needs a second factor; tokens and trusted publishers without one "
        "may only stage releases, for a person to approve",
    ),
]


class PolicyForm(forms.ModelForm):
    publishing_access = forms.ChoiceField(
        choices=PUBLISHING_ACCESS, widget=forms.RadioSelect, label="Who may publish directly"
    )

    class Meta:
        model = Org
        fields = orgs.POLICY_FIELDS
        labels = {
            "require_2fa": "Every member must use two-factor authentication",
            "require_staged": "Every release must be staged and approved",
            "approvals_required": "Approvals a staged release needs",
            "exclude_stager": "The person who staged a release may not approve it",
            "allow_remote": "Dependencies from remote URLs (tarball links)",
            "allow_git": "Dependencies from git repositories",
            "allow_file": "Dependencies on local files (file:…tgz)",
            "allow_directory": "Dependencies on local directories (file:../dir)",
            "max_token_days": "Longest lifetime of a token that writes the org's packages (days)",
        }
        help_texts = {
            "require_2fa": "Members without a second factor stay members, but cannot publish, "
            "stage, approve or change settings until they add one; invitations cannot be "
            "accepted without one. You need a second factor yourself to turn this on.",
            "require_staged": "Nobody publishes directly: releases are staged (npm stage publish), then "
            "a maintainer approves them on the review page with a second factor.",
            "approvals_required": "From 1 to 10 different people. A package may ask for more.",
            "exclude_stager": "Four eyes: someone other than the person whose account staged "
            "the release (by hand or with a token) must approve it.",
            "max_token_days": "Older or longer-lived tokens are refused for writes to the "
            "org's packages. Empty for no limit.",
        }


# Fetching and authorizing -----------------------------------------------------------


def org_page(action: OrgAction, *, post: OrgAction | None = None, refused: str = "orgs:org"):
    """Sign-in, then `org_for`: an outsider gets a 404, a member below the role the
    action needs gets a message on the page named `refused`. POST asks for `post`."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, org: str, *args, **kwargs):
            needed = post if post and request.method == "POST" else action
            try:
                found = orgs.org_for(portal_actor(request), org, needed)
            except NotFound:
                raise Http404(f"@{org} is not an organization you belong to.") from None
            except DomainError as exc:
                messages.error(request, exc.message)
                return redirect(refused, org=org.lower())
            return view(request, found, *args, **kwargs)

        return login_required(wrapped)

    return decorate


def _context(request, org: Org, **extra) -> dict:
    actor = portal_actor(request)
    role = org.memberships.filter(user=request.user).values_list("role", flat=True).first()
    return {
        "org": org,
        "role": role,
        "is_owner": role == Role.OWNER,
        "can_manage": decide_org(actor, OrgAction.MANAGE, org).allowed,
        "blocked_by_2fa": org.require_2fa and not request.user.has_two_factor,
        **extra,
    }


def _done(request, back: str, success: str, service, **kwargs):
    """Call one service as the signed-in person; a refusal becomes the error message on
    the page `back` (a URL) it returns to."""
    try:
        service(actor=portal_actor(request), **kwargs)
    except OTPRequired:
        # Every change to an org needs a fresh second factor: confirm it, then try again.
        messages.info(request, "Confirm it is you with your second factor, then do it again.")
        return redirect(f"{reverse('accounts:sudo')}?{urlencode({'next': back})}")
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return redirect(back)


def policy_summary(org: Org) -> list[str]:
    lines = [
        "Every member needs two-factor authentication."
        if org.require_2fa
        else "Two-factor authentication is up to each member.",
        f"Publishing: {dict(PUBLISHING_ACCESS)[org.publishing_access]}.",
    ]
    if org.require_staged:
        approvals = f"{org.approvals_required} approval{'s' if org.approvals_required > 1 else ''}"
        lines.append(f"Every release is staged and needs {approvals}.")
    else:
        lines.append("Releases may be published directly (staging optional).")
    if org.exclude_stager:
        lines.append("Whoever staged a release may not approve it.")
    refused = [
        label
        for flag, label in (
            ("allow_remote", "remote URL"),
            ("allow_git", "git"),
            ("allow_file", "file"),
            ("allow_directory", "directory"),
        )
        if not getattr(org, flag)
    ]
    if refused:
        lines.append(f"Refused dependency sources: {', '.join(refused)}.")
    if org.max_token_days:
        lines.append(f"Tokens that write live at most {org.max_token_days} days.")
    return lines


# My orgs, a new org, the overview ----------------------------------------------------


@login_required
def org_list(request):
    memberships = request.user.memberships.select_related("org").order_by("org__name")
    invitations = request.user.invitations.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("org", "invited_by")
    context = {"memberships": memberships, "invitations": invitations}
    return render(request, "orgs/list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def org_new(request):
    form = OrgCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            org = orgs.org_create(actor=portal_actor(request), **form.cleaned_data)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Created @{org.name}. You are its owner.")
            return redirect("orgs:org", org=org.name)
    return render(request, "orgs/new.html", {"form": form})


@org_page(OrgAction.READ)
def overview(request, org: Org):
    counts = {
        "members": org.memberships.count(),
        "teams": org.teams.count(),
        "packages": org.packages.filter(unpublished_at__isnull=True).count(),
    }
    context = _context(request, org, counts=counts, policies=policy_summary(org))
    return render(request, "orgs/overview.html", context)


# Members and invitations -------------------------------------------------------------


def _open_invitations(org: Org):
    return org.invitations.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("user", "invited_by")


@org_page(OrgAction.READ)
def members(request, org: Org):
    context = _context(request, org)
    memberships = org.memberships.select_related("user").order_by("user__username")
    actor = portal_actor(request)
    context["members"] = [
        (membership, may_change_member(actor, org, membership.role))
        for membership in sorted(memberships, key=lambda m: Role.values.index(m.role))
    ]
    if context["can_manage"]:
        context["invitations"] = _open_invitations(org)
        context["invite_form"] = InviteForm()
        owner_roles = may_change_member(actor, org, Role.OWNER)
        context["roles"] = Role.choices if owner_roles else Role.choices[1:]
    return render(request, "orgs/members.html", context)


def _members_url(org: Org) -> str:
    return reverse("orgs:org-members", args=[org.name])


@require_POST
@org_page(OrgAction.MANAGE, refused="orgs:org-members")
def member_role(request, org: Org, username: str):
    role = request.POST.get("role", "")
    success = f"{username} is now {role} of @{org.name}."
    return _done(
        request,
        _members_url(org),
        success,
        orgs.member_role_set,
        org=org,
        username=username,
        role=role,
    )


@require_POST
@org_page(OrgAction.MANAGE, refused="orgs:org-members")
def member_remove(request, org: Org, username: str):
    success = f"Removed {username} from @{org.name}."
    return _done(
        request, _members_url(org), success, orgs.member_remove, org=org, username=username
    )


@require_POST
@org_page(OrgAction.MANAGE, refused="orgs:org-members")
def invite(request, org: Org):
    form = InviteForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect(_members_url(org))
    success = (
        f"Invited {form.cleaned_data['invitee']} as {form.cleaned_data['role']}. The invitation "
        "is valid for a limited time; you can revoke it below."
    )
    return _done(
        request, _members_url(org), success, orgs.invitation_create, org=org, **form.invitation()
    )


@require_POST
@org_page(OrgAction.MANAGE, refused="orgs:org-members")
def invitation_revoke(request, org: Org, invitation_id):
    invitation = _open_invitations(org).filter(pk=invitation_id).first()
    if invitation is None:
        messages.error(request, "That invitation was already accepted, revoked or expired.")
        return redirect(_members_url(org))
    success = f"Revoked the invitation of {invitation.user or invitation.email}."
    return _done(request, _members_url(org), success, orgs.invitation_revoke, invitation=invitation)


# The invitee's page ---------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def invitation(request, invitation_id: str):
    key = request.POST.get("key") or request.GET.get("key", "")
    try:
        found = orgs.invitation_for(user=request.user, invitation_id=invitation_id, key=key)
    except DomainError as exc:
        messages.error(request, exc.message)
        return render(request, "orgs/invitation.html", {"gone": True}, status=404)
    if request.method == "POST":
        return _invitation_answer(request, found)
    context = {
        "invitation": found,
        "key": key,
        "blocked_by_2fa": found.org.require_2fa and not request.user.has_two_factor,
    }
    return render(request, "orgs/invitation.html", context)


def _invitation_answer(request, found: Invitation):
    actor = portal_actor(request)
    try:
        if request.POST.get("decision") == "accept":
            orgs.invitation_accept(actor=actor, invitation=found)
        else:
            orgs.invitation_decline(actor=actor, invitation=found)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(request.get_full_path())
    if request.POST.get("decision") == "accept":
        messages.success(request, f"Welcome to @{found.org.name}: you joined as {found.role}.")
        return redirect("orgs:org", org=found.org.name)
    messages.info(request, f"You declined the invitation to @{found.org.name}.")
    return redirect("orgs:orgs")


# Teams ---------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@org_page(OrgAction.READ, post=OrgAction.MANAGE, refused="orgs:org-teams")
def teams(request, org: Org):
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        description = request.POST.get("description", "")
        back = reverse("orgs:org-teams", args=[org.name])
        success = f"Created the team {name.lower()}."
        return _done(
            request, back, success, orgs.team_create, org=org, name=name, description=description
        )
    listed = org.teams.order_by("name").prefetch_related("members__user", "grants")
    return render(request, "orgs/teams.html", _context(request, org, teams=listed))


def _team(org: Org, name: str):
    try:
        return orgs.team_get(org, name)
    except NotFound:
        raise Http404(f"@{org.name} has no team {name}.") from None


@org_page(OrgAction.READ)
def team(request, org: Org, team: str):
    found = _team(org, team)
    in_team = found.members.select_related("user").order_by("user__username")
    others = org.memberships.exclude(user__team_memberships__team=found).select_related("user")
    grants = team_grants_visible(found, request.user)
    packages = (
        packages_visible_to(request.user, org.packages.all())
        .filter(unpublished_at__isnull=True)
        .order_by("name")
    )
    context = _context(
        request,
        org,
        team=found,
        team_members=in_team,
        others=others.order_by("user__username"),
        grants=grants,
        packages=packages,
        permissions=list(PERMISSIONS),
    )
    return render(request, "orgs/team.html", context)


def _team_done(request, org: Org, team: str, success: str, service, **kwargs):
    found = _team(org, team)
    back = reverse("orgs:org-team", args=[org.name, found.name])
    return _done(request, back, success, service, team=found, **kwargs)


@require_POST
@org_page(OrgAction.MANAGE, refused="orgs:org-teams")
def team_member_add(request, org: Org, team: str):
    username = request.POST.get("username", "")
    success = f"Added {username} to the team."
    return _team_done(request, org, team, success, orgs.team_member_add, username=username)


@require_POST
@org_page(OrgAction.MANAGE, refused="orgs:org-teams")
def team_member_remove(request, org: Org, team: str):
    username = request.POST.get("username", "")
    success = f"Removed {username} from the team."
    return _team_done(request, org, team, success, orgs.team_member_remove, username=username)


@require_POST
@org_page(OrgAction.MANAGE, refused="orgs:org-teams")
def team_grant(request, org: Org, team: str):
    package, permission = request.POST.get("package", ""), request.POST.get("permission", "")
    success = f"The team now has {permission} access to {package}."
    return _team_done(
        request, org, team, success, team_grant_set, package_name=package, permission=permission
    )


@require_POST
@org_page(OrgAction.MANAGE, refused="orgs:org-teams")
def team_revoke(request, org: Org, team: str):
    package = request.POST.get("package", "")
    success = f"The team no longer has access to {package}."
    return _team_done(request, org, team, success, team_grant_remove, package_name=package)


@require_POST
@org_page(OrgAction.MANAGE, refused="orgs:org-teams")
def team_destroy(request, org: Org, team: str):
    found = _team(org, team)
    try:
        orgs.team_destroy(actor=portal_actor(request), team=found)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("orgs:org-team", org=org.name, team=found.name)
    messages.success(request, f"Removed the team {found.name}.")
    return redirect("orgs:org-teams", org=org.name)


# Packages, policies, compliance, history ---------------------------------------------


@org_page(OrgAction.READ)
def packages(request, org: Org):
    actor = portal_actor(request)
    rows = [
        (package, package_policy(package))
        for package in org.packages.filter(unpublished_at__isnull=True).order_by("name")
        if decide(actor, Action.READ, package=package).allowed
    ]
    return render(request, "orgs/packages.html", _context(request, org, rows=rows))


@org_page(OrgAction.POLICY)
@sudo_required
@require_http_methods(["GET", "POST"])
def policies(request, org: Org):
    # A detached copy, so a refused form never touches the org row itself.
    detached = Org(**{field: getattr(org, field) for field in orgs.POLICY_FIELDS})
    form = PolicyForm(request.POST or None, instance=detached)
    if request.method == "POST" and form.is_valid():
        changes = {field: form.cleaned_data[field] for field in orgs.POLICY_FIELDS}
        try:
            orgs.org_policy_update(actor=portal_actor(request), org=org, changes=changes)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Saved the policies of @{org.name}. Every owner was told.")
            return redirect("orgs:org-policies", org=org.name)
    return render(request, "orgs/policies.html", _context(request, org, form=form))


@org_page(OrgAction.AUDIT)
def compliance(request, org: Org):
    return render(request, "orgs/compliance.html", _context(request, org, **org_compliance(org)))


@org_page(OrgAction.READ)
def history(request, org: Org):
    events = orgs.org_events_visible(org, request.user).select_related("actor", "user")[:200]
    return render(request, "orgs/history.html", _context(request, org, events=events))
