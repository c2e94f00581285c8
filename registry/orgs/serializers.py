"""Input and output shapes of the organizations REST API (registry.orgs.rest)."""

from rest_framework import serializers

from registry.orgs.models import Membership, Org
from registry.orgs.services import (
    POLICY_FIELDS,
)
from registry.orgs.team_grants import (
    PERMISSIONS,
)

Role = Membership.Role


def _choice(choices, **kwargs) -> serializers.ChoiceField:
    values = [value for value, _ in choices]
    message = '"{input}" is not allowed: use ' + ", ".join(values) + "."
    return serializers.ChoiceField(
        choices=choices, error_messages={"invalid_choice": message}, **kwargs
    )


# Input ------------------------------------------------------------------------------


class OrgCreate(serializers.Serializer):
    name = serializers.CharField(max_length=214, help_text="The scope: `acme` owns `@acme/*`.")
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)


class RoleSet(serializers.Serializer):
    role = _choice(Role.choices, help_text="npm's CLI calls members developers.")


class InvitationCreate(serializers.Serializer):
    username = serializers.CharField(max_length=214, required=False)
    email = serializers.EmailField(required=False)
    role = _choice(Role.choices, default=Role.MEMBER)

    def validate(self, attrs):
        if bool(attrs.get("username")) == bool(attrs.get("email")):
            raise serializers.ValidationError(
                "Send either a username (someone with an account) or an email address."
            )
        return attrs


class TeamCreate(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)


class GrantSet(serializers.Serializer):
    permission = _choice([(p, p) for p in PERMISSIONS])


class Policies(serializers.Serializer):
    """An org's policies; PATCH sends only those to change. A package may be stricter."""

    require_2fa = serializers.BooleanField(help_text="Every member must have a second factor.")
    require_staged = serializers.BooleanField(help_text="Every release goes through staging.")
    approvals_required = serializers.IntegerField(min_value=1, max_value=10)
    exclude_stager = serializers.BooleanField(
        help_text="The person who staged a release does not count as one of its approvers."
    )
    publishing_access = _choice(Org.PublishingAccess.choices)
    allow_remote = serializers.BooleanField()
    allow_git = serializers.BooleanField()
    allow_file = serializers.BooleanField()
    allow_directory = serializers.BooleanField()
    max_token_days = serializers.IntegerField(
        min_value=1,
        max_value=3650,
        allow_null=True,
        help_text="The longest a token that writes the org's packages may live; null: no limit.",
    )

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                f"Unknown policy: {', '.join(unknown)}. The policies are {', '.join(POLICY_FIELDS)}."
            )
        return attrs


class EventsQuery(serializers.Serializer):
    before = serializers.IntegerField(
        min_value=1, required=False, help_text="Only events older than this event id (paging)."
    )


# Output -----------------------------------------------------------------------------


class Error(serializers.Serializer):
    error = serializers.CharField(help_text="What went wrong and what to do about it.")


class OrgSummary(serializers.Serializer):
    """One of your orgs (serializes your membership)."""

    name = serializers.CharField(source="org.name")
    description = serializers.CharField(source="org.description")
    role = _choice(Role.choices, help_text="Your role in the org.")


class OrgDetail(OrgSummary):
    created_at = serializers.DateTimeField(source="org.created_at")
    policies = Policies(source="org")


class Member(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    role = _choice(Role.choices)
    joined_at = serializers.DateTimeField(source="created_at")
    two_factor = serializers.SerializerMethodField(
        help_text="Whether the member has a second factor; null unless you are an owner or admin."
    )

    def get_two_factor(self, membership) -> bool | None:
        return membership.user.has_two_factor if self.context.get("show_two_factor") else None


class InvitationOut(serializers.Serializer):
    id = serializers.UUIDField()
    username = serializers.CharField(source="user.username", allow_null=True)
    email = serializers.CharField(help_text="For invitations by email; they get a link.")
    role = _choice(Role.choices)
    invited_by = serializers.CharField(source="invited_by.username", allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class TeamOut(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    created_at = serializers.DateTimeField()
    members = serializers.SerializerMethodField()

    def get_members(self, team) -> list[str]:
        return sorted(member.user.username for member in team.members.all())


class Grant(serializers.Serializer):
    package = serializers.CharField()
    permission = _choice([(p, p) for p in PERMISSIONS])


class LoosePackage(serializers.Serializer):
    package = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())


class RiskyToken(serializers.Serializer):
    owner = serializers.CharField()
    token = serializers.CharField(help_text="The token's first characters.")
    name = serializers.CharField()
    created = serializers.DateTimeField()
    expires = serializers.DateTimeField(allow_null=True)
    reasons = serializers.ListField(child=serializers.CharField())


class Compliance(serializers.Serializer):
    members_without_2fa = serializers.ListField(child=serializers.CharField())
    loose_packages = LoosePackage(many=True)
    tokens = RiskyToken(many=True)


class EffectivePolicy(serializers.Serializer):
    """The stricter of the package's own settings and its org's policies."""

    publish_requires_tfa = serializers.BooleanField()
    stage_only_without_second_factor = serializers.BooleanField()
    require_staged = serializers.BooleanField()
    approvals_required = serializers.IntegerField()
    exclude_stager = serializers.BooleanField()


class OrgPackage(serializers.Serializer):
    name = serializers.CharField()
    access = serializers.CharField()
    latest_version = serializers.CharField()
    policy = EffectivePolicy()


class Event(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    action = serializers.CharField()
    actor = serializers.CharField(source="actor.username", allow_null=True)
    user = serializers.CharField(source="user.username", allow_null=True)
    package = serializers.CharField(source="package_name")
    details = serializers.DictField()
