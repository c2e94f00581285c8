"""The npm protocol's org routes: `npm org`, `npm team`, `npm access list/grant/revoke`.
Mounted by registry.npm_urls among the other npm routes."""

from django.urls import re_path

from registry.orgs import api

NAME = r"(?P<name>@[^/]+/[^/]+|[^/@][^/]*)"
ORG = r"(?P<org>[^/]+)"
TEAM = rf"{ORG}/(?P<team>[^/]+)"

urlpatterns = [
    re_path(r"^-/user/(?P<username>[^/]+)/package$", api.UserPackages.as_view()),
    re_path(rf"^-/org/{ORG}/user$", api.OrgMembers.as_view()),
    re_path(rf"^-/org/{ORG}/team$", api.OrgTeams.as_view()),
    re_path(rf"^-/org/{ORG}/package$", api.OrgPackages.as_view()),
    re_path(rf"^-/team/{TEAM}$", api.TeamDetail.as_view()),
    re_path(rf"^-/team/{TEAM}/user$", api.TeamMembers.as_view()),
    re_path(rf"^-/team/{TEAM}/package$", api.TeamPackages.as_view()),
    re_path(rf"^-/package/{NAME}/collaborators$", api.Collaborators.as_view()),
]
