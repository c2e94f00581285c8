"""`npm unpublish`: versions leave installers, but their numbers are never reused."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.actors import Actor
from accounts.events import event_record
from registry import semver
from registry.authz import Action, Operation, authorize, packages_visible_to
from registry.exceptions import InvalidPayload, UnpublishRefused
from registry.models import DistTag, Package, Version
from registry.packuments import packument_touch
from registry.services.common import package_decided, package_get, package_lock, revision_check


def _dependents(actor: Actor, package: Package) -> list[str]:
    """Who depends on `package`, naming only the packages `actor` may see."""
    dependents = (
        Package.objects.filter(
            versions__state=Version.State.PUBLISHED, versions__dependency_rows__name=package.name
        )
        .exclude(pk=package.pk)
        .distinct()
    )
    visible = dependents.filter(pk__in=packages_visible_to(actor.user).values("pk"))
    names = list(visible.order_by("name").values_list("name", flat=True)[:5])
    hidden = dependents.count() - visible.count()
    if hidden:
        names.append(f"{hidden} package{'s' if hidden > 1 else ''} you cannot see")
    return names


def _check_policy(actor: Actor, package: Package, versions: list[Version]) -> None:
    """npm's rule: within the window anything goes; after it, only if nothing depends on it."""
    window = timedelta(hours=settings.GATEHOUSE_UNPUBLISH_WINDOW_HOURS)
    old = [v.version for v in versions if timezone.now() - v.published_at > window]
    if not old:
        return
    dependents = _dependents(actor, package)
    if dependents:
        raise UnpublishRefused(
            f"{package.name}@{', '.join(old)} was published more than "
            f"{settings.GATEHOUSE_UNPUBLISH_WINDOW_HOURS} hours ago and other packages depend on "
            f"{package.name} ({', '.join(dependents)}). Deprecate it instead: "
            f'npm deprecate {package.name}@<version> "<message>".'
        )


def versions_unpublish(
    *, actor: Actor, name: str, rev: str | None, keep: set[str] | None
) -> Package:
    """Unpublish every published version not in `keep` (None: all of them)."""
    package = package_decided(actor, name, Action.UNPUBLISH)
    with transaction.atomic():
        package = package_lock(package)
        revision_check(package, rev)
        published = list(package.versions.filter(state=Version.State.PUBLISHED))
        removed = [v for v in published if keep is None or v.version not in keep]
        if not removed:
            raise InvalidPayload(f"No version of {name} would be unpublished by this request.")
        numbers = None if keep is None else ",".join(sorted(v.version for v in removed))
        authorize(
            actor, Action.UNPUBLISH, package=package, operation=_unpublish_operation(name, numbers)
        )
        _check_policy(actor, package, removed)
        now = timezone.now()
        Version.objects.filter(pk__in=[v.pk for v in removed]).update(
            state=Version.State.UNPUBLISHED, unpublished_at=now, blob=None
        )
        DistTag.objects.filter(version__in=removed).delete()
        remaining = [v.version for v in published if v not in removed]
        _ensure_latest(package, remaining)
        if not remaining:
            package.unpublished_at = now
        packument_touch(package)
        for version in removed:
            event_record(
                "package:unpublish",
                actor=actor,
                package=package,
                details={"version": version.version},
            )
    return package


def _ensure_latest(package: Package, remaining: list[str]) -> None:
    if not remaining or package.dist_tags.filter(tag="latest").exists():
        return
    best = semver.max_version(remaining) or semver.max_version(remaining, include_prerelease=True)
    DistTag.objects.create(
        package=package, tag="latest", version=package.versions.get(version=best)
    )


def _unpublish_operation(name: str, versions: str | None) -> Operation:
    """One code serves every request of one `npm unpublish`: bound to its versions, or to
    the whole package."""
    what = f"{name}@{versions}" if versions else f"every version of {name}"
    return Operation(
        key=f"unpublish:{name}@{versions or '*'}",
        summary=f"Unpublish {what}",
        details={"action": "unpublish", "package": name, "version": versions or "all"},
    )


def tarball_delete(*, actor: Actor, name: str, filename: str) -> None:
    """The client's last unpublish step; the bytes go with the periodic blob collection."""
    package = package_get(name)
    version = package.versions.filter(tarball_filename=filename).first()
    # npm's last step of `npm unpublish name@version`: the same operation as its first.
    number = version.version if version is not None else None
    authorize(
        actor, Action.UNPUBLISH, package=package, operation=_unpublish_operation(name, number)
    )
    if version is not None and version.state == Version.State.PUBLISHED:
        raise UnpublishRefused(
            f"{name}@{version.version} is still published. Run `npm unpublish {name}@{version.version}`."
        )
