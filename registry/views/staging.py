"""The staging dashboard: the queue a maintainer lives in, and the review page where a
release is approved or rejected with a fresh second factor."""

from dataclasses import replace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.second_factor import OTPRequired
from accounts.views.common import portal_actor
from accounts.webauthn import (
    KeyCeremonyFailed,
    key_assertion_begin,
    key_assertion_complete,
    keys_of,
)
from portal.errors import DomainError, NotFound
from portal.json_input import json_parse
from registry.approvals import approvals_summary
from registry.models import StagedRelease
from registry.services.stage import (
    decision_operation,
    staged_release_approve,
    staged_release_for,
    staged_release_reject,
    staged_releases_reviewable,
)

DECISIONS = {"approve": staged_release_approve, "reject": staged_release_reject}


@login_required
def queue(request):
    releases = (
        staged_releases_reviewable(portal_actor(request))
        .filter(status=StagedRelease.Status.STAGED)
        .select_related("package__org")
        .order_by("-created_at")
    )
    # Counted as the review page and the approval service count them (org policy included).
    rows = [(staged, *approvals_summary(staged)) for staged in releases]
    return render(request, "registry/staging_queue.html", {"rows": rows})


def _staged_or_404(request, stage_id):
    try:
        return staged_release_for(portal_actor(request), str(stage_id))
    except DomainError:
        raise Http404("No such staged release, or it is not yours to review.") from None


@login_required
def review(request, stage_id):
    staged = _staged_or_404(request, stage_id)
    approvals, required = approvals_summary(staged)
    context = {
        "staged": staged,
        "dossier": staged.dossier,
        "approvals": staged.approvals.select_related("user").order_by("created_at"),
        "approval_count": approvals,
        "approvals_required": required,
        "has_keys": keys_of(request.user).exists(),
        "has_two_factor": request.user.has_two_factor,
        "already_approved": staged.approvals.filter(user=request.user).exists(),
        "history": staged.package.events.filter(details__stage=str(staged.pk))
        .select_related("actor")
        .order_by("created_at")[:20],
        "changes": [
            {**change, "lines": _patch_lines(change.get("patch"))}
            for change in staged.dossier.get("diff", {}).get("changed", [])
        ],
    }
    return render(request, "registry/staging_review.html", context)


def _patch_lines(patch: str | None) -> list[tuple[str, str]]:
    """A unified diff as (kind, line) pairs, so that the page can colour it: the two file
    headers, hunk headers, added, removed and context lines, and difflib's notes."""
    lines = (patch or "").split("\n")  # only \n, as the dossier splits files
    if lines[-1] == "":
        lines.pop()
    kinds = {"@": "hunk", "+": "add", "-": "del", "\\": "note"}
    return [
        ("file" if number < 2 else kinds.get(line[:1], "ctx"), line)
        for number, line in enumerate(lines)
    ]


@login_required
@require_POST
def decide_with_code(request, stage_id, verb: str):
    """Approve or reject with an app code or a recovery code typed on the review page. The
    service fetches, locks and authorizes the release; the view only says how it went."""
    actor = replace(portal_actor(request), otp=request.POST.get("code", "").strip() or None)
    try:
        staged = DECISIONS[verb](actor=actor, stage_id=stage_id)
    except NotFound:
        raise Http404("No such staged release, or it is not yours to review.") from None
    except OTPRequired as exc:
        # Without a code the service asks for one in the CLI's words; say it in the page's.
        messages.error(
            request, exc.message if actor.otp else "Enter a code from your authenticator app."
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _decided_message(staged, verb))
        return redirect(_next_page(staged))
    return redirect("registry:staged-review", stage_id=stage_id)


def _next_page(staged) -> str:
    """Back to the review page, or to the queue once the release is gone: a rejected or
    expired release has no review page any more."""
    if staged.status in (StagedRelease.Status.REJECTED, StagedRelease.Status.EXPIRED):
        return reverse("registry:staging")
    return reverse("registry:staged-review", args=[staged.pk])


def _decided_message(staged, verb: str) -> str:
    name = f"{staged.package.name}@{staged.version_number}"
    if staged.status == StagedRelease.Status.PUBLISHED:
        return f"Approved: {name} is published."
    if staged.status == StagedRelease.Status.REJECTED:
        return f"Rejected: {name} was removed and its version number is free again."
    return f"Your approval of {name} is recorded; it waits for the other approvals."


def _purpose(staged, verb: str) -> str:
    """Binds a key assertion to this release and exactly these bytes."""
    return decision_operation(staged, verb).key


@login_required
@require_POST
def decide_key_begin(request, stage_id, verb: str):
    staged = _staged_or_404(request, stage_id)
    return JsonResponse(key_assertion_begin(request, request.user, _purpose(staged, verb)))


@login_required
@require_POST
def decide_key_complete(request, stage_id, verb: str):
    staged = _staged_or_404(request, stage_id)
    try:
        body = json_parse(request.body or b"{}")
        purpose = _purpose(staged, verb)
        key_assertion_complete(request, request.user, purpose, body.get("credential") or {})
        staged = DECISIONS[verb](actor=portal_actor(request, key_proof=purpose), stage_id=staged.pk)
    except (ValueError, AttributeError):
        return JsonResponse(
            {"error": "Malformed request. Reload the page and try again."}, status=400
        )
    except (KeyCeremonyFailed, DomainError) as exc:
        return JsonResponse({"error": exc.message}, status=getattr(exc, "status", 400))
    messages.success(request, _decided_message(staged, verb))
    return JsonResponse({"next": _next_page(staged)})
