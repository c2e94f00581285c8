"""Portal pages about packages."""

from django.http import Http404
from django.shortcuts import render

from accounts.views.common import portal_actor
from portal.errors import DomainError
from registry import semver
from registry.authz import Action, is_maintainer
from registry.models import Version
from registry.services.common import package_for


def package_page(request, name: str):
    try:
        package = package_for(portal_actor(request), name, Action.READ)
    except DomainError:
        raise Http404(f"{name} is not in this registry, or you do not have access to it.") from None
    versions = sorted(
        package.versions.filter(state=Version.State.PUBLISHED),
        key=lambda v: semver.version_sort_key(v.version),
        reverse=True,
    )
    latest = next((v for v in versions if v.version == package.latest_version), None)
    context = {
        "package": package,
        "versions": versions,
        "latest": latest,
        "tags": package.dist_tags.select_related("version").order_by("tag"),
        "maintainers": package.maintainers.select_related("user"),
        "is_maintainer": is_maintainer(
            request.user if request.user.is_authenticated else None, package
        ),
        "staged": list(package.staged_releases.filter(status="staged")),
    }
    return render(request, "registry/package.html", context)
