"""Organizations: creating them, members and roles, invitations, teams, package grants and
policies. Every change authorizes itself through `registry.authz` (governance: the role
and a fresh second factor bound to the change), is recorded, and is emailed to the org's
owners (and, for a package's grants, to its maintainers)."""

import hmac
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.actors import Actor
from accounts.events import event_record
from accounts.exceptions import InvalidAccountData
from accounts.models import User, username_validator
from accounts.notifications import notify
from accounts.secrets import secret_generate, secret_hash
from portal.errors import AuthenticationRequired, Conflict, NotFound, PermissionDenied
from portal.links import registry_url
from registry.authz import (
    Operation,
    OrgAction,
    authorize_org,
    decide_org,
    packages_writable_by,
    second_factor_prove,
)
from registry.governance import governance_notify
from registry.models import Maintainer, Package
from registry.orgs.models import DEVELOPERS_TEAM, Invitation, Membership, Org, Team, TeamMember
from registry.packuments import packument_touch
from registry.services.common import package_lock

Role = Membership.Role
POLICY_FIELDS = (
    "require_2fa",
    "require_staged",
    "approvals_required",
    "exclude_stager",
    "publishing_access",
    "allow_remote",
    "allow_git",
    "allow_file",
    "allow_directory",
    "max_token_days",
)
# Names the portal's org URLs use for their own pages (`/orgs/new/`).
RESERVED_NAMES = frozenset({"new"})


def org_for(actor: Actor, name: str, action: OrgAction) -> Org:
    """Fetch and decide in one step; an org you are not in looks like a missing one.

    Deciding only: the service that makes the change proves the second factor, bound to
    exactly that change (`org_change_authorize`)."""
    org = Org.objects.filter(name=name.lstrip("@").lower()).first()
    if org is None:
        raise NotFound(f"@{name.lstrip('@')} is not an organization you belong to.")
    decide_org(actor, action, org).raise_if_denied()
    return org


def org_change_authorize(
    actor: Actor, org: Org, change: str, action: OrgAction = OrgAction.MANAGE
) -> None:
    """Authorize one change to `org` (registry.authz): the role, and a fresh second factor
    bound to this change."""
    authorize_org(
        actor,
        action,
        org,
        operation=Operation(
            key=f"org:{org.name}:{change}",
            summary=f"@{org.name}: {change}",
            details={"action": "org", "org": org.name, "change": change},
        ),
    )


def _tell_owners(actor: Actor, org: Org, change: str) -> None:
    governance_notify(actor=actor, what="the members and teams", org=org, changes=[change])


def org_events_visible(org: Org, viewer):
    """The org's history as `viewer` may see it: a package's events only for those who may
    see the package's own history (its writers), as `registry.authz` Action.REVIEW says."""
    visible = packages_writable_by(viewer).values("pk")
    return org.events.filter(Q(package__isnull=True) | Q(package__in=visible))


def name_taken(name: str) -> bool:
    """User names and org names share one space: both are npm scopes."""
    return (
        User.objects.filter(username__iexact=name).exists()
        or Org.objects.filter(name__iexact=name).exists()
    )


def org_create(*, actor: Actor, name: str, description: str = "") -> Org:
    name = name.strip().lstrip("@")
    if actor.user is None:
        raise AuthenticationRequired("Sign in (or send a token) to create an organization.")
    if not actor.can_write:
        raise PermissionDenied(
            f"This token is read-only, so it cannot create @{name}. Use a read-write token."
        )
    try:
        username_validator(name)
    except ValidationError as exc:
        raise InvalidAccountData(
            f'"{name}" cannot be an organization name: ' + " ".join(exc.messages)
        ) from None
    if len(name) > 214:
        raise InvalidAccountData("An organization name may be at most 214 characters long.")
    if name in RESERVED_NAMES or name_taken(name):
        raise Conflict(
            f'The name "{name}" is taken by a user or an organization. Choose another one.'
        )
    if actor.token is not None and actor.user.has_two_factor:
        # Creating an org makes a new scope, not a change to anyone's rules; a token still
        # shows the second factor its person holds.
        second_factor_prove(
            actor,
            Operation(
                key=f"org-create:{name}",
                summary=f"Create the organization @{name}",
                details={"action": "org create", "org": name},
            ),
        )
    try:
        with transaction.atomic():
            org = Org.objects.create(name=name, description=description[:300])
            Membership.objects.create(org=org, user=actor.user, role=Role.OWNER)
            team = Team.objects.create(org=org, name=DEVELOPERS_TEAM, description="Every member")
            TeamMember.objects.create(team=team, user=actor.user)
            event_record("org:create", actor=actor, org=org, details={"name": name})
    except IntegrityError:
        raise Conflict(f'The name "{name}" is taken. Choose another one.') from None
    return org


