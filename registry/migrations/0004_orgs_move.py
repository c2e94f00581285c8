"""Organizations move here from accounts (registry.orgs.models).

The tables already carry the registry's names (accounts 0006), so this only tells
Django's state that the models are the registry's now, and points the foreign keys of
Package and TeamGrant at them; the database keeps its rows and constraints. The content
types follow, so admin permissions and log entries keep pointing at the same models.
"""

import uuid

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

ORG_MODELS = ("org", "membership", "team", "teammember", "invitation")

name_validator = django.core.validators.RegexValidator(
    "^[a-z0-9][a-z0-9._-]*\\Z",
    "A username may contain lowercase letters, digits, dots, dashes and underscores, "
    "and must start with a letter or digit.",
)
ROLES = [("owner", "Owner"), ("admin", "Admin"), ("member", "Member")]


def content_types_move(apps, schema_editor, *, source="accounts", target="registry"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    taken = set(
        ContentType.objects.filter(app_label=target, model__in=ORG_MODELS).values_list(
            "model", flat=True
        )
    )
    ContentType.objects.filter(app_label=source, model__in=ORG_MODELS).exclude(
        model__in=taken
    ).update(app_label=target)


def content_types_move_back(apps, schema_editor):
    content_types_move(apps, schema_editor, source="registry", target="accounts")


state_operations = [
    migrations.CreateModel(
        name="Org",
        fields=[
            (
                "id",
                models.BigAutoField(
                    auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                ),
            ),
            ("name", models.CharField(max_length=214, unique=True, validators=[name_validator])),
            ("description", models.CharField(blank=True, max_length=300)),
            ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ("require_2fa", models.BooleanField(default=False)),
            ("require_staged", models.BooleanField(default=False)),
            ("approvals_required", models.PositiveSmallIntegerField(default=1)),
            ("exclude_stager", models.BooleanField(default=False)),
            (
                "publishing_access",
                models.CharField(
                    choices=[
                        ("any", "any credential that may write"),
                        (
                            "second-factor",
                            "a second factor for every publish; tokens may not publish",
                        ),
                        (
                            "stage-automation",
                            "without a second factor (tokens, trusted publishers) only staged publishing",
                        ),
                    ],
                    default="any",
                    max_length=20,
                ),
            ),
            ("allow_remote", models.BooleanField(default=True)),
            ("allow_git", models.BooleanField(default=True)),
            ("allow_file", models.BooleanField(default=True)),
            ("allow_directory", models.BooleanField(default=True)),
            ("max_token_days", models.PositiveIntegerField(blank=True, null=True)),
        ],
    ),
    migrations.CreateModel(
        name="Invitation",
        fields=[
            (
                "id",
                models.UUIDField(
                    default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                ),
            ),
            ("email", models.EmailField(blank=True, max_length=254)),
            ("token_hash", models.CharField(blank=True, max_length=64)),
            ("role", models.CharField(choices=ROLES, default="member", max_length=10)),
            ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ("expires_at", models.DateTimeField()),
            ("accepted_at", models.DateTimeField(blank=True, null=True)),
            ("revoked_at", models.DateTimeField(blank=True, null=True)),
            (
                "invited_by",
                models.ForeignKey(
                    null=True,
                    on_delete=django.db.models.deletion.SET_NULL,
                    related_name="+",
                    to=settings.AUTH_USER_MODEL,
                ),
            ),
            (
                "user",
                models.ForeignKey(
                    blank=True,
                    null=True,
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="invitations",
                    to=settings.AUTH_USER_MODEL,
                ),
            ),
            (
                "org",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="invitations",
                    to="registry.org",
                ),
            ),
        ],
    ),
    migrations.CreateModel(
        name="Membership",
        fields=[
            (
                "id",
                models.BigAutoField(
                    auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                ),
            ),
            ("role", models.CharField(choices=ROLES, default="member", max_length=10)),
            ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            (
                "user",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="memberships",
                    to=settings.AUTH_USER_MODEL,
                ),
            ),
            (
                "org",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="memberships",
                    to="registry.org",
                ),
            ),
        ],
        options={
            "constraints": [
                models.UniqueConstraint(fields=("org", "user"), name="accounts_membership_once")
            ],
        },
    ),
    migrations.CreateModel(
        name="Team",
        fields=[
            (
                "id",
                models.BigAutoField(
                    auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                ),
            ),
            ("name", models.CharField(max_length=100, validators=[name_validator])),
            ("description", models.CharField(blank=True, max_length=300)),
            ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            (
                "org",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="teams",
                    to="registry.org",
                ),
            ),
        ],
        options={
            "constraints": [
                models.UniqueConstraint(fields=("org", "name"), name="accounts_team_name_unique")
            ],
        },
    ),
    migrations.CreateModel(
        name="TeamMember",
        fields=[
            (
                "id",
                models.BigAutoField(
                    auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                ),
            ),
            (
                "team",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="members",
                    to="registry.team",
                ),
            ),
            (
                "user",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="team_memberships",
                    to=settings.AUTH_USER_MODEL,
                ),
            ),
        ],
        options={
            "constraints": [
                models.UniqueConstraint(fields=("team", "user"), name="accounts_team_member_once")
            ],
        },
    ),
    migrations.AlterField(
        model_name="package",
        name="org",
        field=models.ForeignKey(
            blank=True,
            null=True,
            on_delete=django.db.models.deletion.PROTECT,
            related_name="packages",
            to="registry.org",
        ),
    ),
    migrations.AlterField(
        model_name="teamgrant",
        name="team",
        field=models.ForeignKey(
            on_delete=django.db.models.deletion.CASCADE,
            related_name="grants",
            to="registry.team",
        ),
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0003_orgs"),
        ("accounts", "0006_orgs_move"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=state_operations),
        migrations.RunPython(content_types_move, content_types_move_back),
    ]
