"""The REST API for organizations (`/api/v1/orgs/…`): what the org pages do, as code.

Each view reads top to bottom: who is asking (a token, as for the npm CLI), the body
checked by a serializer, `org_for` (fetch and decide in one step), one service call (which
authorizes the change itself: the role, and a one-time code in `npm-otp` bound to exactly
that change), then the resource. Errors are `{"error": …}` like everywhere else in the registry.
"""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.actors import Actor
from accounts.authentication import request_actor
from accounts.exceptions import InvalidAccountData
from portal.errors import AuthenticationRequired, NotFound
from registry.authz import Action, OrgAction, decide
from registry.orgs.compliance import org_compliance
from registry.orgs.models import Invitation, Membership, Org
from registry.orgs.serializers import (
    Compliance,
    Error,
    Event,
    EventsQuery,
    Grant,
    GrantSet,
    InvitationCreate,
    InvitationOut,
    Member,
    OrgCreate,
    OrgDetail,
    OrgPackage,
    OrgSummary,
    Policies,
    RoleSet,
    TeamCreate,
    TeamOut,
)
from registry.orgs.services import (
    invitation_create,
    invitation_revoke,
    member_remove,
    member_role_set,
    org_create,
    org_events_visible,
    org_for,
    org_policy_update,
    team_create,
    team_destroy,
    team_get,
    team_member_add,
    team_member_remove,
)
from registry.orgs.team_grants import (
    team_grant_remove,
    team_grant_set,
    team_packages,
)
from registry.policy import package_policy

Role = Membership.Role
EVENTS_PAGE = 200
# team_packages says what npm's `access list packages` says; the API speaks in permissions.
PERMISSION = {"read": "read-only", "write": "read-write"}


ERRORS = {
    status: OpenApiResponse(Error, description=description)
    for status, description in {
        400: "The request is malformed; the error says what to fix.",
        401: "No token, or a second factor is due (`WWW-Authenticate: OTP`): send `npm-otp`.",
        403: "Your role or your token (read-only) does not allow this.",
        404: "No such org among yours, or no such member, team, invitation or package in it.",
        409: "The change conflicts with what exists (a taken name, the last owner…).",
    }.items()
}
OTP = OpenApiParameter(
    "npm-otp",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="A one-time password from your authenticator (or a recovery code). Every change "
    "needs one, bound to that change; without it a change answers 401 with "
    "`WWW-Authenticate: OTP`, and 403 for a person with no second factor to show.",
)


TOKEN = [{"npmToken": []}]


def reads(response, **kwargs):
    return extend_schema(responses={200: response, **ERRORS}, auth=TOKEN, **kwargs)


def writes(request=None, response=None, status=200, **kwargs):
    answer = {status: response} if response else {204: OpenApiResponse(description="Done.")}
    return extend_schema(
        request=request, responses={**answer, **ERRORS}, parameters=[OTP], auth=TOKEN, **kwargs
    )


# Helpers ----------------------------------------------------------------------------


def _actor(request) -> Actor:
    actor = request_actor(request)
    if actor.user is None:
        raise AuthenticationRequired(
            "Send your token as `Authorization: Bearer <token>` (`npm login` gives you one)."
        )
    return actor


def _valid(serializer_class, data, **kwargs) -> dict:
    """The serializer's validated data, or a 400 naming each field to fix."""
    serializer = serializer_class(data=data, **kwargs)
    if not serializer.is_valid():
        raise InvalidAccountData(_errors_text(serializer.errors))
    return serializer.validated_data


def _errors_text(errors: dict) -> str:
    parts = []
    for field, messages in errors.items():
        text = " ".join(str(message) for message in messages)
        parts.append(text if field == "non_field_errors" else f"{field}: {text}")
    return " ".join(parts)


def _membership(actor: Actor, org: Org) -> Membership:
    return Membership.objects.select_related("org").get(org=org, user=actor.user)


def _open_invitation(org: Org, invitation_id) -> Invitation:
    invitation = org.invitations.filter(
        pk=invitation_id,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).first()
    if invitation is None:
        raise NotFound(
            f"@{org.name} has no open invitation {invitation_id}. "
            "GET the org's invitations to list them."
        )
    return invitation


# Orgs -------------------------------------------------------------------------------


