"""The REST API, mounted at `/api/v1/` after the registry's routes (see portal.urls).

No registry route can take these paths: npm's single-segment `/<name>` never has a
trailing path, and `api/v1/…` is no scoped name (tests/test_urls.py checks both ways).
The OpenAPI schema of what is here is at `/api/v1/schema/`.
"""

from django.urls import path, register_converter
from drf_spectacular.views import SpectacularJSONAPIView

from registry.orgs import rest as orgs

app_name = "api"


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
    path("schema/", SpectacularJSONAPIView.as_view(), name="schema"),
    path("orgs/", orgs.OrgList.as_view(), name="orgs"),
    path(ORG, orgs.OrgView.as_view(), name="org"),
    path(ORG + "members/", orgs.MemberList.as_view(), name="org-members"),
    path(ORG + "members/<str:username>/", orgs.MemberView.as_view(), name="org-member"),
    path(ORG + "invitations/", orgs.InvitationList.as_view(), name="org-invitations"),
    path(
        ORG + "invitations/<uuid:invitation_id>/",
        orgs.InvitationView.as_view(),
        name="org-invitation",
    ),
    path(ORG + "teams/", orgs.TeamList.as_view(), name="org-teams"),
    path(TEAM, orgs.TeamView.as_view(), name="org-team"),
    path(TEAM + "members/<str:username>/", orgs.TeamMemberView.as_view(), name="team-member"),
    path(TEAM + "packages/", orgs.TeamPackageList.as_view(), name="team-packages"),
    path(
        TEAM + "packages/<package_name:package>/",
        orgs.TeamPackageView.as_view(),
        name="team-package",
    ),
    path(ORG + "packages/", orgs.PackageList.as_view(), name="org-packages"),
    path(ORG + "policies/", orgs.PolicyView.as_view(), name="org-policies"),
    path(ORG + "compliance/", orgs.ComplianceView.as_view(), name="org-compliance"),
    path(ORG + "events/", orgs.EventList.as_view(), name="org-events"),
]


def api_endpoints_only(endpoints, **kwargs):
    """drf-spectacular preprocessing hook: document this API, not the npm protocol beside it."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]
