"""A package's access and publishing policy, changed from the portal or `npm access set`."""

from django.db import transaction

from accounts.actors import Actor
from accounts.events import event_record
from registry.authz import Action, Operation, authorize
from registry.exceptions import InvalidPayload
from registry.governance import governance_notify
from registry.models import Package
from registry.packuments import packument_touch
from registry.services.common import package_decided, package_lock

POLICY_FIELDS = (
    "access",
    "publish_requires_tfa",
    "automation_token_overrides_tfa",
    "require_staged",
    "approvals_required",
    "exclude_stager",
)
MAX_APPROVALS = 10


def _validated(package: Package, changes: dict) -> dict:
    unknown = set(changes) - set(POLICY_FIELDS)
    if unknown:
        raise InvalidPayload(f"Unknown package setting(s): {', '.join(sorted(unknown))}.")
    clean = {}
    for field, value in changes.items():
        if field == "access":
            if value not in (Package.Access.PUBLIC, Package.Access.RESTRICTED):
                raise InvalidPayload('"access" must be "public" or "restricted".')
            if value == Package.Access.RESTRICTED and not package.scope:
                raise InvalidPayload("Only scoped packages can be restricted.")
        elif field == "approvals_required":
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or not 1 <= value <= MAX_APPROVALS
            ):
                raise InvalidPayload(
                    f"Approvals required must be a whole number from 1 to {MAX_APPROVALS}."
                )
        elif not isinstance(value, bool):
            raise InvalidPayload(f'"{field}" must be true or false.')
        clean[field] = value
    return clean


def package_settings_update(*, actor: Actor, name: str, changes: dict) -> Package:
    """Apply access and policy changes: governance, so the right role and a second factor
    bound to exactly these changes (a fresh one in the portal). Records what changed from
    what, and tells the maintainers and the org's owners."""
    package = package_decided(actor, name, Action.SETTINGS)
    with transaction.atomic():
        package = package_lock(package)
        clean = _validated(package, changes)
        changed = {
            field: {"from": getattr(package, field), "to": value}
            for field, value in clean.items()
            if getattr(package, field) != value
        }
        if not changed:
            return package
        lines = [f"{field}: {c['from']} → {c['to']}" for field, c in sorted(changed.items())]
        authorize(
            actor,
            Action.SETTINGS,
            package=package,
            operation=Operation(
                key=f"settings:{name}:"
                + ",".join(f"{f}={c['to']}" for f, c in sorted(changed.items())),
                summary=f"Change the settings of {name}: {'; '.join(lines)}",
                details={"action": "settings", "package": name, "changes": lines},
            ),
        )
        for field, change in changed.items():
            setattr(package, field, change["to"])
        # Access is part of every packument row (and decides who may read it).
        packument_touch(package)
        event_record("package:settings", actor=actor, package=package, details=changed)
        governance_notify(actor=actor, what="the settings", package=package, changes=lines)
    return package
