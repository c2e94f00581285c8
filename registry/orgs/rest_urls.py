"""REST API routes of organizations, mounted under `/api/v1/` by portal.rest_urls."""

from django.urls import path, register_converter

from registry.orgs import rest


class PackageNameConverter:
    """`name` or `@scope/name`: a package name with the one slash a scoped name has."""

    regex = r"(?:@[^/]+/[^/]+|[^/@][^/]*)"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(PackageNameConverter, "package_name")

ORG = "orgs/<str:org>/"
TEAM = ORG + "teams/<str:team>/"

urlpatterns = [
    path("orgs/", rest.OrgList.as_view(), name="orgs"),
    path(ORG, rest.OrgView.as_view(), name="org"),
    path(ORG + "members/", rest.MemberList.as_view(), name="org-members"),
    path(ORG + "members/<str:username>/", rest.MemberView.as_view(), name="org-member"),
    path(ORG + "invitations/", rest.InvitationList.as_view(), name="org-invitations"),
    path(
        ORG + "invitations/<uuid:invitation_id>/",
        rest.InvitationView.as_view(),
        name="org-invitation",
    ),
    path(ORG + "teams/", rest.TeamList.as_view(), name="org-teams"),
    path(TEAM, rest.TeamView.as_view(), name="org-team"),
    path(TEAM + "members/<str:username>/", rest.TeamMemberView.as_view(), name="team-member"),
    path(TEAM + "packages/", rest.TeamPackageList.as_view(), name="team-packages"),
    path(
        TEAM + "packages/<package_name:package>/",
        rest.TeamPackageView.as_view(),
        name="team-package",
    ),
    path(ORG + "packages/", rest.PackageList.as_view(), name="org-packages"),
    path(ORG + "policies/", rest.PolicyView.as_view(), name="org-policies"),
    path(ORG + "compliance/", rest.ComplianceView.as_view(), name="org-compliance"),
    path(ORG + "events/", rest.EventList.as_view(), name="org-events"),
]
