"""What `npm publish` prints when the registry refuses, and that it does not refuse what
npm itself packs. Refusals the CLI makes on its own (no request) are noted as such; the
ones it cannot even send are covered in tests/registry/test_publish.py."""

import os

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def refused(result, code: str, text: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"npm error code {code}" in result.stderr, result.stderr
    assert text in result.stderr, result.stderr


def test_republishing_a_version_is_refused_even_after_unpublishing_it(npm, alice_token):
    npm.login_with(alice_token)
    first = npm.package("again-x", "1.0.0")
    npm("publish", cwd=first)
    npm("publish", cwd=npm.package("again-x", "1.0.1"))
    changed = npm.package("again-x", "1.0.0", files={"extra.js": "// changed"})

    # Without --force npm refuses locally; with it, the registry's 403 text is shown.
    over = npm("publish", "--force", cwd=changed, check=False)

    refused(over, "E403", "You cannot publish over the previously published versions: 1.0.0.")

    npm("unpublish", "again-x@1.0.0")
    after_unpublish = npm("publish", "--force", cwd=changed, check=False)

    refused(
        after_unpublish, "E403", "You cannot publish over the previously published versions: 1.0.0."
    )
    assert npm.json("view", "again-x", "versions") == ["1.0.1"]


def test_publish_credentials_and_permissions(npm, make_npm, alice_token, carol_token):
    package = npm.package("owned-x", "1.0.0")

    # No credentials at all: npm refuses before sending anything.
    refused(npm("publish", cwd=package, check=False), "ENEEDAUTH", "npm adduser")

    npm.login_with("gh_bogus_token")
    refused(npm("publish", cwd=package, check=False), "E401", "This access token is not valid")

    npm.login_with(alice_token)
    npm("publish", cwd=package)

    carol = make_npm("carol")
    carol.login_with(carol_token)
    refused(
        carol("publish", cwd=carol.package("owned-x", "1.0.1"), check=False),
        "E403",
        "You are not a maintainer of owned-x. Ask one of its maintainers (`npm owner ls owned-x`)",
    )
    refused(
        carol(
            "publish", "--access", "public", cwd=carol.package("@alice/taken", "1.0.0"), check=False
        ),
        "E403",
        "You may not publish under the @alice scope",
    )
    assert npm.json("view", "owned-x", "versions") == ["1.0.0"]


def test_publish_of_invalid_names_and_private_packages(npm, alice_token):
    npm.login_with(alice_token)

    # npm 11 sends an uppercase name; the registry refuses new ones.
    refused(
        npm("publish", cwd=npm.package("Upper-X", "1.0.0"), check=False),
        "E400",
        'Invalid package name "Upper-X": new package names must be lowercase.',
    )
    # "private": true never leaves the client (EPRIVATE); the API-level test covers the registry.
    refused(
        npm("publish", cwd=npm.package("private-x", "1.0.0", private=True), check=False),
        "EPRIVATE",
        "",
    )


def test_publish_of_an_oversized_tarball_shows_the_limit(npm, alice_token, settings):
    settings.GATEHOUSE_MAX_TARBALL_BYTES = 2 * 1024 * 1024
    npm.login_with(alice_token)
    package = npm.package("huge-x", "1.0.0")
    (package / "noise.bin").write_bytes(os.urandom(3 * 1024 * 1024))

    result = npm("publish", cwd=package, check=False)

    refused(
        result,
        "E413",
        "The tarball is larger than this registry accepts (2.0 MiB). Make the package smaller",
    )


def test_npm_publish_is_not_refused_for_what_npm_normalises_while_packing(npm, alice_token):
    """npm rewrites these package.json fields in the manifest it sends, not in the tarball."""
    npm.login_with(alice_token)
    packages = [
        npm.package("server-x", files={"server.js": "require('http')"}),
        npm.package("scripts-x", scripts={"build": "node_modules/.bin/tsc -p ."}),
        npm.package("gyp-x", files={"addon.gyp": "{}"}),
        npm.package(
            "bindir-x",
            directories={"bin": "./bin/"},
            files={"bin/a.js": "", "bin/sub/tool.js": "", "bin/.keep": ""},
        ),
        npm.package("build-meta-x", "1.0.0+build.5"),
    ]

    for package in packages:
        npm("publish", cwd=package)

    assert npm.json("view", "server-x", "scripts") == {"start": "node server.js"}
    assert npm.json("view", "scripts-x", "scripts") == {"build": "tsc -p ."}
    assert npm.json("view", "gyp-x", "scripts") == {"install": "node-gyp rebuild"}
    assert npm.json("view", "bindir-x", "bin") == {
        "a.js": "bin/a.js",
        "sub": "bin/sub",
        "tool.js": "bin/sub/tool.js",
    }
    assert npm.json("view", "build-meta-x", "versions") == ["1.0.0"]
