"""Portal pages first (each at least two path segments, so none can be a package name),
then the registry protocol at the root."""

from django.contrib import admin
from django.urls import include, path, re_path

from portal import views
from registry.views import package_page

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    re_path(r"^package/(?P<name>@[^/]+/[^/]+|[^/@][^/]*)/$", package_page, name="package"),
    path("", include("registry.urls")),
]