def orgs_requiring_2fa(user: User):
    return Org.objects.filter(memberships__user=user, require_2fa=True)


# Members and roles ------------------------------------------------------------------


def _member(org: Org, username: str) -> Membership:
    membership = (
        Membership.objects.filter(org=org, user__username=username.lower())
        .select_related("user")
        .first()
    )
    if membership is None:
        raise NotFound(f"{username} is not a member of @{org.name}.")
    return membership


def _check_owner_change(
    actor: Actor, org: Org, membership: Membership | None, role: str | None
) -> None:
    """Only owners make or unmake owners, and an org always keeps one."""
    actor_role = (
        Membership.objects.filter(org=org, user=actor.user).values_list("role", flat=True).first()
    )
    touches_owner = role == Role.OWNER or (membership is not None and membership.role == Role.OWNER)
    if touches_owner and actor_role != Role.OWNER:
        raise PermissionDenied(f"Only an owner of @{org.name} can make or change owners.")
    if membership is not None and membership.role == Role.OWNER and role != Role.OWNER:
        owners = Membership.objects.filter(org=org, role=Role.OWNER).count()
        if owners <= 1:
            raise Conflict(
                f"{membership.user.username} is the last owner of @{org.name}. Make someone else an owner first."
            )


def member_role_set(*, actor: Actor, org: Org, username: str, role: str) -> Membership:
    if role not in Role.values:
        raise InvalidAccountData(
            "The role must be owner, admin or member (npm calls members developers)."
        )
    with transaction.atomic():
        _org_lock(org)
        membership = _member(org, username)
        _check_owner_change(actor, org, membership, role)
        if membership.role != role:
            change = f"{membership.user.username} from {membership.role} to {role}"
            org_change_authorize(actor, org, f"role of {change}")
            _tell_owners(actor, org, f"changed the role of {change}")
            previous = membership.role
            membership.role = role
            membership.save(update_fields=["role"])
            event_record(
                "org:role-change",
                actor=actor,
                user=membership.user,
                org=org,
                details={"from": previous, "to": role},
            )
    return membership


def _org_lock(org: Org) -> None:
    """Owner changes take turns, so two owners demoting each other cannot leave none."""
    Org.objects.select_for_update().filter(pk=org.pk).first()


def member_remove(*, actor: Actor, org: Org, username: str) -> None:
    with transaction.atomic():
        _org_lock(org)
        membership = _member(org, username)
        leaving_self = membership.user_id == actor.user.pk
        if not leaving_self or membership.role == Role.OWNER:
            _check_owner_change(actor, org, membership, None)
        if not leaving_self:  # leaving takes no power from anyone else
            decide_org(actor, OrgAction.MANAGE, org).raise_if_denied()
            org_change_authorize(actor, org, f"remove {membership.user.username}")
        _tell_owners(actor, org, f"removed {membership.user.username}")
        TeamMember.objects.filter(team__org=org, user=membership.user).delete()
        _maintainerships_end(org, membership.user)
        membership.delete()
        event_record("org:member-remove", actor=actor, user=membership.user, org=org)


def _maintainerships_end(org: Org, user: User) -> None:
    """Leaving an org ends write access to its packages, those one published first too
    (publishing makes the publisher a maintainer, and a maintainer may write)."""
    for package in Package.objects.filter(org=org, maintainers__user=user):
        package = package_lock(package)
        Maintainer.objects.filter(package=package, user=user).delete()
        packument_touch(package)  # the packument lists its maintainers


def _join(actor: Actor, org: Org, user: User, role: str) -> Membership:
    membership = Membership.objects.create(org=org, user=user, role=role)
    developers = org.teams.filter(name=DEVELOPERS_TEAM).first()
    if developers is not None:
        TeamMember.objects.get_or_create(team=developers, user=user)
    event_record("org:member-add", actor=actor, user=user, org=org, details={"role": role})
    return membership


# Invitations ------------------------------------------------------------------------


