"""Portal pages about packages and staged releases (never a registry route's shape)."""

from django.urls import path, re_path

from registry.views import package, package_settings, staging

app_name = "registry"

NAME = r"(?P<name>@[^/]+/[^/]+|[^/@][^/]*)"

urlpatterns = [
    path("account/packages/", package.my_packages, name="my-packages"),
    re_path(rf"^package/{NAME}/$", package.package_page, name="package"),
    re_path(
        rf"^package/{NAME}/settings/$", package_settings.settings_page, name="package-settings"
    ),
    re_path(rf"^package/{NAME}/history/$", package_settings.history, name="package-history"),
    path("staging/", staging.queue, name="staging"),
    path("staging/<uuid:stage_id>/", staging.review, name="staged-review"),
    re_path(
        r"^staging/(?P<stage_id>[0-9a-f-]{36})/(?P<verb>approve|reject)/$",
        staging.decide_with_code,
        name="staged-decide",
    ),
    re_path(
        r"^staging/(?P<stage_id>[0-9a-f-]{36})/(?P<verb>approve|reject)/key/begin/$",
        staging.decide_key_begin,
        name="staged-key-begin",
    ),
    re_path(
        r"^staging/(?P<stage_id>[0-9a-f-]{36})/(?P<verb>approve|reject)/key/complete/$",
        staging.decide_key_complete,
        name="staged-key-complete",
    ),
]
