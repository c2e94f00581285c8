"""Staged publishing: automation stages a release without a second factor; people with
one approve it (a quorum of them, where the package asks) or reject it."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.actors import Actor
from accounts.events import event_record
from portal.errors import Conflict, DomainError, NotFound, PermissionDenied
from registry import semver
from registry.approvals import approvals_counted
from registry.authz import Action, Operation, authorize, decide, packages_writable_by
from registry.blobs import blob_cleanup, blob_read
from registry.dossier import Release, dossier_build
from registry.models import Package, StagedApproval, StagedRelease, Version
from registry.notifications import staged_release_notify
from registry.policy import Policy, package_policy
from registry.services.common import package_lock
from registry.services.publish import (
    PreparedRelease,
    package_for_release,
    release_prepare,
    tarball_limits,
    version_exists_error,
    version_go_live,
    version_row_create,
)

Status = StagedRelease.Status


class StageIdInvalid(DomainError):
    """Not a stage id at all (npm would not send one): 400, unlike an unknown id's 404."""


# Staging ------------------------------------------------------------------------------


def actor_identity(actor: Actor) -> tuple[str, str]:
    """(actor type, label) for the record: who staged, and with what credential."""
    if actor.token is None:
        return StagedRelease.ActorType.USER, actor.user.username
    name = actor.token.name or actor.token.display_prefix
    return StagedRelease.ActorType.TOKEN, f"{actor.user.username} (token {name})"


def version_stage(*, actor: Actor, name: str, body) -> StagedRelease:
    """`npm stage publish`: the publish checks, then a staged release instead of a version."""
    prepared = release_prepare(actor=actor, name=name, body=body, action=Action.STAGE)
    try:
        with blob_cleanup() as written, transaction.atomic():
            package, created = package_for_release(actor, prepared.request, Action.STAGE)
            version = version_row_create(actor, package, prepared, Version.State.STAGED, written)
            staged = _staged_record(actor, package, version, prepared)
            event_record(
                "package:stage",
                actor=actor,
                package=package,
                details={
                    "version": version.version,
                    "tag": staged.tag,
                    "stage": str(staged.pk),
                    "created": created,
                },
            )
            staged_release_notify(staged, "staged")
    except IntegrityError:
        raise version_exists_error(prepared.request.name, prepared.request.version) from None
    return staged


def _staged_record(
    actor, package: Package, version: Version, prepared: PreparedRelease
) -> StagedRelease:
    actor_type, label = actor_identity(actor)
    previous = _replaced_version(package, prepared.request.tag)
    dossier = dossier_build(
        staged=Release(
            manifest=version.manifest,
            tarball=prepared.request.tarball,
            publisher=_publisher_of(actor.user),
        ),
        previous=_release_of(previous) if previous else None,
        known_publishers=_known_publishers(package),
        limits=tarball_limits(),
    )
    return StagedRelease.objects.create(
        package=package,
        version=version,
        version_number=version.version,
        tag=prepared.request.tag,
        actor=actor.user,
        actor_type=actor_type,
        actor_label=label,
        shasum=prepared.digests.shasum,
        integrity=prepared.digests.integrity,
        sha512=prepared.digests.sha512_hex,
        size=len(prepared.request.tarball),
        dossier=dossier,
        expires_at=timezone.now() + timedelta(hours=settings.GATEHOUSE_STAGE_TTL_HOURS),
    )


def _replaced_version(package: Package, tag: str) -> Version | None:
    """What installers get today for the staged release's tag (else the highest release)."""
    tagged = package.dist_tags.filter(tag=tag).select_related("version").first()
    if tagged is not None:
        return tagged.version
    published = {v.version: v for v in package.versions.filter(state=Version.State.PUBLISHED)}
    best = semver.max_version(published, include_prerelease=True)
    return published.get(best) if best else None


def _publisher_of(user) -> str:
    """Who released, as the dossier compares them: the person, whatever credential they used
    (a version staged and approved carries its stager as publisher)."""
    return f"user:{user.username}" if user is not None else "unknown"


def _release_of(version: Version) -> Release:
    return Release(
        manifest=version.manifest,
        tarball=blob_read(version.blob),
        publisher=_publisher_of(version.publisher),
    )


def _known_publishers(package: Package) -> set[str]:
    people = package.versions.filter(state=Version.State.PUBLISHED, publisher__isnull=False)
    return {f"user:{name}" for name in people.values_list("publisher__username", flat=True)}


# Finding staged releases ------------------------------------------------------------------


