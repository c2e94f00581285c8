"""Team grants on an org's packages (`npm access grant/revoke`), and what a team may reach."""

from django.db import transaction

from accounts.actors import Actor
from accounts.events import event_record
from registry.authz import packages_visible_to
from registry.exceptions import InvalidPayload, PackageNotFound
from registry.governance import governance_notify
from registry.models import Package, TeamGrant
from registry.orgs.models import Team
from registry.orgs.services import org_change_authorize
from registry.packuments import packument_touch
from registry.services.common import package_lock

PERMISSIONS = {
    "read-only": TeamGrant.Permission.READ_ONLY,
    "read-write": TeamGrant.Permission.READ_WRITE,
}


def _org_package(team: Team, name: str) -> Package:
    package = Package.objects.filter(name=name, org=team.org).first()
    if package is None:
        raise PackageNotFound(
            f"@{team.org.name} has no package {name}; only its own packages can be granted."
        )
    return package


def team_grant_set(*, actor: Actor, team: Team, package_name: str, permission: str) -> TeamGrant:
    """Grant a team access to one of its org's packages: governance (registry.authz)."""
    if permission not in PERMISSIONS:
        raise InvalidPayload('The permission must be "read-only" or "read-write".')
    package = _org_package(team, package_name)
    change = f"grant {team.name} {permission} on {package.name}"
    org_change_authorize(actor, team.org, change)
    with transaction.atomic():
        governance_notify(actor=actor, what="who may write", package=package, changes=[change])
        package = package_lock(package)
        grant, _ = TeamGrant.objects.update_or_create(
            team=team, package=package, defaults={"permission": PERMISSIONS[permission]}
        )
        packument_touch(package)  # who may read a restricted packument changed
        event_record(
            "org:grant",
            actor=actor,
            package=package,
            details={"team": team.name, "permission": permission},
        )
    return grant


def team_grant_remove(*, actor: Actor, team: Team, package_name: str) -> None:
    package = _org_package(team, package_name)
    change = f"revoke the access of {team.name} to {package.name}"
    org_change_authorize(actor, team.org, change)
    with transaction.atomic():
        governance_notify(actor=actor, what="who may write", package=package, changes=[change])
        package = package_lock(package)
        deleted, _ = TeamGrant.objects.filter(team=team, package=package).delete()
        if not deleted:
            raise PackageNotFound(f"The team {team} has no access to {package_name}.")
        packument_touch(package)
        event_record("org:revoke", actor=actor, package=package, details={"team": team.name})


def team_grants_visible(team: Team, viewer):
    """The team's grants on packages `viewer` may see: a grant must not reveal a
    restricted package's name to someone who cannot read it."""
    visible = packages_visible_to(viewer).values("pk")
    return (
        team.grants.filter(package__in=visible).select_related("package").order_by("package__name")
    )


def team_packages(team: Team, viewer) -> dict[str, str]:
    """{package: "read" | "write"}, as `npm access list packages org:team` shows them."""
    return {
        grant.package.name: "write"
        if grant.permission == TeamGrant.Permission.READ_WRITE
        else "read"
        for grant in team_grants_visible(team, viewer)
    }
