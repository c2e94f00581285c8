"""Publishing with the real npm CLI and installing what was published."""

import json
import shutil

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_publish_then_install_unscoped_package(npm, alice_token):
    npm.login_with(alice_token)
    npm("publish", cwd=npm.package("left-pad-x", "1.0.0"))
    app = npm.project({"left-pad-x": "^1.0.0"})

    npm("install", cwd=app)

    lock = json.loads((app / "package-lock.json").read_text())
    entry = lock["packages"]["node_modules/left-pad-x"]
    assert entry["version"] == "1.0.0"
    assert entry["integrity"].startswith("sha512-")
    assert (
        app / "node_modules/left-pad-x/index.js"
    ).read_text().strip() == 'module.exports = "left-pad-x@1.0.0";'


def test_install_and_ci_of_every_kind_of_package(npm, make_npm, alice_token, registry):
    npm.login_with(alice_token)
    npm("publish", cwd=npm.package("base-x", "1.0.0"))
    npm("publish", cwd=npm.package("util-x", "1.0.0", dependencies={"base-x": "^1.0.0"}))
    npm("publish", "--access", "public", cwd=npm.package("@alice/ui", "1.0.0"))
    npm("publish", cwd=npm.package("@alice/secret", "1.0.0"))  # scoped: restricted by default
    npm("publish", cwd=npm.package("old-x", "1.0.0"))
    npm("deprecate", "old-x@1.0.0", "use util-x instead")
    npm("publish", cwd=npm.package("hooked-x", "1.0.0", scripts={"postinstall": "node -e 1"}))
    tool = npm.package(
        "tool-x", "1.0.0", bin={"tool-x": "cli.js"}, files={"cli.js": "#!/usr/bin/env node\n"}
    )
    npm("publish", cwd=tool)
    dependencies = {
        "util-x": "^1.0.0",
        "@alice/ui": "^1.0.0",
        "@alice/secret": "^1.0.0",
        "old-x": "^1.0.0",
        "hooked-x": "^1.0.0",
        "tool-x": "^1.0.0",
    }
    app = npm.project(dependencies)

    installed = npm("install", cwd=app)

    assert "npm warn deprecated old-x@1.0.0: use util-x instead" in installed.stderr
    packages = json.loads((app / "package-lock.json").read_text())["packages"]
    for name in [*dependencies, "base-x"]:  # base-x: the transitive dependency of util-x
        entry = packages[f"node_modules/{name}"]
        assert entry["version"] == "1.0.0"
        assert entry["resolved"] == f"{registry}{name}/-/{name.rsplit('/', 1)[-1]}-1.0.0.tgz"
        assert entry["integrity"].startswith("sha512-")
        assert (app / "node_modules" / name / "package.json").exists()
    assert packages["node_modules/hooked-x"]["hasInstallScript"] is True
    assert "hasInstallScript" not in packages["node_modules/util-x"]
    assert packages["node_modules/old-x"]["deprecated"] == "use util-x instead"
    assert packages["node_modules/tool-x"]["bin"] == {"tool-x": "cli.js"}
    assert (app / "node_modules/.bin/tool-x").resolve() == (
        app / "node_modules/tool-x/cli.js"
    ).resolve()

    # Someone else, with a cold cache, installs exactly the lockfile.
    bob = make_npm("alice-on-ci")
    bob.login_with(alice_token)
    ci_app = bob.root / "app"
    ci_app.mkdir()
    for file in ("package.json", "package-lock.json"):
        shutil.copy(app / file, ci_app / file)

    bob("ci", cwd=ci_app)

    for name in [*dependencies, "base-x"]:
        manifest = json.loads((ci_app / "node_modules" / name / "package.json").read_text())
        assert manifest["version"] == "1.0.0"
    assert (ci_app / "node_modules/.bin/tool-x").exists()


