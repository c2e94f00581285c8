"""The one place that decides whether an actor may do something to a package.

Every entry point (npm API, portal pages, later the REST API) asks `decide` or its
raising form `authorize`. Ownership, token scope, package publishing policies and (in
later issues) team grants, org roles and org policies all meet here.
"""

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from django.db.models import Q
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import User
from accounts.second_factor import second_factor_require
from portal.errors import AuthenticationRequired, DomainError, NotFound, PermissionDenied
from registry.models import Maintainer, Package, TeamGrant
from registry.names import split_name
from registry.orgs.models import Membership, Org
from registry.policy import package_policy


class Action(StrEnum):
    READ = "read"
    CREATE = "create"  # publish the first version of a new name
    PUBLISH = "publish"
    STAGE = "stage"  # put a release in the staging queue (a new name, too)
    REVIEW = "review"  # see and download staged releases
    APPROVE = "approve"  # approve or reject a staged release
    SETTINGS = "settings"  # change the package's access and publishing policy
    UNPUBLISH = "unpublish"
    DEPRECATE = "deprecate"
    DIST_TAG = "dist-tag"
    OWNER = "owner"
    STAR = "star"  # anyone who may read, but with a token that may write


# Writes for which a person in `auth-and-writes` mode must show a second factor.
# Staging is not one of them: that is its point. Approving always needs one, asked
# for by the approval service itself (at the CLI and in the portal alike).
SECOND_FACTOR_ACTIONS = frozenset(
    {
        Action.CREATE,
        Action.PUBLISH,
        Action.UNPUBLISH,
        Action.DEPRECATE,
        Action.DIST_TAG,
        Action.OWNER,
        Action.SETTINGS,
    }
)
READ_ONLY_ACTIONS = frozenset({Action.READ, Action.REVIEW})


@dataclass(frozen=True)
class Decision:
    allowed: bool
    error: type[DomainError] | None = None
    reason: str = ""
    # Allowed once the request proves a second factor (npm-otp, or a security key).
    second_factor: bool = False

    def raise_if_denied(self) -> None:
        if not self.allowed:
            raise self.error(self.reason)


ALLOW = Decision(allowed=True)


WRITE, READ = "write", "read"


def package_role(user, package: Package) -> str | None:
    """What `user` may do with `package` by who they are: "write", "read" or None.

    Maintainers and the owners and admins of the package's org write; teams of the org
    read or write as granted (npm's `access grant`).
    """
    if user is None:
        return None
    if Maintainer.objects.filter(package=package, user=user).exists():
        return WRITE
    if package.org_id is None:
        return None
    role = (
        Membership.objects.filter(org_id=package.org_id, user=user)
        .values_list("role", flat=True)
        .first()
    )
    if role in (Membership.Role.OWNER, Membership.Role.ADMIN):
        return WRITE
    grants = set(
        TeamGrant.objects.filter(package=package, team__members__user=user).values_list(
            "permission", flat=True
        )
    )
    if TeamGrant.Permission.READ_WRITE in grants:
        return WRITE
    return READ if grants else None


def package_writers(package: Package):
    """Everyone `package_role` says may write `package` (for notices to its approvers)."""
    who = Q(maintainerships__package=package)
    if package.org_id is not None:
        who |= Q(
            memberships__org_id=package.org_id,
            memberships__role__in=[Membership.Role.OWNER, Membership.Role.ADMIN],
        )
        who |= Q(
            team_memberships__team__grants__package=package,
            team_memberships__team__grants__permission=TeamGrant.Permission.READ_WRITE,
        )
    return User.objects.filter(who, is_active=True).distinct().order_by("username")


def is_maintainer(user, package: Package) -> bool:
    return package_role(user, package) == WRITE


