"""The REST API's OpenAPI schema: served, valid, complete, and generated without warnings."""

import re

import pytest
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.validation import validate_schema

from portal import rest_urls

pytestmark = pytest.mark.django_db

PREFIX = "/api/v1/"
METHODS = ("get", "post", "put", "patch", "delete")


def _routes(patterns, prefix=""):
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def api_operations() -> set[tuple[str, str]]:
    """(OpenAPI path, method) for every route and handler in portal.rest_urls."""
    operations = set()
    for route, pattern in _routes(rest_urls.urlpatterns):
        if pattern.name == "schema":
            continue
        view = pattern.callback.view_class
        path = PREFIX + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
        operations |= {(path, method) for method in METHODS if hasattr(view, method)}
    return operations


@pytest.fixture
def schema(client):
    response = client.get("/api/v1/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return response.json()


def test_schema_is_openapi_3_and_valid(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Gatehouse API"
    validate_schema(schema)


ORG = PREFIX + "orgs/{org}/"
TEAM = ORG + "teams/{team}/"
PROMISED = {
    (PREFIX + "orgs/", "get"),
    (PREFIX + "orgs/", "post"),
    (ORG, "get"),
    (ORG + "members/", "get"),
    (ORG + "members/{username}/", "put"),
    (ORG + "members/{username}/", "delete"),
    (ORG + "invitations/", "get"),
    (ORG + "invitations/", "post"),
    (ORG + "invitations/{invitation_id}/", "delete"),
    (ORG + "teams/", "get"),
    (ORG + "teams/", "post"),
    (TEAM, "delete"),
    (TEAM + "members/{username}/", "put"),
    (TEAM + "members/{username}/", "delete"),
    (TEAM + "packages/", "get"),
    (TEAM + "packages/{package}/", "put"),
    (TEAM + "packages/{package}/", "delete"),
    (ORG + "policies/", "get"),
    (ORG + "policies/", "patch"),
    (ORG + "compliance/", "get"),
    (ORG + "events/", "get"),
}


def test_every_api_operation_is_documented(schema):
    documented = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert PROMISED.issubset(api_operations())
    assert api_operations() <= documented


def test_only_the_rest_api_is_documented(schema):
    """The npm protocol at the root is npm's to document; it must not leak in here."""
    assert schema["paths"]
    assert all(path.startswith(PREFIX) for path in schema["paths"])


def test_operations_say_how_to_authenticate_and_send_a_second_factor(schema):
    assert schema["components"]["securitySchemes"]["npmToken"]["scheme"] == "bearer"
    change = schema["paths"]["/api/v1/orgs/{org}/members/{username}/"]["put"]
    assert change["security"] == [{"npmToken": []}]
    (otp,) = [p for p in change["parameters"] if p["name"] == "npm-otp"]
    assert otp["in"] == "header" and not otp.get("required")
    assert change["responses"]["401"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }


def test_scoped_package_paths_are_one_parameter(schema):
    grant = schema["paths"]["/api/v1/orgs/{org}/teams/{team}/packages/{package}/"]["put"]
    (package,) = [p for p in grant["parameters"] if p["name"] == "package"]
    # OpenAPI patterns are searched, not matched: the anchors must hold for both forms.
    pattern = package["schema"]["pattern"]
    assert re.search(pattern, "@acme/widget") and re.search(pattern, "widget")
    assert not re.search(pattern, "acme/widget")


def test_generation_has_no_warnings_or_errors(tmp_path):
    GENERATOR_STATS.reset()
    # Raises on any warning (--fail-on-warn) and on an invalid schema (--validate).
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")
    )
    assert not GENERATOR_STATS
    assert (tmp_path / "schema.yml").read_text().startswith("openapi: 3.")
