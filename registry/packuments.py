"""Packuments: built from version rows on every write, stored as bytes, served as stored.

The install path never assembles a document per request; it reads `Packument` rows.
Every service that changes what a packument shows calls `packument_rebuild` inside its
own transaction, so readers see either the old document or the new one.
"""

import hashlib
import json
from datetime import UTC

from django.utils import timezone

from portal.links import tarball_url
from registry import semver
from registry.mirror import mirror_schedule
from registry.models import DistTag, Package, Packument, Version
from registry.read_cache import read_cache_announce

# The fields npm's abbreviated ("corgi") form keeps per version.
CORGI_FIELDS = (
    "name",
    "version",
    "dependencies",
    "optionalDependencies",
    "devDependencies",
    "bundleDependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "acceptDependencies",
    "bin",
    "directories",
    "dist",
    "engines",
    "_hasShrinkwrap",
    "hasInstallScript",
    "deprecated",
    "os",
    "cpu",
    "libc",
    "funding",
    "license",
)
# Top-level fields copied from the latest version, as npm's registry does.
LATEST_FIELDS = ("description", "keywords", "license", "homepage", "repository", "bugs", "author")


def _iso(moment) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _dumps(document: dict) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def packument_rebuild(package: Package) -> None:
    """Store the package's documents, or none while nothing was released.

    Staged versions never appear: not in `versions`, not in `time`. A name that has only
    staged releases stays a 404 for installers.
    """
    # Every version's readme stays in the database: the document carries only the latest's
    # (read once, below), and a package's readmes together can run to megabytes.
    rows = list(
        package.versions.exclude(state=Version.State.STAGED)
        .defer("readme")
        .order_by("published_at", "id")
    )
    if not rows:
        Packument.objects.filter(package=package).delete()
        return
    published = [v for v in rows if v.state == Version.State.PUBLISHED]
    tags = dict(
        DistTag.objects.filter(package=package)
        .order_by("tag")
        .values_list("tag", "version__version")
    )
    maintainers = maintainers_listed(package)
    latest = _latest(published, tags)
    package.latest_version = latest.version if latest else ""
    full = _full_document(package, rows, published, tags, maintainers, latest)
    rev = f"{package.revision}-{hashlib.sha256(_dumps(full)).hexdigest()[:32]}"
    full = {"_id": package.name, "_rev": rev, **full}
    full_bytes = _dumps(full)
    abbreviated_bytes = _dumps(_abbreviated_document(package, published, tags))
    fields = {
        "name": package.name,
        "restricted": package.is_restricted,
        "unpublished_at": package.unpublished_at,
        "rev": rev,
        "full": full_bytes,
        "full_etag": f'"f{rev}"',
        "abbreviated": abbreviated_bytes,
        "abbreviated_etag": f'"a{package.revision}-{hashlib.sha256(abbreviated_bytes).hexdigest()[:32]}"',
        "modified_at": package.modified_at,
    }
    # An UPDATE rather than update_or_create, which would first read the old documents
    # (megabytes for a long history) only to overwrite them. The caller holds the package
    # lock, so nobody creates the row between the two statements.
    if not Packument.objects.filter(package=package).update(**fields):
        Packument.objects.create(package=package, **fields)


def maintainers_listed(package: Package) -> list[dict]:
    """The `maintainers` of a packument or manifest: npm's name and email, nothing more."""
    return [
        {"name": username, "email": email}
        for username, email in package.maintainers.values_list("user__username", "user__email")
    ]


def _latest(published: list[Version], tags: dict[str, str]) -> Version | None:
    by_version = {v.version: v for v in published}
    if tags.get("latest") in by_version:
        return by_version[tags["latest"]]
    best = semver.max_version(by_version, include_prerelease=True)
    return by_version.get(best) if best else None


def _manifest(package: Package, version: Version) -> dict:
    """The stored manifest with its tarball URL, which follows the configured registry URL."""
    dist = {
        **version.manifest.get("dist", {}),
        "tarball": tarball_url(package.name, version.tarball_filename),
    }
    return {**version.manifest, "dist": dist}


def _full_document(package, rows, published, tags, maintainers, latest) -> dict:
    time = {"created": _iso(package.created_at), "modified": _iso(package.modified_at)}
    for row in rows:
        time[row.version] = _iso(row.published_at)
    if package.unpublished_at is not None:
        time["unpublished"] = {
            "time": _iso(package.unpublished_at),
            "versions": [row.version for row in rows],
        }
    document = {
        "name": package.name,
        "dist-tags": tags,
        "versions": {v.version: _manifest(package, v) for v in published},
        "time": time,
        "maintainers": maintainers,
        "users": {
            username: True
            for username in package.stars.order_by("user__username").values_list(
                "user__username", flat=True
            )
        },
    }
    if latest is not None:
        for field in LATEST_FIELDS:
            if field in latest.manifest:
                document[field] = latest.manifest[field]
        document["readme"] = latest.readme
        document["readmeFilename"] = latest.readme_filename
    return document


def _abbreviated_document(package, published, tags) -> dict:
    versions = {}
    for version in published:
        manifest = _manifest(package, version)
        versions[version.version] = {
            field: manifest[field] for field in CORGI_FIELDS if field in manifest
        }
    return {
        "name": package.name,
        "dist-tags": tags,
        "modified": _iso(package.modified_at),
        "versions": versions,
    }


def packument_touch(package: Package) -> None:
    """Record a write to `package`: bump its revision and rebuild its documents.

    The caller holds the package row lock (see `services.common.package_lock`).
    """
    package.revision += 1
    package.modified_at = timezone.now()
    packument_rebuild(package)
    package.save()
    read_cache_announce(package.name)
    mirror_schedule(package)
