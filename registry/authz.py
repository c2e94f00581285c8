"""The one place that decides whether an actor may do something to a package or an org.

Every entry point (npm API, portal pages, REST API) asks `decide` (may they?) or
`authorize` (may they, and do they prove it?). Ownership, team grants, org roles, token
scope, package and org policies all meet here, and so does the rule this registry is
built on: any action that changes who may release, or under which rules (governance),
passes the same gate as a release: the right role and a fresh second factor.

A `Decision` says whether a fresh second factor is required. `authorize` then checks the
proof the actor carries (a code at the CLI, a security-key assertion bound to this very
operation, or a portal session whose second factor is fresh) and returns which factor it
was, so no caller ever passes a factor label of its own.
"""

import hashlib
import time
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from functools import reduce
from operator import or_

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import User
from accounts.second_factor import second_factor_require
from portal.errors import AuthenticationRequired, DomainError, NotFound, PermissionDenied
from portal.links import registry_url
from registry.models import Package, TeamGrant
from registry.names import split_name
from registry.orgs.models import Membership, Org
from registry.policy import Policy, package_policy


class Action(StrEnum):
    READ = "read"
    CREATE = "create"  # publish the first version of a new name
    PUBLISH = "publish"
    STAGE = "stage"  # put a release in the staging queue (a new name, too)
    REVIEW = "review"  # see and download staged releases
    APPROVE = "approve"  # approve or reject a staged release
    UNPUBLISH = "unpublish"
    DEPRECATE = "deprecate"
    DIST_TAG = "dist-tag"
    STAR = "star"  # anyone who may read, but with a token that may write
    # Governance: who may release this package, and under which rules.
    OWNER = "change the maintainers of"
    SETTINGS = "change the access and publishing rules of"


GOVERNANCE = frozenset({Action.OWNER, Action.SETTINGS})
# What installers get: under a "second factor to publish" or "staged only" policy these
# need a fresh second factor whatever the person's own 2FA mode (moving `latest` is a
# release by other means).
RELEASE_ACTIONS = frozenset({Action.CREATE, Action.PUBLISH, Action.DIST_TAG, Action.UNPUBLISH})
# Writes for which a person in `auth-and-writes` mode shows a second factor at the CLI.
# Staging is not one of them: that is its point.
MODE_SECOND_FACTOR_ACTIONS = RELEASE_ACTIONS | {Action.DEPRECATE}
READ_ONLY_ACTIONS = frozenset({Action.READ, Action.REVIEW})


@dataclass(frozen=True)
class Decision:
    allowed: bool
    error: type[DomainError] | None = None
    reason: str = ""
    # Allowed only with a fresh second factor (see `authorize`).
    second_factor: bool = False

    def raise_if_denied(self) -> None:
        if not self.allowed:
            raise self.error(self.reason)


ALLOW = Decision(allowed=True)
WITH_SECOND_FACTOR = Decision(allowed=True, second_factor=True)


@dataclass(frozen=True)
class Operation:
    """Exactly what a second factor is asked for, as the server parsed it from the request:
    a code or a key approval serves this operation and no other."""

    key: str
    summary: str
    details: dict = field(default_factory=dict)
    # A portal session's fresh second factor (sudo mode) proves it too. Not for approving a
    # release: that takes a code or a key assertion bound to the release itself.
    session_may_prove: bool = True


# Who may do what: one definition ------------------------------------------------------

WRITE, READ = "write", "read"
ORG_MANAGERS = (Membership.Role.OWNER, Membership.Role.ADMIN)

# Each way a person comes to write a package: the path from the package to the person,
# and what must hold on that path. Read both ways below, so "who may write" is written once.
_WRITE_PATHS = (
    ("maintainers__user", Q()),
    ("org__memberships__user", Q(org__memberships__role__in=ORG_MANAGERS)),
    (
        "team_grants__team__members__user",
        Q(team_grants__permission=TeamGrant.Permission.READ_WRITE),
    ),
)
_READ_PATHS = (("team_grants__team__members__user", Q()),)


def _packages_by_paths(user, paths) -> Q:
    return reduce(or_, (Q(**{path: user}) & condition for path, condition in paths))


def packages_writable_by(user):
    """Packages `user` may write: as a maintainer, an org owner or admin, or via a team."""
    if user is None:
        return Package.objects.none()
    return Package.objects.filter(_packages_by_paths(user, _WRITE_PATHS)).distinct()


def packages_visible_to(user, packages=None):
    """Public packages, and the restricted ones `user` may read."""
    packages = Package.objects.all() if packages is None else packages
    public = Q(access=Package.Access.PUBLIC)
    if user is None:
        return packages.filter(public)
    readable = Q(pk__in=packages_writable_by(user).values("pk")) | _packages_by_paths(
        user, _READ_PATHS
    )
    return packages.filter(public | readable).distinct()