def invitation_create(
    *, actor: Actor, org: Org, username: str = "", email: str = "", role: str = Role.MEMBER
) -> tuple[Invitation, str | None]:
    """Invite a person by username (they accept in the portal) or by email (a link).
    Returns the invitation and, for email, the link's secret (sent, never stored)."""
    if role not in Role.values:
        raise InvalidAccountData("The role must be owner, admin or member.")
    decide_org(actor, OrgAction.MANAGE, org).raise_if_denied()
    _check_owner_change(actor, org, None, role)
    user = None
    if username:
        user = User.objects.filter(username=username.lower(), is_active=True).first()
        if user is None:
            raise NotFound(f"There is no user named {username}. Invite them by email instead.")
        if Membership.objects.filter(org=org, user=user).exists():
            raise Conflict(f"{user.username} is already a member of @{org.name}.")
    elif not email:
        raise InvalidAccountData("Invite someone by username or by email address.")
    org_change_authorize(actor, org, f"invite {username or email} as {role}")
    secret = None if user else secret_generate(prefix="", length=40)
    with transaction.atomic():
        Invitation.objects.filter(
            Q(user=user) if user else Q(email__iexact=email), org=org, accepted_at__isnull=True
        ).update(revoked_at=timezone.now())
        invitation = Invitation.objects.create(
            org=org,
            user=user,
            email="" if user else email,
            token_hash=secret_hash(secret) if secret else "",
            role=role,
            invited_by=actor.user,
            expires_at=timezone.now() + timedelta(days=settings.GATEHOUSE_INVITATION_DAYS),
        )
        event_record(
            "org:invite",
            actor=actor,
            user=user,
            org=org,
            details={"invitee": username or email, "role": role},
        )
        _tell_owners(actor, org, f"invited {username or email} as {role}")
        path = reverse("orgs:invitation", args=[invitation.pk.hex])
        url = registry_url(path + (f"?key={secret}" if secret else ""))
        notify(
            user or actor.user,
            "org_invitation",
            to=email or None,
            org=org,
            role=role,
            url=url,
            inviter=actor.user,
        )
    return invitation, secret


def invitation_for(*, user: User, invitation_id: str, key: str = "") -> Invitation:
    """An open invitation this person may accept: addressed to them, or carrying its key."""
    invitation = Invitation.objects.select_related("org").filter(pk=_uuid(invitation_id)).first()
    if invitation is None or not invitation.is_open:
        raise NotFound(
            "This invitation expired, was revoked or was already used. Ask for a new one."
        )
    mine = invitation.user_id == user.pk or (
        invitation.user_id is None
        and key
        and hmac.compare_digest(secret_hash(key), invitation.token_hash)
    )
    if not mine:
        raise NotFound("This invitation is for someone else. Sign in as the person it was sent to.")
    return invitation


