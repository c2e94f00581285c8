"""Changing what was published, with the real npm CLI: unpublish, deprecate, dist-tag, owner."""

import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from registry.models import Package, Version
from registry.packuments import packument_touch

pytestmark = pytest.mark.django_db(transaction=True)


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url) as response:  # noqa: S310 - the live test server
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def age(name: str, days: int = 4) -> None:
    """Move `name`'s versions out of the unpublish window, as if published days ago."""
    with transaction.atomic():
        package = Package.objects.select_for_update().get(name=name)
        package.versions.update(published_at=timezone.now() - timedelta(days=days))
        packument_touch(package)


def publish(npm, name: str, *versions: str, **fields) -> None:
    for version in versions:
        npm("publish", cwd=npm.package(name, version, **fields))


def failure(result) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    return result.stderr


@pytest.fixture
def bob_npm(make_npm, bob_token):
    bob = make_npm("bob")
    bob.login_with(bob_token)
    return bob


@pytest.fixture
def carol_npm(make_npm, carol_token):
    carol = make_npm("carol")
    carol.login_with(carol_token)
    return carol


def test_unpublish_a_version_then_the_whole_package(npm, alice_token, registry):
    npm.login_with(alice_token)
    publish(npm, "churn", "0.9.0", "0.10.0", "1.0.0")

    npm("unpublish", "churn@1.0.0")

    assert npm.json("view", "churn", "versions") == ["0.9.0", "0.10.0"]
    assert npm("view", "churn", "dist-tags.latest").stdout.strip() == "0.10.0"
    assert http_status(registry + "churn/-/churn-1.0.0.tgz") == 404
    again = failure(npm("publish", cwd=npm.package("churn", "1.0.0"), check=False))
    assert "E403" in again
    assert "cannot publish over the previously published versions: 1.0.0" in again

    npm("unpublish", "churn", "--force")

    gone = failure(npm("view", "churn", check=False))
    assert "E404" in gone
    assert f"churn was unpublished on {timezone.now():%Y-%m-%d}" in gone
    assert http_status(registry + "churn/-/churn-0.9.0.tgz") == 404
    assert "E403" in failure(npm("publish", cwd=npm.package("churn", "0.9.0"), check=False))


def test_unpublish_by_a_non_maintainer_is_refused(npm, alice_token, carol_npm):
    npm.login_with(alice_token)
    publish(npm, "guarded", "1.0.0")

    refused = failure(carol_npm("unpublish", "guarded", "--force", check=False))

    assert "E403" in refused
    assert "You are not a maintainer of guarded" in refused
    assert npm.json("view", "guarded", "versions") == ["1.0.0"]


def test_after_the_window_unpublish_waits_until_nothing_depends_on_it(npm, alice_token, bob_npm):
    npm.login_with(alice_token)
    publish(npm, "bedrock", "1.0.0", "1.1.0")
    publish(bob_npm, "house", "1.0.0", dependencies={"bedrock": "^1.0.0"})
    age("bedrock")

    refused = failure(npm("unpublish", "bedrock@1.0.0", check=False))
    assert "E403" in refused
    assert "more than 72 hours ago" in refused
    assert "(house)" in refused
    assert 'npm deprecate bedrock@<version> "<message>"' in refused

    bob_npm("unpublish", "house", "--force")
    npm("unpublish", "bedrock@1.0.0")

    assert npm.json("view", "bedrock", "versions") == ["1.1.0"]


def test_deprecate_warns_installers_until_undeprecated(npm, alice_token):
    npm.login_with(alice_token)
    publish(npm, "aging", "1.0.0", "1.1.0", "2.0.0")

    npm("deprecate", "aging@1.0.0", "use 1.1")

    assert npm("view", "aging@1.0.0", "deprecated").stdout.strip() == "use 1.1"
    installed = npm("install", "aging@1.0.0", cwd=npm.project({}))
    assert "npm warn deprecated aging@1.0.0: use 1.1" in installed.stderr

    npm("undeprecate", "aging@1.0.0")

    assert npm("view", "aging@1.0.0", "deprecated").stdout.strip() == ""

    npm("deprecate", "aging@<2", "the 1.x line is over")

    deprecated = {
        v.version: v.manifest.get("deprecated")
        for v in Version.objects.filter(package__name="aging")
    }
    assert deprecated == {
        "1.0.0": "the 1.x line is over",
        "1.1.0": "the 1.x line is over",
        "2.0.0": None,
    }


