"""`npm publish`: from a PUT body to a published version, all or nothing."""

import base64
import binascii
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.actors import Actor
from accounts.events import event_record
from portal.errors import Conflict, PayloadTooLarge
from registry import names, semver
from registry.authz import Action, Operation, authorize, decide
from registry.blobs import blob_cleanup, blob_store
from registry.exceptions import InvalidPayload, InvalidTarball, ManifestMismatch, VersionExists
from registry.manifests import manifest_build, manifest_compare
from registry.models import Dependency, DistTag, Maintainer, Package, TeamGrant, Version
from registry.orgs.models import DEVELOPERS_TEAM, Org
from registry.packuments import maintainers_listed, packument_touch
from registry.policy import dependencies_check
from registry.tarballs import Digests, TarballInfo, TarballLimits, tarball_digests, tarball_inspect

DEPENDENCY_KINDS = ("dependencies", "optionalDependencies", "peerDependencies")


@dataclass(frozen=True)
class PublishRequest:
    """What a publish body asks for, checked for shape but not yet for content."""

    name: str
    version: str
    tag: str
    client_manifest: dict
    tarball: bytes
    access: str | None


def tarball_limits() -> TarballLimits:
    return TarballLimits(
        max_compressed_bytes=settings.GATEHOUSE_MAX_TARBALL_BYTES,
        max_unpacked_bytes=settings.GATEHOUSE_MAX_UNPACKED_BYTES,
        max_members=settings.GATEHOUSE_MAX_TARBALL_MEMBERS,
    )


def publish_request_parse(name: str, body) -> PublishRequest:
    if not isinstance(body, dict):
        raise InvalidPayload("The publish body must be a JSON object. Publish with the npm CLI.")
    if body.get("name", name) != name or body.get("_id", name) != name:
        raise InvalidPayload(
            f'The body names "{body.get("name")}" but the URL names "{name}". Publish with the npm CLI.'
        )
    versions = body.get("versions")
    if not isinstance(versions, dict) or len(versions) != 1:
        raise InvalidPayload(
            "A publish must contain exactly one version. Publish one version at a time."
        )
    version, manifest = next(iter(versions.items()))
    semver.parse_version(version)
    if not isinstance(manifest, dict):
        raise InvalidPayload(f"The manifest of {version} must be a JSON object.")
    tags = body.get("dist-tags") or {"latest": version}
    if not isinstance(tags, dict) or len(tags) != 1:
        raise InvalidPayload("A publish must set exactly one dist-tag (npm publish --tag <tag>).")
    tag, tagged = next(iter(tags.items()))
    semver.validate_tag(tag)
    if tagged != version:
        raise InvalidPayload(
            f'The dist-tag "{tag}" must point at the version being published ({version}).'
        )
    access = body.get("access")
    if access not in (None, "public", "restricted"):
        raise InvalidPayload('"access" must be "public" or "restricted".')
    return PublishRequest(
        name=name,
        version=version,
        tag=tag,
        client_manifest=manifest,
        tarball=_attachment(body.get("_attachments"), name, version),
        access=access,
    )


def _attachment(attachments, name: str, version: str) -> bytes:
    if not isinstance(attachments, dict) or len(attachments) == 0:
        raise InvalidPayload("The publish has no tarball attachment. Publish with the npm CLI.")
    if len(attachments) != 1:
        raise InvalidPayload("A publish must carry exactly one tarball attachment.")
    key, attachment = next(iter(attachments.items()))
    # npm names the attachment with the full (scoped) name: "@s/pkg-1.0.0.tgz".
    if key not in (f"{name}-{version}.tgz", names.tarball_filename(name, version)):
        raise InvalidPayload(f'The attachment "{key}" does not match {name}@{version}.')
    if not isinstance(attachment, dict) or not isinstance(attachment.get("data"), str):
        raise InvalidPayload("The tarball attachment has no base64 data.")
    encoded = attachment["data"]
    # Refuse before decoding when even the base64 text is too long.
    if len(encoded) > settings.GATEHOUSE_MAX_TARBALL_BYTES * 4 // 3 + 4:
        raise _too_large()
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidPayload("The tarball attachment is not valid base64.") from None
    if len(data) > settings.GATEHOUSE_MAX_TARBALL_BYTES:
        raise _too_large()
    length = attachment.get("length")
    if length is not None and length != len(data):
        raise InvalidPayload(
            f"The tarball attachment is {len(data)} bytes but claims {length}. Publish again."
        )
    return data


