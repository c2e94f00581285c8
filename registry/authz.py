"""The one place that decides whether an actor may do something to a package.

Every entry point (npm API, portal pages, later the REST API) asks `decide` or its
raising form `authorize`. Ownership, token scope and (in later issues) team grants, org
roles, package and org policies all meet here.
"""

from dataclasses import dataclass
from enum import StrEnum

from accounts.actors import Actor
from portal.errors import AuthenticationRequired, DomainError, NotFound, PermissionDenied
from registry.models import Maintainer, Package
from registry.names import split_name


class Action(StrEnum):
    READ = "read"
    CREATE = "create"  # publish the first version of a new name
    PUBLISH = "publish"
    UNPUBLISH = "unpublish"
    DEPRECATE = "deprecate"
    DIST_TAG = "dist-tag"
    OWNER = "owner"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    error: type[DomainError] | None = None
    reason: str = ""

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
    if action is Action.CREATE:
        return _decide_create(actor, name)
    if package is None:
        raise ValueError(f"deciding {action} needs a package")
    maintainer = is_maintainer(actor.user, package)
    if action is Action.READ:
        if not package.is_restricted or maintainer:
            return ALLOW
        return _hidden(package.name)
    if actor.user is None:
        return Decision(
            False,
            AuthenticationRequired,
            f"You must be logged in to {action} {package.name}. Run `npm login`.",
        )
    if not maintainer:
        if package.is_restricted:
            return _hidden(package.name)
        return Decision(
            False,
            PermissionDenied,
            f"You are not a maintainer of {package.name}. Ask one of its maintainers "
            f"(`npm owner ls {package.name}`) to add you with `npm owner add`.",
        )
    if not actor.can_write:
        return Decision(
            False,
            PermissionDenied,
            f"This token is read-only, so it cannot {action} {package.name}. Use a read-write token.",
        )
    return ALLOW


def _decide_create(actor: Actor, name: str) -> Decision:
    if actor.user is None:
        return Decision(
            False,
            AuthenticationRequired,
            f"You must be logged in to publish {name}. Run `npm login`.",
        )
    if not actor.can_write:
        return Decision(
            False, PermissionDenied, f"This token is read-only, so it cannot publish {name}."
        )
    scope, _ = split_name(name)
    if scope is not None and scope != actor.user.username:
        return Decision(
            False,
            PermissionDenied,
            f"You may not publish under the @{scope} scope: it is not yours. "
            f"Publish as @{actor.user.username}/… or as an unscoped name.",
        )
    return ALLOW


def _hidden(name: str) -> Decision:
    return Decision(
        False, NotFound, f"{name} is not in this registry, or you do not have access to it."
    )


def authorize(
    actor: Actor, action: Action, *, package: Package | None = None, name: str = ""
) -> None:
    decide(actor, action, package=package, name=name).raise_if_denied()