def staged_releases_reviewable(actor: Actor):
    """Staged releases this actor may see: those of packages they may write (as a
    maintainer, an org owner or admin, or through a read-write team grant)."""
    if actor.user is None:
        return StagedRelease.objects.none()
    writable = packages_writable_by(actor.user).values("pk")
    return StagedRelease.objects.filter(package__in=writable).select_related("package")


def _stage_pk(stage_id) -> uuid.UUID:
    try:
        return uuid.UUID(str(stage_id))
    except ValueError:
        raise StageIdInvalid(
            f'"{stage_id}" is not a stage id. Use the id `npm stage list` shows.'
        ) from None


def _visible_or_404(actor: Actor, staged: StagedRelease | None, stage_id) -> StagedRelease:
    if staged is None or not decide(actor, Action.REVIEW, package=staged.package).allowed:
        raise NotFound(f"There is no staged release {stage_id} that you may see.")
    return staged


def staged_release_for(actor: Actor, stage_id: str, *, closed: bool = False) -> StagedRelease:
    """Fetch and authorize in one step; someone else's staged release looks missing.

    A rejected or expired release is gone too (npm tells the person who rejects it that
    its record and tarball are deleted): only its outcome remains, for the status CI
    polls, which asks with ``closed=True``.
    """
    pk = _stage_pk(stage_id)
    staged = StagedRelease.objects.select_related("package", "version").filter(pk=pk).first()
    staged = _visible_or_404(actor, staged, stage_id)
    if not closed and staged.status in (Status.REJECTED, Status.EXPIRED):
        raise NotFound(
            f"The staged release of {staged.package.name}@{staged.version_number} was "
            f"{staged.status}: its record and tarball are deleted. Stage the version again "
            "with `npm stage publish` if you still want it."
        )
    return staged


def _locked(pk, *, skip_locked: bool = False):
    """The release under its own row lock. Only its own: `version` is a nullable join, and
    PostgreSQL refuses FOR UPDATE on the nullable side of an outer join."""
    return (
        StagedRelease.objects.select_for_update(of=("self",), skip_locked=skip_locked)
        .select_related("package", "version")
        .filter(pk=pk)
    )


def staged_release_tarball(staged: StagedRelease) -> bytes:
    if staged.status != Status.STAGED or staged.version is None:
        raise NotFound(
            f"{staged.package.name}@{staged.version_number} is no longer staged ({staged.status})."
        )
    return blob_read(staged.version.blob)


# Deciding ---------------------------------------------------------------------------


def _decider_check(staged: StagedRelease, verb: str) -> None:
    if staged.status != Status.STAGED:
        raise Conflict(
            f"{staged.package.name}@{staged.version_number} was already {staged.status}; there is "
            f"nothing left to {verb}."
        )


def decision_operation(staged: StagedRelease, verb: str) -> Operation:
    """What a second factor approves: this release and exactly these bytes. A security-key
    assertion in the portal is bound to the same key."""
    name = f"{staged.package.name}@{staged.version_number}"
    return Operation(
        key=f"{verb}:{staged.pk}:{staged.sha512}",
        summary=f"{verb.capitalize()} the staged release {name} (tag {staged.tag})",
        details={
            "action": f"stage {verb}",
            "package": staged.package.name,
            "version": staged.version_number,
            "tag": staged.tag,
        },
        session_may_prove=False,
    )


def _decision_begin(actor: Actor, stage_id, verb: str) -> tuple[StagedRelease, Policy, str]:
    """Inside the caller's transaction: the release under its lock (one fetch), the package's
    policy (one read), the decider authorized against both (role, a second factor proved for
    this release) and the factor that proved it."""
    staged = _visible_or_404(actor, _locked(_stage_pk(stage_id)).first(), stage_id)
    _decider_check(staged, verb)
    # Then the package's: changes to its maintainers take it too, so the approvals are
    # counted either wholly before such a change or wholly after it.
    staged.package = package_lock(staged.package)
    policy = package_policy(staged.package)
    factor = authorize(
        actor,
        Action.APPROVE,
        package=staged.package,
        operation=decision_operation(staged, verb),
        policy=policy,
    )
    return staged, policy, factor


