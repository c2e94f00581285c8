"""The install path: packument and tarball GETs, their cost, and who may read what."""

import base64

import pytest

from accounts.actors import Actor
from registry.models import Version
from registry.services.publish import version_publish
from registry.services.unpublish import versions_unpublish
from tests.packages import publish_body

CORGI_ACCEPT = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"


def publish(user, name: str, version: str = "1.0.0", **kwargs) -> bytes:
    """Publish through the service and return the tarball bytes."""
    body = publish_body(name, version, **kwargs)
    version_publish(actor=Actor(user=user), name=name, body=body)
    (attachment,) = body["_attachments"].values()
    return base64.b64decode(attachment["data"])


def read(response) -> bytes:
    assert response.status_code == 200, response
    return b"".join(response.streaming_content)


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


# --- tarballs ----------------------------------------------------------------------------


def test_tarball_get_returns_the_published_bytes(alice, client):
    tarball = publish(alice, "pad")

    response = client.get("/pad/-/pad-1.0.0.tgz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Length"] == str(len(tarball))
    assert read(response) == tarball
    assert "immutable" in response["Cache-Control"]


def test_scoped_tarball_is_served_at_its_literal_slash_path(alice, client):
    tarball = publish(alice, "@alice/tool", access="public")

    response = client.get("/@alice/tool/-/tool-1.0.0.tgz")

    assert response.status_code == 200
    assert read(response) == tarball


