"""The install path: packuments and tarballs, served from stored bytes.

These are plain Django views rather than DRF ones: they run on every install, so they
do one indexed lookup, compare the ETag, and return the stored document. A restricted
package costs one more lookup to authenticate and authorize the reader.
"""

from django.http import FileResponse, HttpResponse, HttpResponseNotModified
from django.views.decorators.http import require_safe

from accounts.authentication import actor_from_request
from portal.errors import DomainError
from portal.exceptions import error_response
from registry import names
from registry.authz import Action, decide
from registry.blobs import tarball_storage
from registry.models import Blob, Package, Packument, Version

CORGI = "application/vnd.npm.install-v1+json"


def _not_found(name: str):
    return error_response(404, f"{name} is not in this registry, or you do not have access to it.")


def _may_read(request, package_id: int) -> bool:
    """Authenticate the reader of a restricted package; raises DomainError on bad credentials."""
    actor = actor_from_request(request)
    package = Package.objects.get(pk=package_id)
    return decide(actor, Action.READ, package=package).allowed


def etag_matches(request, etag: str) -> bool:
    """If-None-Match uses weak comparison: a proxy that compressed the body sends W/"…"."""
    header = request.META.get("HTTP_IF_NONE_MATCH", "")
    if not header:
        return False
    candidates = [t.strip().removeprefix("W/") for t in header.split(",")]
    return header.strip() == "*" or etag in candidates


@require_safe
def packument_get(request, name: str):
    if not names.is_valid_name(name):
        return _not_found(name)
    abbreviated = CORGI in request.META.get("HTTP_ACCEPT", "")
    columns = ("abbreviated", "abbreviated_etag") if abbreviated else ("full", "full_etag")
    # [:1] rather than .first(): one row by a unique key needs no ORDER BY.
    rows = Packument.objects.filter(name=name).values_list(
        "package_id", "restricted", "unpublished_at", *columns
    )[:1]
    row = next(iter(rows), None)
    if row is None:
        return _not_found(name)
    package_id, restricted, unpublished_at, body, etag = row
    if restricted:
        try:
            if not _may_read(request, package_id):
                return _not_found(name)
        except DomainError as exc:
            return error_response(exc.status, exc.message, exc.headers())
    if unpublished_at is not None:
        return error_response(
            404,
            f"{name} was unpublished on {unpublished_at:%Y-%m-%d}. "
            "Its versions cannot be installed or published again.",
        )
    if etag_matches(request, etag):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(
            bytes(body), content_type=CORGI if abbreviated else "application/json"
        )
        response["Content-Length"] = str(len(response.content))
    response["ETag"] = etag
    response["Vary"] = "Accept, Authorization"
    # Always revalidate: without this npm treats packuments as fresh for days (see the
    # heuristic-freshness trap) and never sees new versions.
    response["Cache-Control"] = (
        "private, no-cache" if restricted else "public, max-age=0, must-revalidate"
    )
    return response


@require_safe
def tarball_get(request, name: str, filename: str):
    version = names.version_from_tarball_filename(name, filename)
    rows = Version.objects.filter(
        package__name=name, version=version, state=Version.State.PUBLISHED
    ).values_list("package_id", "package__access", "blob_id", "blob__size")[:1]
    row = next(iter(rows), None) if version else None
    if row is None:
        return _not_found(f"{name}/-/{filename}")
    package_id, access, sha512, size = row
    restricted = access == Package.Access.RESTRICTED
    if restricted:
        try:
            if not _may_read(request, package_id):
                return _not_found(f"{name}/-/{filename}")
        except DomainError as exc:
            return error_response(exc.status, exc.message, exc.headers())
    etag = f'"{sha512[:40]}"'
    if etag_matches(request, etag):
        response = HttpResponseNotModified()
    else:
        handle = tarball_storage().open(Blob.path_for(sha512), "rb")
        response = FileResponse(handle, content_type="application/octet-stream")
        response["Content-Length"] = str(size)
    response["ETag"] = etag
    # A version's bytes never change, so caches may keep them; private ones only per user.
    visibility = "private" if restricted else "public"
    response["Cache-Control"] = f"{visibility}, max-age=31536000, immutable"
    return response
