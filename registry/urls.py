"""The npm registry protocol, at the origin's root where the npm CLI looks for it.

WSGI decodes `%2f`, so `/@scope%2fname` arrives as `/@scope/name`: scoped names are two
segments, and the shapes below keep packuments, tarballs and `-rev` writes apart.
"""

from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt

from accounts import api as accounts_api
from registry.api import access, misc, stage, tags
from registry.api.reads import packument_get, tarball_get
from registry.api.writes import PackageRevisionWrite, PackageWrite, TarballDelete
from registry.orgs import api as orgs

NAME = r"(?P<name>@[^/]+/[^/]+|[^/@][^/]*)"
ORG = r"(?P<org>[^/]+)"
TEAM = rf"{ORG}/(?P<team>[^/]+)"

_package_write = PackageWrite.as_view()


@csrf_exempt  # token-authenticated API: no cookies, so no CSRF; DRF's views are exempt too
def package_document(request, name: str):
    """GET is the install hot path (plain view); writes go through DRF."""
    if request.method in ("GET", "HEAD"):
        return packument_get(request, name)
    return _package_write(request, name=name)


urlpatterns = [
    re_path(r"^-/ping$", misc.Ping.as_view()),
    re_path(r"^-/whoami$", accounts_api.WhoAmI.as_view()),
    re_path(r"^-/v1/login$", accounts_api.WebLoginStart.as_view()),
    re_path(r"^-/v1/done$", accounts_api.WebLoginDone.as_view()),
    re_path(r"^-/v1/otp/(?P<secret>[A-Za-z0-9]+)$", accounts_api.WebOTPDone.as_view()),
    re_path(r"^-/v1/search$", misc.Search.as_view()),
    re_path(
        r"^-/user/org\.couchdb\.user:(?P<username>[^/]+)/-rev/(?P<rev>[^/]+)$",
        accounts_api.CouchUser.as_view(),
    ),
    re_path(r"^-/user/org\.couchdb\.user:(?P<username>[^/]+)$", accounts_api.CouchUser.as_view()),
    # Before the logout route: a user may be called "token"; tokens never are "package".
    re_path(r"^-/user/(?P<username>[^/]+)/package$", orgs.UserPackages.as_view()),
    re_path(r"^-/user/token/(?P<token>[^/]+)$", accounts_api.Logout.as_view()),
    re_path(r"^-/npm/v1/user$", accounts_api.Profile.as_view()),
    re_path(r"^-/npm/v1/tokens$", accounts_api.Tokens.as_view()),
    re_path(r"^-/npm/v1/tokens/token/(?P<ident>[^/]+)$", accounts_api.TokenRevoke.as_view()),
    re_path(r"^-/npm/v1/security/advisories/bulk$", misc.AuditBulk.as_view()),
    re_path(r"^-/_view/starredByUser$", misc.StarredByUser.as_view()),
    re_path(rf"^-/stage/package/{NAME}$", stage.StagePublish.as_view()),
    re_path(r"^-/stage$", stage.StageList.as_view()),
    re_path(r"^-/stage/(?P<stage_id>[^/]+)$", stage.StageItem.as_view()),
    re_path(r"^-/stage/(?P<stage_id>[^/]+)/approve$", stage.StageApprove.as_view()),
    re_path(r"^-/stage/(?P<stage_id>[^/]+)/tarball$", stage.StageTarball.as_view()),
    re_path(r"^-/stage/(?P<stage_id>[^/]+)/status$", stage.StageStatus.as_view()),
    re_path(rf"^-/org/{ORG}/user$", orgs.OrgMembers.as_view()),
    re_path(rf"^-/org/{ORG}/team$", orgs.OrgTeams.as_view()),
    re_path(rf"^-/org/{ORG}/package$", orgs.OrgPackages.as_view()),
    re_path(rf"^-/team/{TEAM}$", orgs.TeamDetail.as_view()),
    re_path(rf"^-/team/{TEAM}/user$", orgs.TeamMembers.as_view()),
    re_path(rf"^-/team/{TEAM}/package$", orgs.TeamPackages.as_view()),
    re_path(rf"^-/package/{NAME}/collaborators$", orgs.Collaborators.as_view()),
    re_path(rf"^-/package/{NAME}/visibility$", access.Visibility.as_view()),
    re_path(rf"^-/package/{NAME}/access$", access.Access.as_view()),
    re_path(rf"^-/package/{NAME}/dist-tags$", tags.DistTags.as_view()),
    re_path(rf"^-/package/{NAME}/dist-tags/(?P<tag>[^/]+)$", tags.DistTag.as_view()),
    re_path(rf"^{NAME}/-/(?P<filename>[^/]+\.tgz)/-rev/(?P<rev>[^/]+)$", TarballDelete.as_view()),
    re_path(rf"^{NAME}/-/(?P<filename>[^/]+\.tgz)$", tarball_get),
    re_path(rf"^{NAME}/-rev/(?P<rev>[^/]+)$", PackageRevisionWrite.as_view()),
    re_path(rf"^{NAME}$", package_document),
]