def decide(
    actor: Actor, action: Action, *, package: Package | None = None, name: str = ""
) -> Decision:
    if package is None:
        if action in (Action.CREATE, Action.STAGE):
            return _decide_create(actor, action, name)
        raise ValueError(f"deciding {action} needs a package")
    role = package_role(actor.user, package)
    # Before anything else: a 401 or 403 would tell an outsider the package exists.
    if (package.is_restricted or action is Action.REVIEW) and role is None:
        return _hidden(package.name)
    if action is Action.READ:
        return ALLOW
    if actor.user is None:
        return Decision(
            False,
            AuthenticationRequired,
            f"You must be logged in to {action} {package.name}. Run `npm login`.",
        )
    if role != WRITE and action is not Action.STAR:
        if action is Action.REVIEW:
            return _hidden(package.name)
        return Decision(
            False,
            PermissionDenied,
            f"You are not a maintainer of {package.name}. Ask one of its maintainers "
            f"(`npm owner ls {package.name}`) to add you with `npm owner add`"
            + (
                ", or its organization to grant your team read-write access."
                if package.org_id
                else "."
            ),
        )
    if action in READ_ONLY_ACTIONS or action is Action.STAR:
        return (
            ALLOW
            if action is not Action.STAR or actor.can_write
            else _read_only(actor, action, package.name)
        )
    if not actor.can_write:
        return _read_only(actor, action, package.name)
    return _policy(actor, action, package)


def _read_only(actor: Actor, action: Action, name: str) -> Decision:
    return Decision(
        False,
        PermissionDenied,
        f"This token is read-only, so it cannot {action} {name}. Use a read-write token.",
    )


def _policy(actor: Actor, action: Action, package: Package) -> Decision:
    """The package's publishing policy, joined with its org's (see registry.policy)."""
    policy = package_policy(package)
    org = f"@{policy.org.name}" if policy.org else package.name
    if policy.require_2fa and not actor.user.has_two_factor:
        return Decision(
            False,
            PermissionDenied,
            f"{org} requires two-factor authentication to {action} its packages. Add a second "
            "factor on your account's security page, then try again.",
        )
    refused = _token_too_old(actor, policy)
    if refused:
        return refused
    if action not in (Action.PUBLISH, Action.CREATE):
        return _allow(actor, action)
    if policy.require_staged:
        return Decision(
            False,
            PermissionDenied,
            f"{org} requires staged publishing: run `npm stage publish`, then have a "
            "maintainer approve the release.",
        )
    if policy.stage_only_without_second_factor and not actor.otp:
        return Decision(
            False,
            PermissionDenied,
            f"{org} lets automation only stage releases: run `npm stage publish`, or publish "
            "yourself with --otp=<code>.",
        )
    if policy.publish_requires_tfa or policy.stage_only_without_second_factor:
        if not actor.user.has_two_factor:
            return Decision(
                False,
                PermissionDenied,
                f"Publishing {package.name} requires two-factor authentication. Add a second "
                "factor on your account's security page, then publish again.",
            )
        return Decision(allowed=True, second_factor=actor.token is not None)
    return _allow(actor, action)


def _token_too_old(actor: Actor, policy) -> Decision | None:
    if actor.token is None or policy.max_token_days is None:
        return None
    limit = timedelta(days=policy.max_token_days)
    expires = actor.token.expires_at
    if timezone.now() - actor.token.created_at > limit or (
        expires is not None and expires - actor.token.created_at > limit
    ):
        return Decision(
            False,
            PermissionDenied,
            f"@{policy.org.name} accepts tokens that live at most {policy.max_token_days} days for "
            "writes to its packages, and this one is older or lives longer. Run `npm login` for "
            "a fresh token.",
        )
    return None


def _allow(actor: Actor, action: Action) -> Decision:
    """Allowed; with a second factor when the person asked for it on every write.

    Only the CLI door asks here: portal pages guard their writes with sudo mode.
    """
    needs = (
        action in SECOND_FACTOR_ACTIONS
        and actor.token is not None
        and actor.user.tfa_mode == User.TwoFactorMode.AUTH_AND_WRITES
    )
    return Decision(allowed=True, second_factor=needs)