def test_tarball_get_with_matching_etag_is_304(alice, client):
    publish(alice, "pad")
    first = client.get("/pad/-/pad-1.0.0.tgz")
    read(first)  # the test client closes the file once its content is consumed
    etag = first["ETag"]

    response = client.get("/pad/-/pad-1.0.0.tgz", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304
    assert response.content == b""


@pytest.mark.parametrize(
    "path",
    [
        "/pad/-/pad-9.9.9.tgz",  # no such version
        "/pad/-/pad-1.0.tgz",  # not a version
        "/pad/-/other-1.0.0.tgz",  # another package's file name
        "/pad/-/pad-extra-1.0.0.tgz",  # would be "pad-extra" 1.0.0, not pad
        "/nope/-/nope-1.0.0.tgz",  # no such package
    ],
)
def test_tarball_get_of_something_not_published_is_404(path, alice, client):
    publish(alice, "pad")

    response = client.get(path)

    assert response.status_code == 404
    assert "not in this registry" in response.json()["error"]


def test_tarball_of_an_unpublished_version_is_404(alice, client):
    publish(alice, "pad", "1.0.0")
    publish(alice, "pad", "1.0.1")
    versions_unpublish(actor=Actor(user=alice), name="pad", rev=None, keep={"1.0.1"})

    assert client.get("/pad/-/pad-1.0.0.tgz").status_code == 404
    assert read(client.get("/pad/-/pad-1.0.1.tgz"))
    assert "1.0.0" not in client.get("/pad").json()["versions"]


def test_packument_of_a_fully_unpublished_package_is_404_saying_so(alice, client):
    publish(alice, "pad")
    versions_unpublish(actor=Actor(user=alice), name="pad", rev=None, keep=None)

    response = client.get("/pad")

    assert response.status_code == 404
    assert "was unpublished on" in response.json()["error"]
    assert client.get("/pad/-/pad-1.0.0.tgz").status_code == 404


# --- restricted packages -----------------------------------------------------------------


@pytest.fixture
def secret(alice):
    """@alice/secret: scoped and published without --access, so restricted."""
    return publish(alice, "@alice/secret")


def test_maintainer_reads_restricted_package_with_token(secret, client, alice_token):
    packument = client.get("/@alice%2fsecret", **bearer(alice_token))
    corgi = client.get("/@alice%2fsecret", HTTP_ACCEPT=CORGI_ACCEPT, **bearer(alice_token))
    tarball = client.get("/@alice/secret/-/secret-1.0.0.tgz", **bearer(alice_token))

    assert packument.status_code == corgi.status_code == tarball.status_code == 200
    assert read(tarball) == secret
    # Shared caches must not keep what only some people may read.
    assert packument["Cache-Control"].startswith("private")
    assert tarball["Cache-Control"].startswith("private")
    assert "Authorization" in packument["Vary"]


@pytest.mark.parametrize("who", ["anonymous", "carol"])
def test_restricted_package_looks_missing_to_others(who, secret, client, carol_token):
    headers = bearer(carol_token) if who == "carol" else {}
    reads = [
        ("/@alice%2f{}", {}),
        ("/@alice%2f{}", {"HTTP_ACCEPT": CORGI_ACCEPT}),
        ("/@alice/{}/-/{}-1.0.0.tgz", {}),
    ]

    for path, extra in reads:
        response = client.get(path.format("secret", "secret"), **headers, **extra)
        missing = client.get(path.format("nothing", "nothing"), **headers, **extra)
        # Exactly what a name that does not exist gets: existence is not given away.
        assert response.status_code == missing.status_code == 404
        assert response.json()["error"] == missing.json()["error"].replace("nothing", "secret")


def test_restricted_package_with_bogus_token_is_401_with_our_text(secret, client):
    for path in ("/@alice%2fsecret", "/@alice/secret/-/secret-1.0.0.tgz"):
        response = client.get(path, HTTP_AUTHORIZATION="Bearer not-a-token")
        assert response.status_code == 401
        assert "npm login" in response.json()["error"]
        assert "WWW-Authenticate" not in response


# --- the cost of a read ------------------------------------------------------------------


@pytest.fixture
def many_versions(alice):
    for minor in range(30):
        publish(
            alice,
            "busy",
            f"1.{minor}.0",
            package_json={"dependencies": {f"dep-{n}": "^1.0.0" for n in range(5)}},
        )


def test_public_packument_get_is_one_query_whatever_the_number_of_versions(
    many_versions, client, django_assert_max_num_queries
):
    for accept in ("application/json", CORGI_ACCEPT):
        with django_assert_max_num_queries(1):
            response = client.get("/busy", HTTP_ACCEPT=accept)
        assert response.status_code == 200
        assert len(response.json()["versions"]) == 30


def test_public_packument_304_is_one_query(many_versions, client, django_assert_max_num_queries):
    etag = client.get("/busy")["ETag"]

    with django_assert_max_num_queries(1):
        response = client.get("/busy", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304


def test_public_tarball_get_is_one_query(many_versions, client, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        response = client.get("/busy/-/busy-1.17.0.tgz")
        body = b"".join(response.streaming_content)

    assert response.status_code == 200
    assert len(body) == int(response["Content-Length"])
    assert Version.objects.get(package__name="busy", version="1.17.0").blob.size == len(body)


@pytest.mark.django_db
def test_weak_etag_from_a_compressing_proxy_still_revalidates(client, alice):
    publish(alice, "weakly-cached", "1.0.0")
    etag = client.get("/weakly-cached")["ETag"]
    assert client.get("/weakly-cached", HTTP_IF_NONE_MATCH=f"W/{etag}").status_code == 304


@pytest.mark.django_db
def test_reads_leave_the_middleware_stack_early(client, alice):
    publish(alice, "quick", "1.0.0")

    response = client.get("/quick", HTTP_ACCEPT=CORGI_ACCEPT)

    assert response.status_code == 200
    # No session, CSRF or CSP machinery ran: those responses would carry their headers.
    assert "Content-Security-Policy" not in response
    assert "Set-Cookie" not in response
    assert response["X-Content-Type-Options"] == "nosniff"
    assert int(response["Content-Length"]) == len(response.content)


@pytest.mark.django_db
def test_portal_pages_still_get_the_portal_middleware(client):
    assert "Content-Security-Policy" in client.get("/account/login/")
