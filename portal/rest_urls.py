"""The REST API, mounted at `/api/v1/` after the registry's routes (see portal.urls).

No registry route can take these paths: npm's single-segment `/<name>` never has a
trailing path, and `api/v1/…` is no scoped name (tests/test_urls.py checks both ways).
The OpenAPI schema of what is here is at `/api/v1/schema/`. Each area brings its routes
in its own `rest_urls` module; this one puts them under one namespace.
"""

from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView

app_name = "rest"

urlpatterns = [
    path("schema/", SpectacularJSONAPIView.as_view(), name="schema"),
    path("", include("registry.orgs.rest_urls")),
]


def api_endpoints_only(endpoints, **kwargs):
    """drf-spectacular preprocessing hook: document this API, not the npm protocol beside it."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]
