"""Portal pages about packages, the home page (recently changed packages) among them."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from accounts.views.common import portal_actor
from portal.errors import DomainError
from registry import semver
from registry.authz import Action, is_maintainer, packages_visible_to, packages_writable_by
from registry.models import Version
from registry.services.common import package_for


def home(request):
    recent = packages_visible_to(request.user if request.user.is_authenticated else None)
    recent = recent.filter(unpublished_at__isnull=True).exclude(latest_version="")
    return render(request, "home.html", {"recent": recent.order_by("-modified_at")[:20]})


@login_required
def my_packages(request):
    """The packages the signed-in person may write, as authz counts them."""
    packages = packages_writable_by(request.user).order_by("name")
    return render(request, "registry/my_packages.html", {"packages": packages})


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