def _too_large() -> PayloadTooLarge:
    limit = settings.GATEHOUSE_MAX_TARBALL_BYTES / (1024 * 1024)
    return PayloadTooLarge(
        f"The tarball is larger than this registry accepts ({limit:.1f} MiB). "
        "Make the package smaller (check `files` in package.json and .npmignore)."
    )


@dataclass(frozen=True)
class PreparedRelease:
    """A release checked from end to end and ready to store: what publish and stage share."""

    request: PublishRequest
    info: TarballInfo
    digests: Digests
    manifest: dict


def release_prepare(*, actor: Actor, name: str, body, action: Action) -> PreparedRelease:
    """Authorize, parse and check a publish body; nothing is written."""
    package = Package.objects.filter(name=name).first()
    version = _claimed_version(body)  # named in a second-factor prompt, checked later
    operation = Operation(
        key=f"publish:{name}@{version}",
        summary=f"Publish {name}@{version}",
        details={"action": "publish", "package": name, "version": version},
    )
    if package is None:
        names.validate_new_name(name)
        new_action = Action.CREATE if action is Action.PUBLISH else action
        authorize(actor, new_action, name=name, operation=operation)
    else:
        authorize(actor, action, package=package, operation=operation)
    request = publish_request_parse(name, body)
    info = tarball_inspect(request.tarball, limits=tarball_limits())
    digests = tarball_digests(request.tarball)
    _check_client_digests(request.client_manifest, digests)
    manifest = manifest_build(info=info, client_manifest=request.client_manifest)
    manifest_compare(built=manifest, client_manifest=request.client_manifest, info=info)
    _check_identity(request, manifest)
    dependencies_check(package.org if package else org_of_scope(name), manifest)
    if manifest.get("private") is True:
        raise InvalidTarball(
            f'{name} has "private": true in package.json, so it must not be published. '
            "Remove that line if you mean to publish it."
        )
    return PreparedRelease(request=request, info=info, digests=digests, manifest=manifest)


def version_publish(*, actor: Actor, name: str, body) -> Version:
    """Publish one version from an npm publish body; returns the new version row."""
    prepared = release_prepare(actor=actor, name=name, body=body, action=Action.PUBLISH)
    return _publish_commit(actor, prepared)


def _publish_commit(actor: Actor, prepared: PreparedRelease) -> Version:
    try:
        with blob_cleanup() as written, transaction.atomic():
            package, created = package_for_release(actor, prepared.request, Action.PUBLISH)
            version = version_row_create(actor, package, prepared, Version.State.PUBLISHED, written)
            version_go_live(package, version, prepared.request.tag)
            event_record(
                "package:publish",
                actor=actor,
                package=package,
                details={
                    "version": version.version,
                    "tag": prepared.request.tag,
                    "integrity": prepared.digests.integrity,
                    "created": created,
                },
            )
    except IntegrityError:
        raise version_exists_error(prepared.request.name, prepared.request.version) from None
    return version


def _check_identity(request: PublishRequest, manifest: dict) -> None:
    """The tarball must be the package and version this request publishes, not another."""
    name, version = manifest.get("name"), manifest.get("version")
    if (name, version) != (request.name, request.version):
        raise ManifestMismatch(
            f"The tarball's package.json is {name}@{version}, but this request publishes "
            f"{request.name}@{request.version}. Publish from the package's own folder with npm publish."
        )


def _claimed_version(body) -> str:
    versions = body.get("versions") if isinstance(body, dict) else None
    return str(next(iter(versions)))[:64] if isinstance(versions, dict) and versions else ""


def _check_client_digests(client_manifest: dict, digests) -> None:
    dist = client_manifest.get("dist") or {}
    if not isinstance(dist, dict):
        raise InvalidPayload('"dist" must be an object.')
    if dist.get("integrity") not in (None, digests.integrity):
        raise InvalidTarball(
            "The tarball does not match the integrity in the manifest (it was changed or "
            "truncated on the way). Publish again."
        )
    if dist.get("shasum") not in (None, digests.shasum):
        raise InvalidTarball(
            "The tarball does not match the shasum in the manifest. Publish again."
        )


def version_exists_error(name: str, version: str) -> VersionExists:
    return VersionExists(
        f"You cannot publish over the previously published versions: {version}. "
        f"{name}@{version} was published (or unpublished) before; bump the version and publish again."
    )


