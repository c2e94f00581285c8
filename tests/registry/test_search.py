"""`npm search`, `npm stars`, `npm audit` and `npm ping` at the API level (protocol §4.4, §11-§13)."""

import gzip
import json

import pytest

from tests.packages import publish_body

pytestmark = pytest.mark.django_db


def auth(token: str | None) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}


def publish(client, token: str, name: str, version: str = "1.0.0", access=None, **package_json):
    body = publish_body(name, version, package_json=package_json or None, access=access)
    response = client.put(
        f"/{name}", data=json.dumps(body), content_type="application/json", **auth(token)
    )
    assert response.status_code == 201, response.content


def search(client, text: str, token: str | None = None, **params) -> dict:
    response = client.get("/-/v1/search", {"text": text, "size": 20, **params}, **auth(token))
    assert response.status_code == 200, response.content
    return response.json()


def names(result: dict) -> list[str]:
    return [o["package"]["name"] for o in result["objects"]]


@pytest.fixture
def catalogue(client, alice_token, bob_token):
    publish(client, alice_token, "widgets", description="Widgets that work with react")
    publish(client, alice_token, "ui-kit", keywords=["react", "ui"], description="A kit")
    publish(client, bob_token, "preact-tools", description="Tools")
    publish(client, alice_token, "react-dom-x", description="DOM")
    publish(client, alice_token, "@alice/react", access="public", description="Scoped")
    publish(client, bob_token, "react", description="The library", keywords=["ui"])
    publish(client, alice_token, "unrelated", description="Nothing to see")


def test_search_ranks_exact_then_scoped_basename_then_prefix_contains_keywords_description(
    client, catalogue
):
    result = search(client, "react")

    assert names(result) == [
        "react",
        "@alice/react",
        "react-dom-x",
        "preact-tools",
        "ui-kit",
        "widgets",
    ]
    assert result["total"] == 6


def test_search_answers_in_the_shape_npm_parses(client, catalogue):
    hit = search(client, "react")["objects"][0]

    package = hit["package"]
    assert package["name"] == "react"
    assert package["version"] == "1.0.0"
    assert package["description"] == "The library"
    assert package["keywords"] == ["ui"]
    assert package["maintainers"] == [{"username": "bob", "email": "bob@example.com"}]
    assert package["publisher"] == {"username": "bob", "email": "bob@example.com"}
    assert package["date"]
    assert isinstance(hit["searchScore"], int)


def test_search_terms_must_all_match(client, catalogue):
    assert names(search(client, "react kit")) == ["ui-kit"]


def test_search_keywords_qualifier_filters_by_keyword(client, catalogue):
    assert names(search(client, "keywords:ui")) == ["react", "ui-kit"]
    assert names(search(client, "keywords:react")) == ["ui-kit"]


def test_search_keywords_qualifier_matches_whole_keywords_only(client, catalogue):
    assert names(search(client, "keywords:eac")) == []
    assert names(search(client, "keywords:u")) == []


def test_search_keywords_qualifier_ignores_case(client, alice_token):
    publish(client, alice_token, "shouty", keywords=["React"])

    assert names(search(client, "keywords:react")) == ["shouty"]


def test_search_keywords_qualifier_matches_non_ascii_keywords(client, alice_token):
    publish(client, alice_token, "menu", keywords=["café", "crème"])

    assert names(search(client, "keywords:café")) == ["menu"]
    assert names(search(client, "keywords:caf")) == []


def test_search_maintainer_qualifier_filters_by_maintainer(client, catalogue):
    assert names(search(client, "maintainer:bob")) == ["preact-tools", "react"]
    assert names(search(client, "react maintainer:bob")) == ["react", "preact-tools"]
    assert names(search(client, "maintainer:nobody")) == []


def test_search_paginates_with_size_and_from(client, catalogue):
    first = search(client, "react", size=2)
    second = search(client, "react", size=2, **{"from": 2})

    assert names(first) == ["react", "@alice/react"]
    assert names(second) == ["react-dom-x", "preact-tools"]
    assert first["total"] == second["total"] == 6


def test_search_with_a_size_that_is_not_a_number_is_400(client):
    response = client.get("/-/v1/search", {"text": "x", "size": "lots"})

    assert response.status_code == 400
    assert '"size" must be a number' in response.json()["error"]


def test_restricted_packages_are_found_only_by_their_maintainers(
    client, alice_token, bob_token, carol_token
):
    publish(client, alice_token, "@alice/secret-react", description="private")
    publish(client, bob_token, "react-public")

    assert names(search(client, "react")) == ["react-public"]
    assert names(search(client, "react", carol_token)) == ["react-public"]
    assert names(search(client, "react", alice_token)) == ["react-public", "@alice/secret-react"]
    assert names(search(client, "maintainer:alice", carol_token)) == []


def test_fully_unpublished_packages_are_not_found(client, alice_token):
    publish(client, alice_token, "gone-pkg")
    rev = client.get("/gone-pkg").json()["_rev"]
    client.delete(f"/gone-pkg/-rev/{rev}", **auth(alice_token))

    assert names(search(client, "gone")) == []


# stars


def star(client, token: str, name: str, username: str):
    rev = client.get(f"/{name}", **auth(token)).json()["_rev"]
    body = {"_id": name, "_rev": rev, "users": {username: True}}
    return client.put(
        f"/{name}", data=json.dumps(body), content_type="application/json", **auth(token)
    )


def test_stars_view_lists_starred_packages_by_name(client, catalogue, carol_token):
    star(client, carol_token, "widgets", "carol")
    star(client, carol_token, "react", "carol")

    response = client.get("/-/_view/starredByUser", {"key": '"carol"'})

    assert response.json() == {"rows": [{"value": "react"}, {"value": "widgets"}]}


def test_stars_view_does_not_show_others_restricted_packages(client, alice_token, carol_token):
    publish(client, alice_token, "@alice/private")
    star(client, alice_token, "@alice/private", "alice")

    response = client.get("/-/_view/starredByUser", {"key": '"alice"'}, **auth(carol_token))

    assert response.json() == {"rows": []}


# audit and ping


def test_audit_bulk_answers_no_advisories_to_a_gzipped_body(client):
    body = gzip.compress(json.dumps({"left-pad": ["1.0.0"]}).encode())

    response = client.post(
        "/-/npm/v1/security/advisories/bulk",
        data=body,
        content_type="application/json",
        HTTP_CONTENT_ENCODING="gzip",
    )

    assert response.status_code == 200
    assert response.json() == {}


def test_ping_answers_an_uncached_empty_object(client):
    response = client.get("/-/ping")

    assert response.status_code == 200
    assert response.json() == {}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_a_format_query_parameter_is_not_a_renderer_choice(client):
    # npm sends `?format=cli` on some lists; DRF must not read it as "render as cli".
    response = client.get("/-/ping?format=cli")
    assert response.status_code == 200
    assert response.json() == {}