def staged_release_approve(*, actor: Actor, stage_id) -> StagedRelease:
    """Record `actor`'s approval, proved by a second factor bound to this release; publish
    the release once enough people who still may approve have approved it. Exactly those
    bytes go live."""
    _expire_if_overdue(_stage_pk(stage_id))
    with transaction.atomic():
        staged, policy, factor = _decision_begin(actor, stage_id, "approve")
        package = staged.package
        if policy.exclude_stager and staged.actor_id == actor.user.pk:
            raise PermissionDenied(
                f"You staged {package.name}@{staged.version_number}, and {package.name} needs the "
                "approval of someone else. Ask another maintainer to review it."
            )
        if staged.approvals.filter(user=actor.user).exists():
            raise Conflict(
                "You already approved this release; it is waiting for other maintainers."
            )
        StagedApproval.objects.create(
            staged_release=staged, user=actor.user, factor=factor, sha512=staged.sha512
        )
        event_record(
            "package:stage-approve",
            actor=actor,
            package=package,
            details={
                "stage": str(staged.pk),
                "version": staged.version_number,
                "sha512": staged.sha512,
                "factor": factor,
            },
        )
        if approvals_counted(staged, policy) >= policy.approvals_required:
            _promote(actor, staged)
        staged_release_notify(
            staged, "approved" if staged.status == Status.PUBLISHED else "approval"
        )
    return staged


def _promote(actor: Actor, staged: StagedRelease) -> None:
    version = staged.version
    if version is None or version.blob_id != staged.sha512:
        raise Conflict("The staged tarball changed since it was staged; it cannot be published.")
    version.state = Version.State.PUBLISHED
    version.published_at = timezone.now()
    version.save(update_fields=["state", "published_at"])
    package = Package.objects.select_for_update().get(pk=staged.package_id)
    version_go_live(package, version, staged.tag)
    staged.status = Status.PUBLISHED
    staged.decided_at = timezone.now()
    staged.decided_by = actor.user
    staged.save(update_fields=["status", "decided_at", "decided_by"])
    event_record(
        "package:publish",
        actor=actor,
        package=package,
        details={
            "version": version.version,
            "tag": staged.tag,
            "integrity": staged.integrity,
            "stage": str(staged.pk),
        },
    )


def staged_release_reject(*, actor: Actor, stage_id) -> StagedRelease:
    _expire_if_overdue(_stage_pk(stage_id))
    with transaction.atomic():
        staged, _, factor = _decision_begin(actor, stage_id, "reject")
        _close(staged, Status.REJECTED, actor.user)
        event_record(
            "package:stage-reject",
            actor=actor,
            package=staged.package,
            details={"stage": str(staged.pk), "version": staged.version_number, "factor": factor},
        )
        staged_release_notify(staged, "rejected")
    return staged


def _close(staged: StagedRelease, status: str, decided_by) -> None:
    """End a staged release without publishing it. Its version row goes, so the number is
    free again and nothing references the tarball any more: the periodic `blobs_collect`
    deletes the bytes (unless another version has the same). The review dossier goes too,
    since it quotes the tarball's files. What stays is the outcome, and the events."""
    if staged.version is not None:
        staged.version.delete()
    staged.version = None
    staged.dossier = {}
    staged.status = status
    staged.decided_at = timezone.now()
    staged.decided_by = decided_by
    staged.save(update_fields=["version", "dossier", "status", "decided_at", "decided_by"])


# The clock --------------------------------------------------------------------------


def staged_releases_sweep() -> tuple[int, int]:
    """Expire overdue releases and remind approvers of those about to expire.

    Safe to run twice and from several workers: each row is claimed under a lock.
    """
    now = timezone.now()
    reminded = 0
    overdue = StagedRelease.objects.filter(status=Status.STAGED, expires_at__lte=now)
    expired = sum(_expire_if_overdue(pk) for pk in overdue.values_list("pk", flat=True))
    soon = now + timedelta(hours=settings.GATEHOUSE_STAGE_REMIND_HOURS)
    due = StagedRelease.objects.filter(
        status=Status.STAGED, reminded_at__isnull=True, expires_at__lte=soon
    )
    for staged in due.select_related("package"):
        if StagedRelease.objects.filter(pk=staged.pk, reminded_at__isnull=True).update(
            reminded_at=now
        ):
            staged_release_notify(staged, "reminder")
            reminded += 1
    return expired, reminded


def _expire_if_overdue(pk) -> bool:
    """Expire the release if its time is up. The sweep calls this, and so does every decision:
    the next sweep may be minutes away (or, in embedded mode, never come)."""
    with transaction.atomic():
        staged = (
            _locked(pk, skip_locked=True)
            .filter(status=Status.STAGED, expires_at__lte=timezone.now())
            .first()
        )
        if staged is None:
            return False
        _close(staged, Status.EXPIRED, None)
        event_record(
            "package:stage-expire",
            actor=Actor(user=None),
            package=staged.package,
            details={"stage": str(staged.pk), "version": staged.version_number},
        )
        staged_release_notify(staged, "expired")
    return True
