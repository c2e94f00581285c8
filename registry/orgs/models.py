"""Organizations: members with roles, teams, invitations, the policies owners set, and
the grants teams hold on the org's packages.

These are models of the `registry` app (registry.models imports this module). Their
tables and constraint names date from when they lived in `accounts`: the tables were
renamed (accounts 0006), the constraint names kept, since renaming a constraint rebuilds
the table on SQLite.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models.users import username_validator

# Every org has this team; new members join it and new packages are granted to it (as npm).
DEVELOPERS_TEAM = "developers"


class Org(models.Model):
    """An organization owns the scope `@<name>` and every package in it."""

    class PublishingAccess(models.TextChoices):
        ANY = "any", "any credential that may write"
        SECOND_FACTOR = "second-factor", "a second factor for every publish; tokens may not publish"
        STAGE_AUTOMATION = (
            "stage-automation",
            "without a second factor (tokens, trusted publishers) only staged publishing",
        )

    name = models.CharField(max_length=214, unique=True, validators=[username_validator])
    description = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Policies. A package may be stricter than its org, never looser.
    require_2fa = models.BooleanField(default=False)
    require_staged = models.BooleanField(default=False)
    approvals_required = models.PositiveSmallIntegerField(default=1)
    exclude_stager = models.BooleanField(default=False)
    publishing_access = models.CharField(
        max_length=20, choices=PublishingAccess.choices, default=PublishingAccess.ANY
    )
    # Dependency sources, mirroring npm's --allow-remote/--allow-git/--allow-file/--allow-directory.
    allow_remote = models.BooleanField(default=True)
    allow_git = models.BooleanField(default=True)
    allow_file = models.BooleanField(default=True)
    allow_directory = models.BooleanField(default=True)
    # The longest a token that can write the org's packages may live (None: no limit).
    max_token_days = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self):
        return f"@{self.name}"


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"
        ADMIN = "admin"
        MEMBER = "member"  # npm's CLI says "developer"

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "user"], name="accounts_membership_once")
        ]

    def __str__(self):
        return f"{self.user} is {self.role} of {self.org}"


class Team(models.Model):
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=100, validators=[username_validator])
    description = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="accounts_team_name_unique")
        ]

    def __str__(self):
        return f"@{self.org.name}:{self.name}"


class TeamMember(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="accounts_team_member_once")
        ]

    def __str__(self):
        return f"{self.user} in {self.team}"


class Invitation(models.Model):
    """An invitation to join an org, by username or by email; accepted in the portal."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="invitations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="invitations",
    )
    email = models.EmailField(blank=True)
    # Only a hash of the link's secret for email invitations (the link is the credential).
    token_hash = models.CharField(max_length=64, blank=True)
    role = models.CharField(
        max_length=10, choices=Membership.Role.choices, default=Membership.Role.MEMBER
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"invitation to {self.org} for {self.user or self.email}"

    @property
    def is_open(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )


class TeamGrant(models.Model):
    """A team's permission on one of its org's packages (npm's `access grant`)."""

    class Permission(models.TextChoices):
        READ_ONLY = "read-only"
        READ_WRITE = "read-write"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="grants")
    package = models.ForeignKey(
        "registry.Package", on_delete=models.CASCADE, related_name="team_grants"
    )
    permission = models.CharField(max_length=10, choices=Permission.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "package"], name="registry_team_grant_once")
        ]

    def __str__(self):
        return f"{self.team} {self.permission} {self.package}"