def _uuid(value: str):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def invitation_accept(*, actor: Actor, invitation: Invitation) -> Membership:
    org = invitation.org
    if org.require_2fa and not actor.user.has_two_factor:
        raise PermissionDenied(
            f"@{org.name} requires two-factor authentication. Add a second factor on your security "
            "page, then accept the invitation."
        )
    with transaction.atomic():
        claimed = Invitation.objects.filter(
            pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(accepted_at=timezone.now(), user=actor.user)
        if not claimed or Membership.objects.filter(org=org, user=actor.user).exists():
            raise Conflict(f"You are already a member of @{org.name}, or this invitation was used.")
        return _join(actor, org, actor.user, invitation.role)


def invitation_revoke(*, actor: Actor, invitation: Invitation) -> None:
    invitee = invitation.email or str(invitation.user)
    org_change_authorize(actor, invitation.org, f"revoke the invitation of {invitee}")
    _invitation_close(actor, invitation)


def invitation_decline(*, actor: Actor, invitation: Invitation) -> None:
    """The invitee says no to an invitation `invitation_for` gave them: like leaving, it
    takes no power from anyone, so it asks for no role and no second factor."""
    _invitation_close(actor, invitation)


def _invitation_close(actor: Actor, invitation: Invitation) -> None:
    with transaction.atomic():
        if Invitation.objects.filter(
            pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=timezone.now()):
            event_record(
                "org:invite-revoke",
                actor=actor,
                org=invitation.org,
                details={"invitee": invitation.email or str(invitation.user)},
            )


# Teams ------------------------------------------------------------------------------


def team_get(org: Org, name: str) -> Team:
    team = org.teams.filter(name=name.lower()).first()
    if team is None:
        raise NotFound(f"@{org.name} has no team {name}. `npm team ls {org.name}` lists them.")
    return team


def team_create(*, actor: Actor, org: Org, name: str, description: str = "") -> Team:
    org_change_authorize(actor, org, f"create the team {name.lower()}")
    try:
        username_validator(name.lower())
        longest = Team._meta.get_field("name").max_length
        if len(name) > longest:
            raise ValidationError(f"A team name has at most {longest} characters.")
        with transaction.atomic():
            team = Team.objects.create(org=org, name=name.lower(), description=description[:300])
            event_record("org:team-create", actor=actor, org=org, details={"team": team.name})
    except ValidationError as exc:
        raise InvalidAccountData(
            f'"{name}" cannot be a team name: ' + " ".join(exc.messages)
        ) from None
    except IntegrityError:
        raise Conflict(f"@{org.name} already has a team {name}.") from None
    return team


def team_destroy(*, actor: Actor, team: Team) -> None:
    if team.name == DEVELOPERS_TEAM:
        raise Conflict(f"The {DEVELOPERS_TEAM} team holds every member; it cannot be removed.")
    org_change_authorize(actor, team.org, f"remove the team {team.name}")
    with transaction.atomic():
        _tell_owners(actor, team.org, f"removed the team {team.name}")
        event_record("org:team-destroy", actor=actor, org=team.org, details={"team": team.name})
        team.delete()


def team_member_add(*, actor: Actor, team: Team, username: str) -> TeamMember:
    membership = _member(team.org, username)
    org_change_authorize(actor, team.org, f"add {membership.user.username} to the team {team.name}")
    with transaction.atomic():
        member, created = TeamMember.objects.get_or_create(team=team, user=membership.user)
        if created:
            _tell_owners(actor, team.org, f"added {membership.user.username} to {team.name}")
            event_record(
                "org:team-member-add",
                actor=actor,
                user=membership.user,
                org=team.org,
                details={"team": team.name},
            )
    return member


def team_member_remove(*, actor: Actor, team: Team, username: str) -> None:
    org_change_authorize(actor, team.org, f"remove {username.lower()} from the team {team.name}")
    with transaction.atomic():
        member = (
            TeamMember.objects.filter(team=team, user__username=username.lower())
            .select_related("user")
            .first()
        )
        if member is None:
            raise NotFound(f"{username} is not in the team {team}.")
        member.delete()
        _tell_owners(actor, team.org, f"removed {member.user.username} from {team.name}")
        event_record(
            "org:team-member-remove",
            actor=actor,
            user=member.user,
            org=team.org,
            details={"team": team.name, "user": member.user.username},
        )


# Policies ---------------------------------------------------------------------------


def org_policy_update(*, actor: Actor, org: Org, changes: dict) -> Org:
    """Owners set the org's policies; every change is recorded and emailed to all owners."""
    clean = _policy_validated(actor, org, changes)
    with transaction.atomic():
        org = Org.objects.select_for_update().get(pk=org.pk)
        changed = {
            f: {"from": getattr(org, f), "to": v} for f, v in clean.items() if getattr(org, f) != v
        }
        if not changed:
            return org
        summary = ", ".join(f"{f}={c['to']}" for f, c in sorted(changed.items()))
        org_change_authorize(actor, org, f"policies {summary}", OrgAction.POLICY)
        for field, change in changed.items():
            setattr(org, field, change["to"])
        org.save()
        event_record("org:policy-change", actor=actor, org=org, details=changed)
        for owner in User.objects.filter(memberships__org=org, memberships__role=Role.OWNER):
            notify(owner, "org_policy_changed", org=org, changed=changed, by=actor.user)
        if changed.get("require_2fa", {}).get("to"):
            for member in User.objects.filter(
                memberships__org=org, tfa_mode=User.TwoFactorMode.DISABLED
            ):
                notify(member, "org_requires_2fa", org=org)
    return org


def _policy_validated(actor: Actor, org: Org, changes: dict) -> dict:
    unknown = set(changes) - set(POLICY_FIELDS)
    if unknown:
        raise InvalidAccountData(f"Unknown policy: {', '.join(sorted(unknown))}.")
    clean = dict(changes)
    if clean.get("require_2fa") and not actor.user.has_two_factor:
        raise PermissionDenied(
            "Turn on two-factor authentication for yourself before requiring it of everyone."
        )
    if "approvals_required" in clean and not (
        isinstance(clean["approvals_required"], int) and 1 <= clean["approvals_required"] <= 10
    ):
        raise InvalidAccountData("Approvals required must be a whole number from 1 to 10.")
    if (
        "publishing_access" in clean
        and clean["publishing_access"] not in Org.PublishingAccess.values
    ):
        raise InvalidAccountData("Unknown publishing access setting.")
    days = clean.get("max_token_days")
    if (
        "max_token_days" in clean
        and days is not None
        and not (isinstance(days, int) and 1 <= days <= 3650)
    ):
        raise InvalidAccountData(
            "The token lifetime must be from 1 to 3650 days, or empty for no limit."
        )
    for flag in (
        "require_2fa",
        "require_staged",
        "exclude_stager",
        "allow_remote",
        "allow_git",
        "allow_file",
        "allow_directory",
    ):
        if flag in clean and not isinstance(clean[flag], bool):
            raise InvalidAccountData(f'"{flag}" must be true or false.')
    return clean
