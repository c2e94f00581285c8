"""Portal pages of organizations, and the invitee's invitation page."""

from django.urls import path, re_path

from registry.orgs import views

app_name = "orgs"

ORG = "orgs/<str:org>/"
TEAM = ORG + "teams/<str:team>/"

urlpatterns = [
    path("orgs/", views.org_list, name="orgs"),
    # Before the org pages: "new" is reserved, no org can be called that.
    path("orgs/new/", views.org_new, name="org-new"),
    path(ORG, views.overview, name="org"),
    path(ORG + "members/", views.members, name="org-members"),
    path(ORG + "members/invite/", views.invite, name="org-invite"),
    path(ORG + "members/<str:username>/role/", views.member_role, name="org-member-role"),
    path(ORG + "members/<str:username>/remove/", views.member_remove, name="org-member-remove"),
    path(
        ORG + "invitations/<uuid:invitation_id>/revoke/",
        views.invitation_revoke,
        name="org-invitation-revoke",
    ),
    path(ORG + "teams/", views.teams, name="org-teams"),
    path(TEAM, views.team, name="org-team"),
    path(TEAM + "members/add/", views.team_member_add, name="org-team-member-add"),
    path(TEAM + "members/remove/", views.team_member_remove, name="org-team-member-remove"),
    path(TEAM + "grants/set/", views.team_grant, name="org-team-grant"),
    path(TEAM + "grants/revoke/", views.team_revoke, name="org-team-revoke"),
    path(TEAM + "destroy/", views.team_destroy, name="org-team-destroy"),
    path(ORG + "packages/", views.packages, name="org-packages"),
    path(ORG + "policies/", views.policies, name="org-policies"),
    path(ORG + "compliance/", views.compliance, name="org-compliance"),
    path(ORG + "history/", views.history, name="org-history"),
    # The id without dashes, as the email carries it.
    re_path(
        r"^account/invitations/(?P<invitation_id>[0-9a-f]{32})/$",
        views.invitation,
        name="invitation",
    ),
]