def _decide_create(actor: Actor, action: Action, name: str) -> Decision:
    verb = "stage" if action is Action.STAGE else "publish"
    if actor.user is None:
        return Decision(
            False,
            AuthenticationRequired,
            f"You must be logged in to {verb} {name}. Run `npm login`.",
        )
    if not actor.can_write:
        return Decision(
            False, PermissionDenied, f"This token is read-only, so it cannot {verb} {name}."
        )
    scope, _ = split_name(name)
    if scope is None or scope == actor.user.username:
        return _allow(actor, action)
    org = Org.objects.filter(name=scope).first()
    if org is None or not Membership.objects.filter(org=org, user=actor.user).exists():
        return Decision(
            False,
            PermissionDenied,
            f"You may not {verb} under the @{scope} scope: it is neither yours nor an "
            f"organization you belong to. Use @{actor.user.username}/… or an unscoped name.",
        )
    if org.require_2fa and not actor.user.has_two_factor:
        return Decision(
            False,
            PermissionDenied,
            f"@{org.name} requires two-factor authentication to {verb} packages. Add a second "
            "factor on your account's security page, then try again.",
        )
    # A first release meets the org's publishing policies like any other: a new package
    # starts exactly as strict as its org.
    return _policy(actor, action, Package(name=name, org=org))


def _hidden(name: str) -> Decision:
    return Decision(
        False, NotFound, f"{name} is not in this registry, or you do not have access to it."
    )


def authorize(
    actor: Actor,
    action: Action,
    *,
    package: Package | None = None,
    name: str = "",
    version: str = "",
) -> None:
    """Raise unless `actor` may do `action`; asks for the second factor where one is due."""
    decision = decide(actor, action, package=package, name=name)
    decision.raise_if_denied()
    if decision.second_factor:
        name = name or package.name
        # Creating a name is publishing its first version: one operation for the code's reuse.
        verb = Action.PUBLISH if action is Action.CREATE else action
        second_factor_require(
            actor,
            operation=f"{verb}:{name}",
            description={
                "command": actor.npm_command or str(action),
                "package": name,
                "version": version,
            },
        )


class OrgAction(StrEnum):
    READ = "see"
    MANAGE = "manage the members, teams and packages of"
    POLICY = "change the policies of"


def decide_org(actor: Actor, action: OrgAction, org: Org) -> Decision:
    role = None
    if actor.user is not None:
        role = (
            Membership.objects.filter(org=org, user=actor.user)
            .values_list("role", flat=True)
            .first()
        )
    if role is None:
        return Decision(False, NotFound, f"@{org.name} is not an organization you belong to.")
    if action is OrgAction.READ:
        return ALLOW
    if not actor.can_write:
        return Decision(
            False, PermissionDenied, f"This token is read-only, so it cannot {action} @{org.name}."
        )
    allowed = (
        (Membership.Role.OWNER,)
        if action is OrgAction.POLICY
        else (Membership.Role.OWNER, Membership.Role.ADMIN)
    )
    if role not in allowed:
        who = "owners" if action is OrgAction.POLICY else "owners and admins"
        return Decision(False, PermissionDenied, f"Only {who} of @{org.name} may {action} it.")
    if org.require_2fa and not actor.user.has_two_factor:
        return Decision(
            False,
            PermissionDenied,
            f"@{org.name} requires two-factor authentication. Add a second factor on your security page.",
        )
    # Like sudo mode in the portal: at the CLI and the REST API, a fresh second factor.
    return Decision(
        allowed=True, second_factor=actor.token is not None and actor.user.has_two_factor
    )


def authorize_org(actor: Actor, action: OrgAction, org: Org) -> None:
    decision = decide_org(actor, action, org)
    decision.raise_if_denied()
    if decision.second_factor:
        second_factor_require(
            actor,
            operation=f"org:{org.name}",
            description={"command": actor.npm_command or "org", "package": f"@{org.name}"},
        )