class OrgList(APIView):
    @reads(OrgSummary(many=True), summary="The orgs you belong to")
    def get(self, request):
        actor = _actor(request)
        memberships = (
            Membership.objects.filter(user=actor.user).select_related("org").order_by("org__name")
        )
        return Response(OrgSummary(memberships, many=True).data)

    @writes(OrgCreate, OrgDetail, status=201, summary="Create an org; you become its owner")
    def post(self, request):
        actor = _actor(request)
        data = _valid(OrgCreate, request.data)
        org = org_create(actor=actor, **data)
        return Response(OrgDetail(_membership(actor, org)).data, status=201)


class OrgView(APIView):
    @reads(OrgDetail, summary="An org with its policies and your role")
    def get(self, request, org: str):
        actor = _actor(request)
        org = org_for(actor, org, OrgAction.READ)
        return Response(OrgDetail(_membership(actor, org)).data)


# Members ----------------------------------------------------------------------------


class MemberList(APIView):
    @reads(Member(many=True), summary="Members, with their 2FA status for owners and admins")
    def get(self, request, org: str):
        actor = _actor(request)
        org = org_for(actor, org, OrgAction.READ)
        admin = _membership(actor, org).role in (Role.OWNER, Role.ADMIN)
        members = org.memberships.select_related("user").order_by("user__username")
        return Response(Member(members, many=True, context={"show_two_factor": admin}).data)


class MemberView(APIView):
    @writes(RoleSet, Member, summary="Change a member's role (only owners make owners)")
    def put(self, request, org: str, username: str):
        actor = _actor(request)
        role = _valid(RoleSet, request.data)["role"]
        org = org_for(actor, org, OrgAction.MANAGE)
        membership = member_role_set(actor=actor, org=org, username=username, role=role)
        return Response(Member(membership, context={"show_two_factor": True}).data)

    @writes(summary="Remove a member from the org and its teams")
    def delete(self, request, org: str, username: str):
        actor = _actor(request)
        org = org_for(actor, org, OrgAction.MANAGE)
        member_remove(actor=actor, org=org, username=username)
        return Response(status=204)


# Invitations ------------------------------------------------------------------------


class InvitationList(APIView):
    @reads(InvitationOut(many=True), summary="Open invitations (owners and admins)")
    def get(self, request, org: str):
        org = org_for(_actor(request), org, OrgAction.AUDIT)
        invitations = org.invitations.filter(
            accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        ).select_related("user", "invited_by")
        return Response(InvitationOut(invitations.order_by("created_at"), many=True).data)

    @writes(
        InvitationCreate,
        InvitationOut,
        status=201,
        summary="Invite someone by username or by email",
        description="An invitation by email sends a link to that address; the link's secret is "
        "stored only as a hash and is not in the response.",
    )
    def post(self, request, org: str):
        actor = _actor(request)
        data = _valid(InvitationCreate, request.data)
        org = org_for(actor, org, OrgAction.MANAGE)
        invitation, _secret = invitation_create(actor=actor, org=org, **data)
        return Response(InvitationOut(invitation).data, status=201)


class InvitationView(APIView):
    @writes(summary="Revoke an open invitation")
    def delete(self, request, org: str, invitation_id):
        actor = _actor(request)
        org = org_for(actor, org, OrgAction.MANAGE)
        invitation_revoke(actor=actor, invitation=_open_invitation(org, invitation_id))
        return Response(status=204)


# Teams ------------------------------------------------------------------------------


class TeamList(APIView):
    @reads(TeamOut(many=True), summary="The org's teams and their members")
    def get(self, request, org: str):
        org = org_for(_actor(request), org, OrgAction.READ)
        teams = org.teams.prefetch_related("members__user").order_by("name")
        return Response(TeamOut(teams, many=True).data)

    @writes(TeamCreate, TeamOut, status=201, summary="Create a team")
    def post(self, request, org: str):
        actor = _actor(request)
        data = _valid(TeamCreate, request.data)
        org = org_for(actor, org, OrgAction.MANAGE)
        team = team_create(actor=actor, org=org, **data)
        return Response(TeamOut(team).data, status=201)


