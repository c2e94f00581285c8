"""Writes to `/<name>`: publish, deprecate, star, owners and unpublish, as npm sends them.

npm uses one URL for several operations and tells them apart only by the body, so the
dispatch lives here and each branch is one service call.
"""

from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_actor
from registry.exceptions import InvalidPayload
from registry.services.metadata import maintainers_set, star_set, versions_deprecate
from registry.services.publish import version_publish
from registry.services.unpublish import tarball_delete, versions_unpublish


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise InvalidPayload("The request body must be a JSON object. Use the npm CLI.")
    return request.data


class PackageWrite(APIView):
    """PUT /<name>: publish (with `_attachments`), deprecate (`versions`), star (`users`)."""

    def put(self, request, name: str):
        actor = request_actor(request)
        body = _body(request)
        if "_attachments" in body:
            version = version_publish(actor=actor, name=name, body=body)
            return Response({"success": True, "id": f"{name}@{version.version}"}, status=201)
        if "versions" in body:
            versions_deprecate(
                actor=actor, name=name, versions=body["versions"], rev=body.get("_rev")
            )
            return Response({"ok": True})
        if "users" in body:
            star_set(actor=actor, name=name, users=body["users"])
            return Response({"ok": True})
        if "maintainers" in body:
            maintainers_set(actor=actor, name=name, rev=None, maintainers=body["maintainers"])
            return Response({"ok": True})
        raise InvalidPayload("Nothing to do: the body has no versions, users or maintainers.")


class PackageRevisionWrite(APIView):
    """PUT /<name>/-rev/<rev> (unpublish some versions, or set owners); DELETE (unpublish all)."""

    def put(self, request, name: str, rev: str):
        actor = request_actor(request)
        body = _body(request)
        if "versions" in body:
            if not isinstance(body["versions"], dict):
                raise InvalidPayload('"versions" must be an object.')
            versions_unpublish(actor=actor, name=name, rev=rev, keep=set(body["versions"]))
        elif "maintainers" in body:
            maintainers_set(actor=actor, name=name, rev=rev, maintainers=body["maintainers"])
        else:
            raise InvalidPayload("Nothing to do: the body has no versions or maintainers.")
        return Response({"ok": True})

    def delete(self, request, name: str, rev: str):
        versions_unpublish(actor=request_actor(request), name=name, rev=rev, keep=None)
        return Response({"ok": True})


class TarballDelete(APIView):
    def delete(self, request, name: str, filename: str, rev: str):
        tarball_delete(actor=request_actor(request), name=name, filename=filename)
        return Response({"ok": True})
