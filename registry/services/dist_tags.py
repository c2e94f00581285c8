"""`npm dist-tag add/rm`: tags point at published versions; `latest` always exists."""

from django.db import transaction

from accounts.actors import Actor
from accounts.events import event_record
from registry import semver
from registry.authz import Action, Operation, authorize
from registry.exceptions import InvalidPayload, InvalidTag, VersionNotFound
from registry.models import DistTag, Package, Version
from registry.packuments import packument_touch
from registry.services.common import package_get, package_lock


def dist_tag_set(*, actor: Actor, name: str, tag: str, version: object) -> Package:
    semver.validate_tag(tag)
    if not isinstance(version, str):
        raise InvalidPayload('The body must be the version as a JSON string, e.g. "1.0.0".')
    package = package_get(name)
    authorize(
        actor,
        Action.DIST_TAG,
        package=package,
        operation=Operation(
            key=f"dist-tag:{name}:{tag}={version}",
            summary=f"Point the {tag} tag of {name} at {version}",
            details={"action": "dist-tag add", "package": name, "version": version, "tag": tag},
        ),
    )
    with transaction.atomic():
        package = package_lock(package)
        row = package.versions.filter(version=version, state=Version.State.PUBLISHED).first()
        if row is None:
            raise VersionNotFound(
                f"{name}@{version} is not published, so it cannot be tagged {tag}."
            )
        DistTag.objects.update_or_create(package=package, tag=tag, defaults={"version": row})
        packument_touch(package)
        event_record(
            "package:dist-tag-add",
            actor=actor,
            package=package,
            details={"tag": tag, "version": version},
        )
    return package


def dist_tag_remove(*, actor: Actor, name: str, tag: str) -> Package:
    if tag == "latest":
        raise InvalidTag(
            "The latest tag cannot be removed: installers need it. Point it at another version "
            f"with `npm dist-tag add {name}@<version> latest`."
        )
    package = package_get(name)
    authorize(
        actor,
        Action.DIST_TAG,
        package=package,
        operation=Operation(
            key=f"dist-tag:{name}:-{tag}",
            summary=f"Remove the {tag} tag of {name}",
            details={"action": "dist-tag rm", "package": name, "tag": tag},
        ),
    )
    with transaction.atomic():
        package = package_lock(package)
        deleted, _ = DistTag.objects.filter(package=package, tag=tag).delete()
        if not deleted:
            raise VersionNotFound(f'{name} has no dist-tag "{tag}".')
        packument_touch(package)
        event_record("package:dist-tag-remove", actor=actor, package=package, details={"tag": tag})
    return package
