"""Packuments as npm reads them: the full and the abbreviated ("corgi") document, their
ETags and caching headers, and how they follow every write."""

import json

import pytest

from accounts.actors import Actor
from registry.models import Package, Packument
from registry.services.dist_tags import dist_tag_set
from registry.services.publish import version_publish
from tests.packages import publish_body

# Exactly what npm 11 sends when it wants the abbreviated document.
CORGI_ACCEPT = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"
REGISTRY = "https://npm.example.test/"


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.GATEHOUSE_URL = REGISTRY


def publish(user, name: str, version: str = "1.0.0", **kwargs):
    return version_publish(
        actor=Actor(user=user), name=name, body=publish_body(name, version, **kwargs)
    )


def get_full(client, name: str, **headers):
    return client.get(f"/{name}", HTTP_ACCEPT="application/json", **headers)


def get_corgi(client, name: str, **headers):
    return client.get(f"/{name}", HTTP_ACCEPT=CORGI_ACCEPT, **headers)


@pytest.fixture
def pad(alice):
    """pad 1.0.0 (latest) and 2.0.0-beta.1 (next), with an install script and a README."""
    publish(
        alice,
        "pad",
        "1.0.0",
        package_json={
            "description": "Pads strings",
            "license": "MIT",
            "keywords": ["pad"],
            "scripts": {"postinstall": "node setup.js", "test": "jest"},
            "dependencies": {"dep": "^1.0.0"},
            "devDependencies": {"jest": "^29.0.0"},
            "engines": {"node": ">=18"},
        },
        extra_files={"README.md": "# pad\n\nPads strings.\n"},
    )
    publish(alice, "pad", "2.0.0-beta.1", tag="next", package_json={"description": "Beta"})
    return Package.objects.get(name="pad")


def test_full_packument_has_everything_npm_view_and_owner_need(pad, client):
    response = get_full(client, "pad")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document = response.json()
    assert document["_id"] == "pad"
    assert document["_rev"] == Packument.objects.get(name="pad").rev
    assert document["name"] == "pad"
    assert document["dist-tags"] == {"latest": "1.0.0", "next": "2.0.0-beta.1"}
    assert list(document["versions"]) == ["1.0.0", "2.0.0-beta.1"]
    # Top-level fields come from the latest version, not the newest one.
    assert document["description"] == "Pads strings"
    assert document["license"] == "MIT"
    assert document["readme"] == "# pad\n\nPads strings.\n"
    assert document["readmeFilename"] == "README.md"
    assert document["maintainers"] == [{"name": "alice", "email": "alice@example.com"}]
    assert set(document["time"]) == {"created", "modified", "1.0.0", "2.0.0-beta.1"}
    assert all(stamp.endswith("Z") for stamp in document["time"].values())

    version = document["versions"]["1.0.0"]
    assert version["scripts"] == {"postinstall": "node setup.js", "test": "jest"}
    assert version["hasInstallScript"] is True
    assert version["devDependencies"] == {"jest": "^29.0.0"}
    assert version["_npmUser"] == {"name": "alice", "email": "alice@example.com"}
    assert version["maintainers"] == [{"name": "alice", "email": "alice@example.com"}]
    dist = version["dist"]
    assert dist["tarball"] == "https://npm.example.test/pad/-/pad-1.0.0.tgz"
    assert dist["integrity"].startswith("sha512-")
    assert len(dist["shasum"]) == 40
    assert dist["fileCount"] == 3
    assert dist["unpackedSize"] > 0


def test_abbreviated_packument_keeps_only_what_installs_need(pad, client):
    response = get_corgi(client, "pad")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.npm.install-v1+json"
    document = response.json()
    assert set(document) == {"name", "dist-tags", "modified", "versions"}
    assert document["dist-tags"] == {"latest": "1.0.0", "next": "2.0.0-beta.1"}
    assert document["modified"].endswith("Z")
    version = document["versions"]["1.0.0"]
    assert set(version) == {
        "name", "version", "dependencies", "devDependencies", "engines", "license", "dist", "hasInstallScript",
    }  # fmt: skip
    # Corgi readers never see scripts, so the install-script flag must be there.
    assert version["hasInstallScript"] is True
    assert version["dist"]["tarball"] == "https://npm.example.test/pad/-/pad-1.0.0.tgz"
    assert version["dist"] == get_full(client, "pad").json()["versions"]["1.0.0"]["dist"]


