"""`npm stage …` (npm-protocol §20): stage, list, view, download, approve, reject; and the
status endpoint CI polls."""

from django.http import HttpResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_actor
from portal.errors import AuthenticationRequired
from portal.links import registry_url
from registry.approvals import approvals_summary
from registry.exceptions import InvalidPayload
from registry.services.stage import (
    staged_release_approve,
    staged_release_for,
    staged_release_reject,
    staged_release_tarball,
    staged_releases_reviewable,
    version_stage,
)

MAX_PER_PAGE = 100
MAX_PAGE = 100_000  # a million releases at the largest page size


def staged_item(staged) -> dict:
    """One staged release as npm prints it; npm shows unknown keys as they are."""
    approvals, required = approvals_summary(staged)
    return {
        "id": str(staged.pk),
        "packageName": staged.package.name,
        "version": staged.version_number,
        "tag": staged.tag,
        "createdAt": staged.created_at.isoformat(),
        "actor": staged.actor_label,
        "actorType": staged.actor_type,
        "shasum": staged.shasum,
        "integrity": staged.integrity,
        "status": staged.status,
        "expiresAt": staged.expires_at.isoformat(),
        "approvals": f"{approvals} of {required}",
        "risk": (staged.dossier.get("summary") or {}).get("headline") or "none",
        "reviewUrl": registry_url(reverse("registry:staged-review", args=[staged.pk])),
    }


def _logged_in(request):
    actor = request_actor(request)
    if actor.user is None:
        raise AuthenticationRequired(
            "You must be logged in to use staged releases. Run `npm login`."
        )
    return actor


def _no_cache(response):
    patch_cache_control(response, no_cache=True, private=True)
    return response


class StagePublish(APIView):
    def post(self, request, name: str):
        staged = version_stage(actor=request_actor(request), name=name, body=request.data)
        return Response({"stageId": str(staged.pk), **staged_item(staged)}, status=201)


def _int(request, key: str, default: int, maximum: int) -> int:
    """A paging number, clamped to 0..maximum: past the last page the answer is empty,
    and no number is too large for the database."""
    try:
        return min(max(0, int(request.query_params.get(key, default))), maximum)
    except ValueError:
        raise InvalidPayload(f'"{key}" must be a number.') from None


class StageList(APIView):
    def get(self, request):
        actor = _logged_in(request)
        page = _int(request, "page", 0, MAX_PAGE)
        per_page = _int(request, "perPage", MAX_PER_PAGE, MAX_PER_PAGE) or 1
        releases = staged_releases_reviewable(actor).filter(status="staged")
        if request.query_params.get("package"):
            releases = releases.filter(package__name=request.query_params["package"])
        total = releases.count()
        items = [staged_item(s) for s in releases[page * per_page : (page + 1) * per_page]]
        return _no_cache(Response({"items": items, "total": total}))


class StageItem(APIView):
    def get(self, request, stage_id: str):
        return _no_cache(Response(staged_item(staged_release_for(_logged_in(request), stage_id))))

    def delete(self, request, stage_id: str):
        staged_release_reject(actor=_logged_in(request), stage_id=stage_id)
        return Response({"ok": True})


class StageApprove(APIView):
    def post(self, request, stage_id: str):
        staged = staged_release_approve(actor=_logged_in(request), stage_id=stage_id)
        return Response(staged_item(staged), headers=_waiting_notice(staged))


def _waiting_notice(staged) -> dict[str, str]:
    """npm prints "approved and published successfully" whatever the answer says, and shows
    an `npm-notice` header: there, say when the release still waits for others."""
    if staged.status != "staged":
        return {}
    approvals, required = approvals_summary(staged)
    missing = required - approvals
    return {
        "npm-notice": (
            f"Your approval of {staged.package.name}@{staged.version_number} is recorded "
            f"({approvals} of {required}). It needs {missing} more approval"
            f"{'' if missing == 1 else 's'} from other maintainers before it is published."
        )
    }


class StageTarball(APIView):
    def get(self, request, stage_id: str):
        staged = staged_release_for(_logged_in(request), stage_id)
        response = HttpResponse(
            staged_release_tarball(staged), content_type="application/octet-stream"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="{staged.version.tarball_filename}"'
        )
        return _no_cache(response)


class StageStatus(APIView):
    """For CI: poll until `status` is published, rejected or expired."""

    def get(self, request, stage_id: str):
        staged = staged_release_for(_logged_in(request), stage_id, closed=True)
        approvals, required = approvals_summary(staged)
        return _no_cache(
            Response(
                {
                    "id": str(staged.pk),
                    "packageName": staged.package.name,
                    "version": staged.version_number,
                    "status": staged.status,
                    "approvals": approvals,
                    "approvalsRequired": required,
                    "decidedAt": staged.decided_at.isoformat() if staged.decided_at else None,
                    "expiresAt": staged.expires_at.isoformat(),
                }
            )
        )