def test_restricted_package_is_refused_to_others(npm, make_npm, alice_token, carol_token):
    npm.login_with(alice_token)
    npm("publish", cwd=npm.package("@alice/secret", "1.0.0"))
    npm("install", "@alice/secret", cwd=npm.project({}))
    lock = (npm.root / "app" / "package-lock.json").read_text()

    carol = make_npm("carol")
    carol.login_with(carol_token)
    anonymous = make_npm("anonymous")
    for other in (carol, anonymous):
        app = other.project({"@alice/secret": "^1.0.0"})
        refused = other("install", cwd=app, check=False)
        assert refused.returncode == 1
        assert "npm error code E404" in refused.stderr
        assert (
            "@alice/secret is not in this registry, or you do not have access to it."
            in refused.stderr
        )

        # Knowing the tarball URL from someone's lockfile does not help either.
        (app / "package-lock.json").write_text(lock)
        refused = other("ci", cwd=app, check=False)
        assert refused.returncode == 1
        assert "npm error code E404" in refused.stderr


def test_a_reader_who_loses_access_is_refused_at_the_next_install(
    npm, make_npm, alice_codes, alice_token, bob_token
):
    """Repeated reads of a restricted package are answered from memory (reader passes);
    taking the access away still refuses the very next install."""
    npm.login_with(alice_token)
    npm("publish", cwd=npm.package("@alice/secret", "1.0.0"))
    npm("owner", "add", "bob", "@alice/secret", f"--otp={alice_codes()}")
    bob = make_npm("bob")
    bob.login_with(bob_token)
    for name in ("first", "second"):  # the second install reads with bob's pass
        bob("install", "@alice/secret", cwd=bob.project({}, name=name))

    npm("owner", "rm", "bob", "@alice/secret", f"--otp={alice_codes()}")
    refused = bob(
        "install", cwd=bob.project({"@alice/secret": "^1.0.0"}, name="third"), check=False
    )
    assert refused.returncode == 1 and "npm error code E404" in refused.stderr

    npm("owner", "add", "bob", "@alice/secret", f"--otp={alice_codes()}")
    bob("install", cwd=bob.project({"@alice/secret": "^1.0.0"}, name="fourth"))
    bob("token", "revoke", bob_token)
    refused = bob(
        "install", cwd=bob.project({"@alice/secret": "^1.0.0"}, name="fifth"), check=False
    )
    assert refused.returncode == 1 and "npm error code E401" in refused.stderr
    assert "This access token is not valid" in refused.stderr


def test_publish_with_tag_keeps_latest_and_view_shows_what_the_registry_adds(
    npm, alice_token, registry
):
    npm.login_with(alice_token)
    npm("publish", cwd=npm.package("tagged-x", "1.0.0"))
    npm("publish", "--tag", "next", cwd=npm.package("tagged-x", "2.0.0-beta.1"))

    view = npm.json("view", "tagged-x")
    beta = npm.json("view", "tagged-x@next")

    assert view["dist-tags"] == {"latest": "1.0.0", "next": "2.0.0-beta.1"}
    assert view["version"] == "1.0.0"
    assert view["versions"] == ["1.0.0", "2.0.0-beta.1"]
    assert view["_npmUser"] == "alice <alice@example.com>"
    assert view["maintainers"] == ["alice <alice@example.com>"]
    assert {"created", "modified", "1.0.0", "2.0.0-beta.1"} <= set(view["time"])
    assert view["dist"]["tarball"] == f"{registry}tagged-x/-/tagged-x-1.0.0.tgz"
    assert view["dist"]["integrity"].startswith("sha512-")
    assert view["dist"]["fileCount"] == 3
    assert view["dist"]["unpackedSize"] > 0
    assert beta["version"] == "2.0.0-beta.1"
    # A range still resolves to latest, not to the prerelease.
    app = npm.project({"tagged-x": "*"})
    npm("install", cwd=app)
    assert (
        json.loads((app / "node_modules/tagged-x/package.json").read_text())["version"] == "1.0.0"
    )