def test_scoped_packument_has_scoped_tarball_path(alice, client):
    publish(alice, "@alice/tool", access="public")

    # npm asks for /@alice%2ftool; WSGI hands Django /@alice/tool.
    full = get_full(client, "@alice%2ftool").json()
    corgi = get_corgi(client, "@alice/tool").json()

    expected = "https://npm.example.test/@alice/tool/-/tool-1.0.0.tgz"
    assert full["versions"]["1.0.0"]["dist"]["tarball"] == expected
    assert corgi["versions"]["1.0.0"]["dist"]["tarball"] == expected


def test_tarball_urls_follow_the_configured_registry_url(pad, client, settings):
    settings.GATEHOUSE_URL = "http://127.0.0.1:4873/npm/"
    dist_tag_set(
        actor=Actor(user=pad.maintainers.get().user), name="pad", tag="beta", version="1.0.0"
    )

    tarball = get_full(client, "pad").json()["versions"]["1.0.0"]["dist"]["tarball"]

    assert tarball == "http://127.0.0.1:4873/npm/pad/-/pad-1.0.0.tgz"


def test_packument_responses_always_revalidate(pad, client):
    for response in (get_full(client, "pad"), get_corgi(client, "pad")):
        assert response["ETag"].startswith('"')
        assert "max-age=0" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
        assert "Accept" in response["Vary"]


def test_full_and_abbreviated_etags_differ(pad, client):
    assert get_full(client, "pad")["ETag"] != get_corgi(client, "pad")["ETag"]


@pytest.mark.parametrize("get", [get_full, get_corgi], ids=["full", "abbreviated"])
def test_if_none_match_gives_304_without_body(get, pad, client):
    etag = get(client, "pad")["ETag"]

    response = get(client, "pad", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag
    assert "Cache-Control" in response


def test_etag_of_one_form_does_not_validate_the_other(pad, client):
    full_etag = get_full(client, "pad")["ETag"]

    response = get_corgi(client, "pad", HTTP_IF_NONE_MATCH=full_etag)

    assert response.status_code == 200
    assert response.json()["name"] == "pad"


def test_etags_and_rev_change_after_every_write(pad, alice, client):
    seen = []

    def snapshot():
        full = get_full(client, "pad")
        seen.append((full["ETag"], get_corgi(client, "pad")["ETag"], full.json()["_rev"]))

    snapshot()
    publish(alice, "pad", "1.0.1")
    snapshot()
    dist_tag_set(actor=Actor(user=alice), name="pad", tag="stable", version="1.0.0")
    snapshot()
    dist_tag_set(actor=Actor(user=alice), name="pad", tag="latest", version="1.0.0")
    snapshot()

    for kind in range(3):
        values = [snap[kind] for snap in seen]
        assert len(set(values)) == len(values), values
    # And a stale ETag is answered with the new document, not a 304.
    response = get_full(client, "pad", HTTP_IF_NONE_MATCH=seen[0][0])
    assert response.status_code == 200
    assert response.json()["dist-tags"] == {
        "latest": "1.0.0",
        "next": "2.0.0-beta.1",
        "stable": "1.0.0",
    }


def test_write_true_get_returns_the_current_rev(pad, client):
    """npm unpublish and owner read `_rev` from `?write=true` before writing."""
    response = client.get("/pad?write=true", HTTP_ACCEPT="*/*")

    assert response.status_code == 200
    assert response.json()["_rev"] == Packument.objects.get(name="pad").rev


def test_published_prerelease_with_tag_does_not_move_latest(pad, client):
    document = get_full(client, "pad").json()

    assert document["dist-tags"]["latest"] == "1.0.0"
    assert document["versions"]["2.0.0-beta.1"]["description"] == "Beta"


def test_packument_of_a_missing_package_is_404_with_error(db, client):
    for get in (get_full, get_corgi):
        response = get(client, "no-such-package")
        assert response.status_code == 404
        assert "not in this registry" in response.json()["error"]


def test_packument_bytes_are_served_as_stored(pad, client):
    stored = Packument.objects.get(name="pad")

    assert get_full(client, "pad").content == bytes(stored.full)
    assert get_corgi(client, "pad").content == bytes(stored.abbreviated)
    assert json.loads(bytes(stored.full))["_rev"] == stored.rev
