import uuid

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

# npm's user names: lowercase, URL-safe, not starting with a dot; they appear in
# `@user/pkg` scopes and in `/-/user/org.couchdb.user:<name>` paths.
username_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9._-]*\Z",
    "A username may contain lowercase letters, digits, dots, dashes and underscores, "
    "and must start with a letter or digit.",
)


class User(AbstractUser):
    class TwoFactorMode(models.TextChoices):
        DISABLED = "disabled", "off"
        AUTH_ONLY = "auth-only", "sign-in and account changes"
        AUTH_AND_WRITES = "auth-and-writes", "sign-in, account changes and every write"

    username = models.CharField(
        max_length=214,
        unique=True,
        validators=[username_validator],
        error_messages={"unique": "That username is taken."},
    )
    email = models.EmailField()
    email_verified = models.BooleanField(default=False)
    # A new address asked for and not confirmed yet: `email` stays in force until its
    # verification link is followed (accounts.services.email_verification).
    pending_email = models.EmailField(blank=True)
    fullname = models.CharField(max_length=200, blank=True)
    # npm's 2FA modes; "disabled" exactly when the person has no confirmed factor.
    tfa_mode = models.CharField(
        max_length=16, choices=TwoFactorMode.choices, default=TwoFactorMode.DISABLED
    )

    objects = UserManager()

    @property
    def has_two_factor(self) -> bool:
        return self.tfa_mode != self.TwoFactorMode.DISABLED

    REQUIRED_FIELDS = ["email"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci"),
        ]


class TokenQuerySet(models.QuerySet):
    def active(self):
        now = timezone.now()
        return self.filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))


class Token(models.Model):
    """A bearer credential for the npm CLI. Only a hash of the secret is stored."""

    class Kind(models.TextChoices):
        SESSION = "session", "login session"

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.SESSION)
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters of the secret, so a person can recognise a token in lists.
    display_prefix = models.CharField(max_length=16)
    name = models.CharField(max_length=100, blank=True)
    readonly = models.BooleanField(default=False)
    cidr_whitelist = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_ip = models.GenericIPAddressField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)

    objects = TokenQuerySet.as_manager()

    def __str__(self):
        return f"{self.display_prefix}… ({self.user})"


class WebLogin(models.Model):
    """A pending `npm login` in the browser: the CLI polls while the person confirms."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The CLI proves it started this login with the secret in its doneUrl; only its hash is kept.
    done_hash = models.CharField(max_length=64, unique=True)
    create_account = models.BooleanField(default=False)
    requested_ip = models.GenericIPAddressField(null=True, blank=True)
    requested_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"npm login {self.pk} ({'confirmed' if self.confirmed_at else 'pending'})"


class SecurityEvent(models.Model):
    """One security-relevant action: who did what, to whom or what, from where."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="security_events"
    )
    package = models.ForeignKey(
        "registry.Package", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    package_name = models.CharField(max_length=214, blank=True)
    org = models.ForeignKey(
        "registry.Org", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    token_key = models.UUIDField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action}"


class RecoveryCode(models.Model):
    """One recovery code, stored as a keyed hash; a used code is burned, never deleted."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "code_hash"], name="accounts_recovery_code_unique"
            )
        ]

    def __str__(self):
        return f"recovery code of {self.user} ({'used' if self.used_at else 'unused'})"


class OTPChallenge(models.Model):
    """A write at the npm CLI waiting for a security key: the person approves it in the
    portal, and the CLI's poll receives a one-time code bound to that operation."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="otp_challenges")
    token_key = models.UUIDField(null=True, blank=True)
    operation = models.CharField(max_length=600)
    description = models.JSONField(default=dict)
    done_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    approved_at = models.DateTimeField(null=True, blank=True)
    code_hash = models.CharField(max_length=64, blank=True)
    code_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"OTP challenge {self.pk} for {self.user}"


class SecondFactorUse(models.Model):
    """A one-time code that proved a second factor at the npm CLI, and the operation it
    proved. The code is kept only as a keyed hash. One row per person and code: the first
    operation to record it owns it; within the reuse window the code passes again for that
    operation only (npm repeats `--otp` on every request of a command), never for another.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=64)
    operation = models.TextField()
    factor = models.CharField(max_length=16)
    used_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "code_hash"], name="accounts_second_factor_use_unique"
            )
        ]

    def __str__(self):
        return f"{self.factor} code of {self.user} for {self.operation}"
