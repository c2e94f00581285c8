import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from registry.orgs.models import Invitation, Membership, Org, Team, TeamGrant, TeamMember


class Package(models.Model):
    class Access(models.TextChoices):
        PUBLIC = "public"
        RESTRICTED = "restricted"

    name = models.CharField(max_length=255, unique=True)
    scope = models.CharField(max_length=214, blank=True, db_index=True)
    # Set for packages in an organization's scope: the org's roles, teams and policies apply.
    org = models.ForeignKey(
        Org, null=True, blank=True, on_delete=models.PROTECT, related_name="packages"
    )
    access = models.CharField(max_length=16, choices=Access.choices, default=Access.PUBLIC)
    # Bumped on every write; the packument's `_rev` is "<revision>-<hash>".
    revision = models.PositiveIntegerField(default=0)
    description = models.TextField(blank=True)
    keywords = models.JSONField(default=list, blank=True)
    latest_version = models.CharField(max_length=256, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    modified_at = models.DateTimeField(default=timezone.now)
    unpublished_at = models.DateTimeField(null=True, blank=True)
    # Publishing policy. npm's `access set mfa=…`: a second factor for every publish,
    # and whether tokens made to bypass it may still publish.
    publish_requires_tfa = models.BooleanField(default=False)
    automation_token_overrides_tfa = models.BooleanField(default=False)
    # Gatehouse's own: every release goes through the staging queue, and how many people
    # must approve it (the one who staged it not counted when `exclude_stager`).
    require_staged = models.BooleanField(default=False)
    approvals_required = models.PositiveSmallIntegerField(default=1)
    exclude_stager = models.BooleanField(default=False)

    def __str__(self):
        return self.name

    @property
    def is_restricted(self) -> bool:
        return self.access == self.Access.RESTRICTED


class Maintainer(models.Model):
    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="maintainers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="maintainerships"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["package", "user"], name="registry_maintainer_unique")
        ]
        ordering = ["added_at", "id"]

    def __str__(self):
        return f"{self.user} maintains {self.package}"


class Star(models.Model):
    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="stars")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stars"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["package", "user"], name="registry_star_unique")
        ]

    def __str__(self):
        return f"{self.user} starred {self.package}"


class Blob(models.Model):
    """Tarball bytes, stored once per sha512 through the `tarballs` storage."""

    sha512 = models.CharField(max_length=128, primary_key=True)
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"sha512 {self.sha512[:16]}… ({self.size} bytes)"

    @staticmethod
    def path_for(sha512: str) -> str:
        return f"sha512/{sha512[:2]}/{sha512[2:4]}/{sha512}.tgz"

    @property
    def path(self) -> str:
        return self.path_for(self.sha512)


class Version(models.Model):
    """One row per (package, version) whatever its state, so a version is never reused."""

    class State(models.TextChoices):
        STAGED = "staged"
        PUBLISHED = "published"
        UNPUBLISHED = "unpublished"

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(max_length=256)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PUBLISHED)
    # The manifest exactly as it appears in the full packument (dist included).
    manifest = models.JSONField()
    blob = models.ForeignKey(Blob, null=True, blank=True, on_delete=models.PROTECT)
    tarball_filename = models.CharField(max_length=300)
    # Kept out of the manifest: the packument carries only the latest version's readme.
    readme = models.TextField(blank=True)
    readme_filename = models.CharField(max_length=200, blank=True)
    publisher = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(default=timezone.now)
    unpublished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["package", "version"], name="registry_version_unique")
        ]

    def __str__(self):
        return f"{self.package.name}@{self.version}"


class DistTag(models.Model):
    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="dist_tags")
    tag = models.CharField(max_length=214)
    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="dist_tags")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["package", "tag"], name="registry_dist_tag_unique")
        ]

    def __str__(self):
        return f"{self.package}@{self.tag}"


class Packument(models.Model):
    """A package's documents as ready bytes: what installs read, built on every write.

    `name` and `restricted` are copied here so a read is one indexed lookup on one table.
    """

    package = models.OneToOneField(
        Package, on_delete=models.CASCADE, primary_key=True, related_name="packument"
    )
    name = models.CharField(max_length=255, unique=True)
    restricted = models.BooleanField(default=False)
    unpublished_at = models.DateTimeField(null=True, blank=True)
    rev = models.CharField(max_length=80)
    full = models.BinaryField()
    full_etag = models.CharField(max_length=100)
    abbreviated = models.BinaryField()
    abbreviated_etag = models.CharField(max_length=100)
    modified_at = models.DateTimeField()

    def __str__(self):
        return f"packument of {self.name} ({self.rev})"


class Dependency(models.Model):
    """A package that a published version depends on, so "who depends on X" is one query."""

    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="dependency_rows")
    name = models.CharField(max_length=255, db_index=True)

    def __str__(self):
        return f"{self.version} depends on {self.name}"


class StagedRelease(models.Model):
    """A release waiting in the staging queue, and afterwards its record.

    While it waits, its Version row (state `staged`) holds the version number, so a
    direct publish of the same version fails on the same unique index. Rejected or
    expired releases drop that row and free the number; this record stays for history
    and for the status CI polls.
    """

    class Status(models.TextChoices):
        STAGED = "staged"
        PUBLISHED = "published"
        REJECTED = "rejected"
        EXPIRED = "expired"

    class ActorType(models.TextChoices):
        USER = "user"
        TOKEN = "token"  # noqa: S105 - a kind of credential, not a secret

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="staged_releases")
    version = models.OneToOneField(
        Version, null=True, blank=True, on_delete=models.SET_NULL, related_name="staged_release"
    )
    version_number = models.CharField(max_length=256)
    tag = models.CharField(max_length=214)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.STAGED, db_index=True
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_type = models.CharField(max_length=20, choices=ActorType.choices)
    # How it was staged, in words: "alice", "token ci-release (alice)", a trusted publisher.
    actor_label = models.CharField(max_length=300)
    publisher_claims = models.JSONField(default=dict, blank=True)
    shasum = models.CharField(max_length=40)
    integrity = models.CharField(max_length=100)
    sha512 = models.CharField(max_length=128)
    size = models.PositiveBigIntegerField(default=0)
    dossier = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    expires_at = models.DateTimeField(db_index=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.package.name}@{self.version_number} ({self.status})"


class StagedApproval(models.Model):
    """One person's approval: who, when, with which factor, and exactly which bytes."""

    staged_release = models.ForeignKey(
        StagedRelease, on_delete=models.CASCADE, related_name="approvals"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    factor = models.CharField(max_length=40)
    sha512 = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["staged_release", "user"], name="registry_staged_approval_once"
            )
        ]

    def __str__(self):
        return f"{self.user} approved {self.staged_release}"


__all__ = [
    "Blob",
    "Dependency",
    "DistTag",
    "Invitation",
    "Maintainer",
    "Membership",
    "Org",
    "Package",
    "Packument",
    "StagedApproval",
    "StagedRelease",
    "Team",
    "TeamGrant",
    "TeamMember",
    "Version",
]