def version_row_create(
    actor, package: Package, prepared: PreparedRelease, state: str, written: list
) -> Version:
    """The version's row, tarball blob and dependency index, in the caller's transaction.

    The (package, version) unique index is what makes one version number single-use
    across staged, published and unpublished releases: the loser of a race gets
    IntegrityError.
    """
    request, info, digests = prepared.request, prepared.info, prepared.digests
    state_now = (
        Version.objects.filter(package=package, version=request.version)
        .values_list("state", flat=True)
        .first()
    )
    if state_now == Version.State.STAGED:
        # No id in the text: npm masks anything shaped like a UUID in what it prints.
        raise Conflict(
            f"{request.name}@{request.version} is staged and waits for approval. Approve or reject "
            f"it first (`npm stage list {request.name}` shows its id), or release another version."
        )
    if state_now is not None:
        raise version_exists_error(request.name, request.version)
    manifest = {
        **prepared.manifest,
        "_id": f"{request.name}@{request.version}",
        "_npmUser": {"name": actor.user.username, "email": actor.user.email},
        "maintainers": maintainers_listed(package),
        "dist": {
            "integrity": digests.integrity,
            "shasum": digests.shasum,
            "fileCount": info.file_count,
            "unpackedSize": info.unpacked_size,
        },
    }
    blob = blob_store(request.tarball, digests.sha512_hex, cleanup=written)
    version = Version.objects.create(
        package=package,
        version=request.version,
        state=state,
        manifest=manifest,
        blob=blob,
        tarball_filename=names.tarball_filename(request.name, request.version),
        readme=info.readme or "",
        readme_filename=info.readme_filename or "",
        publisher=actor.user,
        published_at=timezone.now(),
    )
    Dependency.objects.bulk_create(
        Dependency(version=version, name=dep)
        for dep in sorted({d for kind in DEPENDENCY_KINDS for d in (manifest.get(kind) or {})})
    )
    return version


def version_go_live(package: Package, version: Version, tag: str) -> None:
    """Make a version installable: tags, the package's summary, and its packuments."""
    DistTag.objects.update_or_create(package=package, tag=tag, defaults={"version": version})
    if tag != "latest" and not package.dist_tags.filter(tag="latest").exists():
        # As on npm, a package always has a `latest`: its first release gets it, any tag.
        DistTag.objects.create(package=package, tag="latest", version=version)
    package.description = str(version.manifest.get("description") or "")[:5000]
    keywords = version.manifest.get("keywords")
    package.keywords = [str(k) for k in keywords][:50] if isinstance(keywords, list) else []
    package.unpublished_at = None
    packument_touch(package)


def package_for_release(actor, request: PublishRequest, action: Action) -> tuple[Package, bool]:
    """The package row, locked, created for a new name (which then belongs to the actor)."""
    package = Package.objects.select_for_update().filter(name=request.name).first()
    if package is not None:
        # The name may have been free when the publish began: check ownership again under
        # the lock (the second factor, if any, was already shown for this publish).
        decide(actor, action, package=package).raise_if_denied()
        return package, False
    scope, _ = names.split_name(request.name)
    default_access = Package.Access.RESTRICTED if scope else Package.Access.PUBLIC
    if request.access == "restricted" and scope is None:
        raise InvalidPayload("Only scoped packages can be restricted. Publish it as @scope/name.")
    org = org_of_scope(request.name)
    try:
        with transaction.atomic():  # a savepoint: another publish may create the name first
            package = Package.objects.create(
                name=request.name,
                scope=scope or "",
                org=org,
                access=request.access or default_access,
            )
    except IntegrityError:
        package = Package.objects.select_for_update().get(name=request.name)
        decide(actor, action, package=package).raise_if_denied()
        return package, False
    Maintainer.objects.create(package=package, user=actor.user)
    if org is not None:
        # As npm does: an org's new package is granted to its "developers" team.
        team = org.teams.filter(name=DEVELOPERS_TEAM).first()
        if team is not None:
            TeamGrant.objects.create(
                team=team, package=package, permission=TeamGrant.Permission.READ_WRITE
            )
    return package, True


def org_of_scope(name: str) -> Org | None:
    scope, _ = names.split_name(name)
    return Org.objects.filter(name=scope).first() if scope else None
