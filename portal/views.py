from django.shortcuts import render

from registry.authz import packages_visible_to


def home(request):
    recent = packages_visible_to(request.user if request.user.is_authenticated else None)
    recent = recent.filter(unpublished_at__isnull=True).exclude(latest_version="")
    return render(request, "home.html", {"recent": recent.order_by("-modified_at")[:20]})
