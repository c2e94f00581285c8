"""Lookups shared by the registry services."""

from registry.authz import Action, authorize, decide
from registry.exceptions import PackageNotFound, StaleRevision
from registry.models import Package, Packument


def package_get(name: str) -> Package:
    package = Package.objects.filter(name=name).first()
    if package is None:
        # Word for word what authz says of a hidden package, so the two cannot be told apart.
        raise PackageNotFound(f"{name} is not in this registry, or you do not have access to it.")
    return package


def package_for(actor, name: str, action: Action) -> Package:
    """Fetch and authorize in one step; a hidden package looks exactly like a missing one."""
    package = package_get(name)
    authorize(actor, action, package=package)
    return package


def package_decided(actor, name: str, action: Action) -> Package:
    """Fetch and decide without asking for proof yet: for services that authorize once they
    know exactly what the operation is (a second factor is bound to it)."""
    package = package_get(name)
    decide(actor, action, package=package).raise_if_denied()
    return package


def package_lock(package: Package) -> Package:
    """Re-read `package` under a row lock: writes to one package happen one at a time."""
    return Package.objects.select_for_update().get(pk=package.pk)


def revision_check(package: Package, rev: str | None) -> None:
    current = Packument.objects.filter(package=package).values_list("rev", flat=True).first()
    if rev is not None and rev != current:
        raise StaleRevision(
            f"{package.name} changed while your command ran (revision {rev} is stale). Run it again."
        )