def package_writers(package: Package):
    """Everyone who may write `package`, read from the same paths as `packages_writable_by`."""
    ids = reduce(
        or_,
        (
            Q(pk__in=Package.objects.filter(Q(pk=package.pk) & condition).values(path))
            for path, condition in _WRITE_PATHS
        ),
    )
    return User.objects.filter(ids, is_active=True).order_by("username")


def package_role(user, package: Package) -> str | None:
    """What `user` may do with `package` by who they are: "write", "read" or None."""
    if user is None or package.pk is None:
        return None
    if packages_writable_by(user).filter(pk=package.pk).exists():
        return WRITE
    readable = Package.objects.filter(_packages_by_paths(user, _READ_PATHS), pk=package.pk)
    return READ if readable.exists() else None


def is_maintainer(user, package: Package) -> bool:
    return package_role(user, package) == WRITE


def org_role(user, org: Org) -> str | None:
    if user is None or org is None:
        return None
    return Membership.objects.filter(org=org, user=user).values_list("role", flat=True).first()


def may_approve(user, package: Package, policy: Policy, *, stager_id=None) -> bool:
    """Whether `user` may approve a release of `package` now: asked when they approve and
    again, under the release's lock, when their approval is counted."""
    if user is None or not user.is_active or not user.has_two_factor:
        return False
    if policy.exclude_stager and stager_id is not None and user.pk == stager_id:
        return False
    return package_role(user, package) == WRITE


# Packages -------------------------------------------------------------------------------


def decide(
    actor: Actor,
    action: Action,
    *,
    package: Package | None = None,
    name: str = "",
    policy: Policy | None = None,
) -> Decision:
    """May `actor` do `action`? `policy`: the package's, when the caller already read it."""
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
    if action is Action.STAR:
        return ALLOW if actor.can_write else _read_only(action, package.name)
    if role != WRITE:
        return _hidden(package.name) if action is Action.REVIEW else _not_maintainer(package)
    if action in READ_ONLY_ACTIONS:
        return ALLOW
    if not actor.can_write:
        return _read_only(action, package.name)
    if action in GOVERNANCE:
        return _governance(actor, action, package)
    return _policy(actor, action, package, policy)


def _not_maintainer(package: Package) -> Decision:
    return Decision(
        False,
        PermissionDenied,
        f"You are not a maintainer of {package.name}. Ask one of its maintainers "
        f"(`npm owner ls {package.name}`) to add you with `npm owner add`"
        + (
            ", or its organization to grant your team read-write access." if package.org_id else "."
        ),
    )


def _read_only(action: Action, name: str) -> Decision:
    return Decision(
        False,
        PermissionDenied,
        f"This token is read-only, so it cannot {action} {name}. Use a read-write token.",
    )


def _governance(actor: Actor, action: Action, package: Package) -> Decision:
    """Changing who may release, or the rules: on an org's package only its owners and
    admins may (a read-write team or a maintainer who is a plain member may not), and
    everyone needs a fresh second factor, whatever their own 2FA mode."""
    if package.org_id is not None and org_role(actor.user, package.org) not in ORG_MANAGERS:
        return Decision(
            False,
            PermissionDenied,
            f"Only owners and admins of @{package.org.name} may {action} {package.name}. "
            f"Ask one of them (`npm org ls {package.org.name}`).",
        )
    return _second_factor_held(actor, f"{action} {package.name}") or WITH_SECOND_FACTOR


def _second_factor_held(actor: Actor, doing: str) -> Decision | None:
    """A refusal for a person who has no second factor to show, else None."""
    if actor.user.has_two_factor:
        return None
    return Decision(
        False,
        PermissionDenied,
        f"To {doing} you need a second factor. Add a security key or an authenticator app "
        f"at {registry_url(reverse('accounts:security'))} and try again.",
    )


def _policy(
    actor: Actor, action: Action, package: Package, policy: Policy | None = None
) -> Decision:
    """The package's publishing policy, joined with its org's (see registry.policy)."""
    policy = policy or package_policy(package)
    org = f"@{policy.org.name}" if policy.org else package.name
    if action is Action.APPROVE:
        return _second_factor_held(actor, "approve or reject a staged release") or (
            WITH_SECOND_FACTOR
        )
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
    if action in (Action.PUBLISH, Action.CREATE):
        refused = _publish_refused(actor, package, policy, org)
        if refused:
            return refused
    if action in RELEASE_ACTIONS and (policy.publish_requires_tfa or policy.require_staged):
        return _second_factor_held(actor, f"{action} {package.name}") or WITH_SECOND_FACTOR
    return _by_mode(actor, action)


def _publish_refused(actor: Actor, package: Package, policy: Policy, org: str) -> Decision | None:
    if policy.require_staged:
        return Decision(
            False,
            PermissionDenied,
            f"{org} requires staged publishing: run `npm stage publish`, then have a "
            "maintainer approve the release.",
        )
    if policy.stage_only_without_second_factor:
        if not actor.otp:
            return Decision(
                False,
                PermissionDenied,
                f"{org} lets automation only stage releases: run `npm stage publish`, or "
                "publish yourself with --otp=<code>.",
            )
        return _second_factor_held(actor, f"publish {package.name}") or WITH_SECOND_FACTOR
    return None