def test_dist_tags_point_at_published_versions(npm, alice_token, carol_npm):
    npm.login_with(alice_token)
    publish(npm, "tagged", "1.0.0", "1.1.0")

    added = npm("dist-tag", "add", "tagged@1.0.0", "stable")

    assert added.stdout.strip() == "+stable: tagged@1.0.0"
    assert npm("dist-tag", "ls", "tagged").stdout.splitlines() == [
        "latest: 1.1.0",
        "stable: 1.0.0",
    ]
    missing = failure(npm("dist-tag", "add", "tagged@9.9.9", "beta", check=False))
    assert "E404" in missing
    assert "tagged@9.9.9 is not published, so it cannot be tagged beta" in missing
    latest = failure(npm("dist-tag", "rm", "tagged", "latest", check=False))
    assert "The latest tag cannot be removed" in latest
    outsider = failure(carol_npm("dist-tag", "add", "tagged@1.0.0", "mine", check=False))
    assert "E403" in outsider
    assert "You are not a maintainer of tagged" in outsider

    removed = npm("dist-tag", "rm", "tagged", "stable")

    assert removed.stdout.strip() == "-stable: tagged@1.0.0"
    assert npm("dist-tag", "ls", "tagged").stdout.splitlines() == ["latest: 1.1.0"]


def test_owners_can_be_listed_added_and_removed(npm, alice_codes, alice_token, bob_npm, carol_npm):
    npm.login_with(alice_token)
    publish(npm, "shared", "1.0.0")
    assert npm("owner", "ls", "shared").stdout.strip() == "alice <alice@example.com>"

    npm("owner", "add", "bob", "shared", f"--otp={alice_codes()}")
    publish(bob_npm, "shared", "1.1.0")

    assert npm("owner", "ls", "shared").stdout.splitlines() == [
        "alice <alice@example.com>",
        "bob <bob@example.com>",
    ]
    herself = failure(carol_npm("owner", "add", "carol", "shared", check=False))
    assert "You are not a maintainer of shared" in herself
    unknown = failure(
        npm("owner", "add", "nobody", "shared", f"--otp={alice_codes()}", check=False)
    )
    assert "There is no user named nobody" in unknown

    npm("owner", "rm", "bob", "shared", f"--otp={alice_codes()}")

    assert npm("owner", "ls", "shared").stdout.strip() == "alice <alice@example.com>"
    assert "E403" in failure(
        bob_npm("publish", cwd=bob_npm.package("shared", "1.2.0"), check=False)
    )
    last = failure(npm("owner", "rm", "alice", "shared", f"--otp={alice_codes()}", check=False))
    assert "EOWNERRM" in last


def test_metadata_commands_on_a_restricted_scoped_package(npm, alice_token, carol_npm):
    npm.login_with(alice_token)
    publish(npm, "@alice/inner", "1.0.0", "1.1.0")

    npm("dist-tag", "add", "@alice/inner@1.0.0", "stable")
    npm("deprecate", "@alice/inner@1.0.0", "use 1.1")
    npm("unpublish", "@alice/inner@1.1.0")

    document = npm.json("view", "@alice/inner")
    assert document["versions"] == ["1.0.0"]
    assert document["dist-tags"] == {"latest": "1.0.0", "stable": "1.0.0"}
    assert document["deprecated"] == "use 1.1"
    assert Version.objects.get(version="1.1.0").state == Version.State.UNPUBLISHED
    hidden = failure(carol_npm("view", "@alice/inner", check=False))
    assert "E404" in hidden
    assert "E404" in failure(carol_npm("dist-tag", "ls", "@alice/inner", check=False))
