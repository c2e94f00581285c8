"""Writes that change a package's metadata but publish nothing: deprecate, owners, stars."""

from django.db import transaction

from accounts.actors import Actor
from accounts.events import event_record
from accounts.models import User
from portal.errors import NotFound, PermissionDenied
from registry.authz import Action, Operation, authorize
from registry.exceptions import InvalidPayload
from registry.governance import governance_notify
from registry.models import Maintainer, Package, Star, Version
from registry.orgs.models import Membership
from registry.packuments import packument_touch
from registry.services.common import package_decided, package_for, package_lock, revision_check


def versions_deprecate(
    *, actor: Actor, name: str, versions: dict, rev: str | None = None
) -> Package:
    """Apply the `deprecated` strings of a deprecate/undeprecate body ("" clears).

    The body is the whole document: read before someone else's write, it would undo that
    write, so `rev` (the body's `_rev`) must still be current."""
    package = package_for(actor, name, Action.DEPRECATE)
    if not isinstance(versions, dict):
        raise InvalidPayload('"versions" must be an object.')
    with transaction.atomic():
        package = package_lock(package)
        revision_check(package, rev)
        changed = {}
        rows = {v.version: v for v in package.versions.filter(state=Version.State.PUBLISHED)}
        for number, manifest in versions.items():
            row = rows.get(number)
            if row is None or not isinstance(manifest, dict):
                continue
            wanted = manifest.get("deprecated", row.manifest.get("deprecated", ""))
            if not isinstance(wanted, str):
                raise InvalidPayload(f'"deprecated" of {number} must be a string.')
            if wanted == row.manifest.get("deprecated", ""):
                continue
            if wanted:
                row.manifest["deprecated"] = wanted
            else:
                row.manifest.pop("deprecated", None)
            row.save(update_fields=["manifest"])
            changed[number] = wanted
        if changed:
            packument_touch(package)
            _deprecations_record(actor, package, changed)
    return package


def _deprecations_record(actor: Actor, package: Package, changed: dict[str, str]) -> None:
    """`npm undeprecate` is its own action in the log, not a deprecation with no message."""
    deprecated = {number: message for number, message in changed.items() if message}
    undeprecated = sorted(number for number, message in changed.items() if not message)
    if deprecated:
        event_record(
            "package:deprecate", actor=actor, package=package, details={"versions": deprecated}
        )
    if undeprecated:
        event_record(
            "package:undeprecate", actor=actor, package=package, details={"versions": undeprecated}
        )


def maintainers_set(*, actor: Actor, name: str, rev: str | None, maintainers) -> Package:
    """`npm owner add/rm` (and a `-rev` PUT that rewrites `maintainers`): the body lists the
    maintainers the package should have. Governance: the right role and a second factor
    bound to exactly this change."""
    package = package_decided(actor, name, Action.OWNER)
    if not isinstance(maintainers, list) or not all(isinstance(m, dict) for m in maintainers):
        raise InvalidPayload('"maintainers" must be a list of {"name": …} objects.')
    wanted = {str(m.get("name", "")).lower() for m in maintainers}
    if not wanted:
        raise InvalidPayload(f"{name} must keep at least one maintainer.")
    with transaction.atomic():
        package = package_lock(package)
        revision_check(package, rev)
        current = {m.user.username: m for m in package.maintainers.select_related("user")}
        added = _users_to_add(wanted - current.keys())
        removed = sorted(current.keys() - wanted)
        if not added and not removed:
            return package
        _members_only(package, added)
        changes = [f"added {user.username}" for user in added] + [
            f"removed {username}" for username in removed
        ]
        authorize(
            actor,
            Action.OWNER,
            package=package,
            operation=Operation(
                key=f"owner:{name}:" + ",".join(changes),
                summary=f"Change the maintainers of {name}: {', '.join(changes)}",
                details={"action": "owner", "package": name, "changes": changes},
            ),
        )
        for user in added:
            Maintainer.objects.create(package=package, user=user)
            event_record("package:owner-add", actor=actor, package=package, user=user)
        for username in removed:
            current[username].delete()
            event_record(
                "package:owner-remove", actor=actor, package=package, user=current[username].user
            )
        packument_touch(package)
        governance_notify(actor=actor, what="the maintainers", package=package, changes=changes)
    return package


def _members_only(package: Package, users: list[User]) -> None:
    """An org's package is maintained by its members only: an outsider made a maintainer
    could read it, approve its releases and list the org's people."""
    if package.org_id is None:
        return
    members = set(
        Membership.objects.filter(org_id=package.org_id, user__in=users).values_list(
            "user_id", flat=True
        )
    )
    outsiders = sorted(user.username for user in users if user.pk not in members)
    if outsiders:
        raise PermissionDenied(
            f"{', '.join(outsiders)} {'is' if len(outsiders) == 1 else 'are'} not a member of "
            f"@{package.org.name}, and only its members may maintain its packages. An owner or "
            f"admin can invite them first: `npm org set {package.org.name} <username>`."
        )


def _users_to_add(usernames: set[str]) -> list[User]:
    """Only new maintainers must be active: npm sends the whole list, a deactivated one included."""
    users = list(User.objects.filter(username__in=usernames, is_active=True).order_by("username"))
    missing = usernames - {user.username for user in users}
    if missing:
        raise NotFound(f"There is no user named {', '.join(sorted(missing))} on this registry.")
    return users


def star_set(*, actor: Actor, name: str, users) -> Package:
    """`npm star/unstar`: only the actor's own entry in `users` is honoured."""
    package = package_for(actor, name, Action.STAR)
    if not isinstance(users, dict):
        raise InvalidPayload('"users" must be an object.')
    starred = bool(users.get(actor.user.username))
    with transaction.atomic():
        package = package_lock(package)
        if starred:
            Star.objects.get_or_create(package=package, user=actor.user)
        else:
            Star.objects.filter(package=package, user=actor.user).delete()
        packument_touch(package)  # `users` is part of the packument
    return package


def starred_by(username: str) -> list[str]:
    return list(
        Star.objects.filter(user__username=username, package__access=Package.Access.PUBLIC)
        .order_by("package__name")
        .values_list("package__name", flat=True)
    )
