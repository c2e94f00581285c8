"""The registry protocol at the origin's root, then the portal pages.

Registry routes come first: their shapes (`/<name>`, `/@scope/<name>`, `/<name>/-/…`,
`/<name>/-rev/…`, `/-/…`) are exactly what npm requests, and portal pages always have at
least two segments with no `-` or `@` where a registry route has one, so neither side can
shadow the other (tests/test_urls.py checks it for generated names).
"""

from django.contrib import admin
from django.urls import include, path

from registry.views import package

# The admin's site (accounts.admin_site) signs people in through the portal, second
# factor included, never beside it.
urlpatterns = [
    path("", include("registry.npm_urls")),
    path("api/v1/", include("portal.rest_urls")),
    path("", package.home, name="home"),
    path("admin/", admin.site.urls),
    path("", include("accounts.portal_urls")),
    path("", include("registry.orgs.portal_urls")),
    path("", include("registry.portal_urls")),
]
