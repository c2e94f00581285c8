"""The npm registry protocol, at the origin's root where the npm CLI looks for it.

WSGI decodes `%2f`, so `/@scope%2fname` arrives as `/@scope/name`: scoped names are two
segments, and the shapes below keep packuments, tarballs and `-rev` writes apart. Every
`/-/…` route comes before the package routes; the package routes come last.
"""

from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from registry.api import access, misc, stage, tags
from registry.api.reads import packument_get, tarball_get
from registry.api.writes import PackageRevisionWrite, PackageWrite, TarballDelete

NAME = r"(?P<name>@[^/]+/[^/]+|[^/@][^/]*)"

_package_write = PackageWrite.as_view()


@csrf_exempt  # token-authenticated API: no cookies, so no CSRF; DRF's views are exempt too
def package_document(request, name: str):
    """GET is the install hot path (plain view); writes go through DRF."""
    if request.method in ("GET", "HEAD"):
        return packument_get(request, name)
    return _package_write(request, name=name)


urlpatterns = [
    re_path(r"^-/ping$", misc.Ping.as_view()),
    re_path(r"^-/v1/search$", misc.Search.as_view()),
    re_path(r"^-/npm/v1/security/advisories/bulk$", misc.AuditBulk.as_view()),
    re_path(r"^-/_view/starredByUser$", misc.StarredByUser.as_view()),
    # Orgs before accounts: `/-/user/token/package` lists the packages of a user called
    # "token" (no token is called "package"), not a logout.
    path("", include("registry.orgs.npm_urls")),
    path("", include("accounts.npm_urls")),
    re_path(rf"^-/stage/package/{NAME}$", stage.StagePublish.as_view()),
    re_path(r"^-/stage$", stage.StageList.as_view()),
    re_path(r"^-/stage/(?P<stage_id>[^/]+)$", stage.StageItem.as_view()),
    re_path(r"^-/stage/(?P<stage_id>[^/]+)/approve$", stage.StageApprove.as_view()),
    re_path(r"^-/stage/(?P<stage_id>[^/]+)/tarball$", stage.StageTarball.as_view()),
    re_path(r"^-/stage/(?P<stage_id>[^/]+)/status$", stage.StageStatus.as_view()),
    re_path(rf"^-/package/{NAME}/visibility$", access.Visibility.as_view()),
    re_path(rf"^-/package/{NAME}/access$", access.Access.as_view()),
    re_path(rf"^-/package/{NAME}/dist-tags$", tags.DistTags.as_view()),
    re_path(rf"^-/package/{NAME}/dist-tags/(?P<tag>[^/]+)$", tags.DistTag.as_view()),
    re_path(rf"^{NAME}/-/(?P<filename>[^/]+\.tgz)/-rev/(?P<rev>[^/]+)$", TarballDelete.as_view()),
    re_path(rf"^{NAME}/-/(?P<filename>[^/]+\.tgz)$", tarball_get),
    re_path(rf"^{NAME}/-rev/(?P<rev>[^/]+)$", PackageRevisionWrite.as_view()),
    re_path(rf"^{NAME}$", package_document),
]
