"""Finding and looking at packages with the real npm CLI: view, search, stars, audit, ping."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def publish(npm, name: str, *versions: str, **fields) -> None:
    for version in versions:
        npm("publish", cwd=npm.package(name, version, **fields))


@pytest.fixture
def carol_npm(make_npm, carol_token):
    carol = make_npm("carol")
    carol.login_with(carol_token)
    return carol


def test_view_shows_versions_tags_times_and_maintainers(npm, alice_token):
    npm.login_with(alice_token)
    publish(npm, "viewed", "1.0.0", "1.1.0", keywords=["look"])
    npm("publish", "--tag", "next", cwd=npm.package("viewed", "2.0.0-rc.1"))

    document = npm.json("view", "viewed")
    pretty = npm("view", "viewed").stdout

    assert document["versions"] == ["1.0.0", "1.1.0", "2.0.0-rc.1"]
    assert document["dist-tags"] == {"latest": "1.1.0", "next": "2.0.0-rc.1"}
    assert document["maintainers"] == ["alice <alice@example.com>"]
    assert {"created", "modified", "1.0.0", "1.1.0", "2.0.0-rc.1"} <= document["time"].keys()
    assert document["version"] == "1.1.0"
    assert document["dist"]["tarball"].endswith("/viewed/-/viewed-1.1.0.tgz")
    assert pretty.lstrip().startswith("viewed@1.1.0")
    assert "keywords: look" in pretty
    assert "latest: 1.1.0" in pretty
    assert "next: 2.0.0-rc.1" in pretty
    assert "- alice <alice@example.com>" in pretty


def test_view_of_a_missing_package_is_e404(npm):
    result = npm("view", "never-published", check=False)

    assert result.returncode == 1
    assert "E404" in result.stderr
    assert "never-published is not in this registry" in result.stderr


def test_search_ranks_the_exact_name_first_and_hides_restricted_packages(
    npm, alice_token, carol_npm
):
    npm.login_with(alice_token)
    for name in ("react-x", "x-react", "react"):
        publish(npm, name, "1.0.0")
    publish(npm, "@alice/react-secret", "1.0.0")

    as_alice = npm.json("search", "react")
    as_carol = carol_npm.json("search", "react")
    text = carol_npm("search", "react").stdout

    assert [hit["name"] for hit in as_carol] == ["react", "react-x", "x-react"]
    assert [hit["name"] for hit in as_alice] == [
        "react",
        "react-x",
        "@alice/react-secret",
        "x-react",
    ]
    assert as_carol[0]["maintainers"] == [{"username": "alice", "email": "alice@example.com"}]
    assert as_carol[0]["description"] == "react for tests"
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines[0].startswith("react")
    assert "react-secret" not in text


def test_star_unstar_and_stars(npm, alice_token, carol_npm):
    npm.login_with(alice_token)
    publish(npm, "shiny", "1.0.0")
    publish(npm, "dull", "1.0.0")

    carol_npm("star", "shiny")
    carol_npm("star", "dull")

    assert carol_npm("stars").stdout.split() == ["dull", "shiny"]
    assert npm("stars", "carol").stdout.split() == ["dull", "shiny"]
    assert npm.json("view", "shiny", "users") == {"carol": True}

    carol_npm("unstar", "shiny")
    carol_npm("unstar", "dull")

    empty = carol_npm("stars")
    assert empty.stdout.strip() == ""
    assert "user has not starred any packages" in empty.stderr


def test_audit_of_an_installed_project_finds_nothing(npm, alice_token):
    npm.login_with(alice_token)
    publish(npm, "audited", "1.0.0")
    app = npm.project({"audited": "^1.0.0"})
    npm("install", cwd=app)

    result = npm("audit", cwd=app)

    assert result.returncode == 0
    assert "found 0 vulnerabilities" in result.stdout


def test_ping(npm):
    result = npm("ping")

    assert "PONG" in result.stderr + result.stdout