class TeamView(APIView):
    @reads(TeamOut, summary="A team and its members")
    def get(self, request, org: str, team: str):
        org = org_for(_actor(request), org, OrgAction.READ)
        return Response(TeamOut(team_get(org, team)).data)

    @writes(summary="Remove a team (not developers, which holds every member)")
    def delete(self, request, org: str, team: str):
        actor = _actor(request)
        org = org_for(actor, org, OrgAction.MANAGE)
        team_destroy(actor=actor, team=team_get(org, team))
        return Response(status=204)


class TeamMemberView(APIView):
    @writes(response=TeamOut, summary="Add a member of the org to the team")
    def put(self, request, org: str, team: str, username: str):
        actor = _actor(request)
        org = org_for(actor, org, OrgAction.MANAGE)
        team = team_get(org, team)
        team_member_add(actor=actor, team=team, username=username)
        return Response(TeamOut(team).data)

    @writes(summary="Take someone out of the team (they stay in the org)")
    def delete(self, request, org: str, team: str, username: str):
        actor = _actor(request)
        org = org_for(actor, org, OrgAction.MANAGE)
        team_member_remove(actor=actor, team=team_get(org, team), username=username)
        return Response(status=204)


class TeamPackageList(APIView):
    @reads(Grant(many=True), summary="The org's packages the team may read or write")
    def get(self, request, org: str, team: str):
        org = org_for(_actor(request), org, OrgAction.READ)
        reach = team_packages(team_get(org, team), request.user)
        grants = [{"package": name, "permission": PERMISSION[r]} for name, r in reach.items()]
        return Response(Grant(grants, many=True).data)


class TeamPackageView(APIView):
    @writes(GrantSet, Grant, summary="Grant the team read-only or read-write access")
    def put(self, request, org: str, team: str, package: str):
        actor = _actor(request)
        permission = _valid(GrantSet, request.data)["permission"]
        org = org_for(actor, org, OrgAction.MANAGE)
        grant = team_grant_set(
            actor=actor, team=team_get(org, team), package_name=package, permission=permission
        )
        return Response(Grant({"package": grant.package.name, "permission": permission}).data)

    @writes(summary="Take the team's access to the package away")
    def delete(self, request, org: str, team: str, package: str):
        actor = _actor(request)
        org = org_for(actor, org, OrgAction.MANAGE)
        team_grant_remove(actor=actor, team=team_get(org, team), package_name=package)
        return Response(status=204)


# Packages, policies, compliance and history ----------------------------------------


class PackageList(APIView):
    @reads(OrgPackage(many=True), summary="The org's packages you can see, with their policies")
    def get(self, request, org: str):
        actor = _actor(request)
        org = org_for(actor, org, OrgAction.READ)
        rows = [
            {
                "name": package.name,
                "access": package.access,
                "latest_version": package.latest_version,
                "policy": package_policy(package),
            }
            for package in org.packages.filter(unpublished_at__isnull=True).order_by("name")
            if decide(actor, Action.READ, package=package).allowed
        ]
        return Response(OrgPackage(rows, many=True).data)


class PolicyView(APIView):
    @reads(Policies, summary="The org's policies")
    def get(self, request, org: str):
        org = org_for(_actor(request), org, OrgAction.READ)
        return Response(Policies(org).data)

    @writes(
        Policies,
        Policies,
        summary="Change policies (owners); every owner is emailed the change",
    )
    def patch(self, request, org: str):
        actor = _actor(request)
        changes = _valid(Policies, request.data, partial=True)
        org = org_for(actor, org, OrgAction.POLICY)
        org = org_policy_update(actor=actor, org=org, changes=dict(changes))
        return Response(Policies(org).data)


class ComplianceView(APIView):
    @reads(Compliance, summary="Members without 2FA, loose packages, risky tokens (admins)")
    def get(self, request, org: str):
        org = org_for(_actor(request), org, OrgAction.AUDIT)
        return Response(Compliance(org_compliance(org)).data)


class EventList(APIView):
    @reads(
        Event(many=True),
        parameters=[EventsQuery],
        summary=f"The org's security history, newest first, {EVENTS_PAGE} at a time",
    )
    def get(self, request, org: str):
        actor = _actor(request)
        query = _valid(EventsQuery, request.query_params)
        org = org_for(actor, org, OrgAction.READ)
        events = org_events_visible(org, request.user).select_related("actor", "user")
        if "before" in query:
            events = events.filter(id__lt=query["before"])
        return Response(Event(events[:EVENTS_PAGE], many=True).data)