def _token_too_old(actor: Actor, policy: Policy) -> Decision | None:
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


def _by_mode(actor: Actor, action: Action) -> Decision:
    """Allowed; with a second factor at the CLI when the person asked for one on every write."""
    needs = (
        action in MODE_SECOND_FACTOR_ACTIONS
        and actor.token is not None
        and actor.user.tfa_mode == User.TwoFactorMode.AUTH_AND_WRITES
    )
    return WITH_SECOND_FACTOR if needs else ALLOW


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
        return _by_mode(actor, action)
    org = Org.objects.filter(name=scope).first()
    if org is None or org_role(actor.user, org) is None:
        return Decision(
            False,
            PermissionDenied,
            f"You may not {verb} under the @{scope} scope: it is neither yours nor an "
            f"organization you belong to. Use @{actor.user.username}/… or an unscoped name.",
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
    operation: Operation | None = None,
    policy: Policy | None = None,
) -> str:
    """Raise unless `actor` may do `action`, proving a second factor where one is due.

    Returns the factor that proved it ("app", "recovery-code", "security-key", "session"),
    or "" when none was needed. `operation` names exactly what is being done; without it the
    proof is bound to the action on the package.
    """
    decision = decide(actor, action, package=package, name=name, policy=policy)
    decision.raise_if_denied()
    if not decision.second_factor:
        return ""
    name = name or package.name
    if operation is None:
        # Creating a name is publishing its first version: one operation for the code's reuse.
        verb = Action.PUBLISH if action is Action.CREATE else action
        operation = Operation(f"{verb.name.lower()}:{name}", f"{verb} {name}", {"package": name})
    return second_factor_prove(actor, operation)


def second_factor_prove(actor: Actor, operation: Operation) -> str:
    """Check the proof of a second factor that `actor` carries for `operation`."""
    if actor.key_proof and actor.key_proof == operation.key:
        return "security-key"  # an assertion the portal verified for exactly this operation
    if operation.session_may_prove and actor.token is None and _session_factor_is_fresh(actor):
        return "session"
    return second_factor_require(
        actor,
        operation=_bounded(operation.key),
        description={"summary": operation.summary, **operation.details},
    )


def _bounded(key: str, longest: int = 300) -> str:
    """An operation's key as stored with a code: a very long one (an owner change naming
    many people) keeps its start and a digest of the whole, so it stays exactly as binding."""
    if len(key) <= longest:
        return key
    return f"{key[:200]}#{hashlib.sha256(key.encode()).hexdigest()}"


def _session_factor_is_fresh(actor: Actor) -> bool:
    stamp = actor.session_factor_at
    return stamp is not None and time.time() - stamp < settings.GATEHOUSE_SUDO_SECONDS


# Organizations --------------------------------------------------------------------------


class OrgAction(StrEnum):
    READ = "see"
    AUDIT = "see the invitations and compliance of"  # owners and admins; reading only
    MANAGE = "manage the members, teams and packages of"
    POLICY = "change the policies of"


def decide_org(actor: Actor, action: OrgAction, org: Org) -> Decision:
    """Seeing an org is for its members; every change to it is governance."""
    role = org_role(actor.user, org)
    if role is None:
        return Decision(False, NotFound, f"@{org.name} is not an organization you belong to.")
    if action is OrgAction.READ:
        return ALLOW
    if action is OrgAction.AUDIT:
        if role in ORG_MANAGERS:
            return ALLOW
        return Decision(
            False, PermissionDenied, f"Only owners and admins of @{org.name} may {action} it."
        )
    if not actor.can_write:
        return Decision(
            False, PermissionDenied, f"This token is read-only, so it cannot {action} @{org.name}."
        )
    allowed = (Membership.Role.OWNER,) if action is OrgAction.POLICY else ORG_MANAGERS
    if role not in allowed:
        who = "owners" if action is OrgAction.POLICY else "owners and admins"
        return Decision(False, PermissionDenied, f"Only {who} of @{org.name} may {action} it.")
    return _second_factor_held(actor, f"{action} @{org.name}") or WITH_SECOND_FACTOR


def may_change_member(actor: Actor, org: Org, member_role: str) -> bool:
    """Whether `actor` may change the role of (or remove) a member holding `member_role`:
    owners and admins manage members, and only owners make or unmake owners."""
    role = org_role(actor.user, org)
    if role == Membership.Role.OWNER:
        return True
    return role == Membership.Role.ADMIN and member_role != Membership.Role.OWNER


def authorize_org(
    actor: Actor, action: OrgAction, org: Org, *, operation: Operation | None = None
) -> str:
    decision = decide_org(actor, action, org)
    decision.raise_if_denied()
    if not decision.second_factor:
        return ""
    if operation is None:
        operation = Operation(f"org:{org.name}", f"{action} @{org.name}", {"org": org.name})
    return second_factor_prove(actor, operation)
