"""The one place that decides whether an actor may do something to a package.

Every entry point (npm API, portal pages, later the REST API) asks `decide` or its
raising form `authorize`. Ownership, token scope, package publishing policies and (in
later issues) team grants, org roles and org policies all meet here.
"""

from dataclasses import dataclass
from enum import StrEnum

from accounts.actors import Actor
from accounts.models import User
from accounts.second_factor import second_factor_require
from portal.errors import AuthenticationRequired, DomainError, NotFound, PermissionDenied
from registry.models import Maintainer, Package
from registry.names import split_name


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


def is_maintainer(user, package: Package) -> bool:
    if user is None:
        return False
    return Maintainer.objects.filter(package=package, user=user).exists()


def decide(
    actor: Actor, action: Action, *, package: Package | None = None, name: str = ""
) -> Decision:
    if package is None:
        if action in (Action.CREATE, Action.STAGE):
            return _decide_create(actor, action, name)
        raise ValueError(f"deciding {action} needs a package")
    maintainer = is_maintainer(actor.user, package)
    # Before anything else: a 401 or 403 would tell an outsider the package exists.
    if (package.is_restricted or action is Action.REVIEW) and not maintainer:
        return _hidden(package.name)
    if action is Action.READ:
        return ALLOW
    if actor.user is None:
        return Decision(
            False,
            AuthenticationRequired,
            f"You must be logged in to {action} {package.name}. Run `npm login`.",
        )
    if not maintainer and action is not Action.STAR:
        return Decision(
            False,
            PermissionDenied,
            f"You are not a maintainer of {package.name}. Ask one of its maintainers "
            f"(`npm owner ls {package.name}`) to add you with `npm owner add`.",
        )
    if action in READ_ONLY_ACTIONS:
        return ALLOW
    if not actor.can_write:
        return Decision(
            False,
            PermissionDenied,
            f"This token is read-only, so it cannot {action} {package.name}. Use a read-write token.",
        )
    return _policy(actor, action, package)


def _policy(actor: Actor, action: Action, package: Package) -> Decision:
    """The package's publishing policy (org policies will join here)."""
    if action is Action.PUBLISH and package.require_staged:
        return Decision(
            False,
            PermissionDenied,
            f"{package.name} requires staged publishing: run `npm stage publish`, then have a "
            "maintainer approve the release.",
        )
    if action is Action.PUBLISH and package.publish_requires_tfa:
        if not actor.user.has_two_factor:
            return Decision(
                False,
                PermissionDenied,
                f"Publishing {package.name} requires two-factor authentication. Add a second "
                "factor on your account's security page, then publish again.",
            )
        return Decision(allowed=True, second_factor=actor.token is not None)
    return _allow(actor, action)


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
    if scope is not None and scope != actor.user.username:
        return Decision(
            False,
            PermissionDenied,
            f"You may not {verb} under the @{scope} scope: it is not yours. "
            f"Use @{actor.user.username}/… or an unscoped name.",
        )
    return _allow(actor, action)


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
