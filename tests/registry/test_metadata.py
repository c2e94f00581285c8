"""Metadata writes at the API level: deprecate, dist-tags, owners and stars.

Bodies are shaped as npm sends them (protocol §7-§9, §12): deprecate PUTs the whole
document to `/<name>`, owners PUT `{_id, _rev, maintainers}` to `/<name>/-rev/<rev>`,
star PUTs `{_id, _rev, users}` to `/<name>`.
"""

import json

import pytest

from accounts.actors import Actor
from accounts.models import SecurityEvent
from registry.exceptions import StaleRevision
from registry.models import Maintainer, Star
from registry.services.metadata import versions_deprecate
from tests.packages import publish_body

pytestmark = pytest.mark.django_db


def auth(token: str | None) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}


def put(client, path: str, body, token: str | None):
    return client.put(path, data=json.dumps(body), content_type="application/json", **auth(token))


def publish(client, token: str, name: str, version: str = "1.0.0", tag: str = "latest") -> None:
    assert put(client, f"/{name}", publish_body(name, version, tag=tag), token).status_code == 201


def document(client, name: str, token: str | None = None) -> dict:
    return client.get(f"/{name}", **auth(token)).json()


def revision(client, name: str, token: str | None = None) -> int:
    return int(document(client, name, token)["_rev"].split("-")[0])


def deprecate(client, token: str | None, name: str, messages: dict[str, str]):
    """What `npm deprecate`/`npm undeprecate` PUT: the document with `deprecated` set."""
    body = document(client, name, token)
    for version, message in messages.items():
        body["versions"][version]["deprecated"] = message
    return put(client, f"/{name}", body, token)


def set_owners(
    client, token: str | None, name: str, usernames: list[str], rev: str | None = None, otp=None
):
    """`npm owner add/rm`; a governance change, so with a one-time code (`otp`)."""
    doc = document(client, name, token)
    body = {
        "_id": name,
        "_rev": rev or doc["_rev"],
        "maintainers": [{"name": u, "email": f"{u}@example.com"} for u in usernames],
    }
    headers = {"HTTP_NPM_OTP": otp} if otp else {}
    path = f"/{name}/-rev/{body['_rev']}"
    return client.put(
        path, data=json.dumps(body), content_type="application/json", **auth(token), **headers
    )


def star(client, token: str | None, name: str, users: dict):
    doc = document(client, name, token)
    return put(client, f"/{name}", {"_id": name, "_rev": doc.get("_rev"), "users": users}, token)


@pytest.fixture
def pkg(client, alice_token):
    publish(client, alice_token, "meta", "1.0.0")
    publish(client, alice_token, "meta", "1.1.0")
    publish(client, alice_token, "meta", "2.0.0-beta.1", tag="next")
    return "meta"


# deprecate / undeprecate


def test_deprecate_sets_the_message_on_the_listed_versions(client, alice, alice_token, pkg):
    before = revision(client, pkg)

    response = deprecate(client, alice_token, pkg, {"1.0.0": "use 1.1", "2.0.0-beta.1": "use 1.1"})

    assert response.status_code == 200
    versions = document(client, pkg)["versions"]
    assert versions["1.0.0"]["deprecated"] == "use 1.1"
    assert versions["2.0.0-beta.1"]["deprecated"] == "use 1.1"
    assert "deprecated" not in versions["1.1.0"]
    assert revision(client, pkg) == before + 1
    event = SecurityEvent.objects.get(action="package:deprecate")
    assert (event.actor, event.package_name) == (alice, pkg)
    assert event.details == {"versions": {"1.0.0": "use 1.1", "2.0.0-beta.1": "use 1.1"}}


def test_undeprecate_sends_an_empty_string_which_clears_the_message(client, alice_token, pkg):
    deprecate(client, alice_token, pkg, {"1.0.0": "old", "1.1.0": "old too"})

    response = deprecate(client, alice_token, pkg, {"1.0.0": ""})

    assert response.status_code == 200
    versions = document(client, pkg)["versions"]
    assert "deprecated" not in versions["1.0.0"]
    assert versions["1.1.0"]["deprecated"] == "old too"
    corgi = client.get(f"/{pkg}", HTTP_ACCEPT="application/vnd.npm.install-v1+json").json()
    assert "deprecated" not in corgi["versions"]["1.0.0"]
    assert corgi["versions"]["1.1.0"]["deprecated"] == "old too"


def test_undeprecate_is_recorded_as_its_own_action(client, alice, alice_token, pkg):
    deprecate(client, alice_token, pkg, {"1.0.0": "old", "1.1.0": "old"})
    before = revision(client, pkg)

    deprecate(client, alice_token, pkg, {"1.0.0": "", "1.1.0": ""})

    assert revision(client, pkg) == before + 1
    event = SecurityEvent.objects.get(action="package:undeprecate")
    assert (event.actor, event.package_name) == (alice, pkg)
    assert event.details == {"versions": ["1.0.0", "1.1.0"]}
    assert SecurityEvent.objects.filter(action="package:deprecate").count() == 1


def test_deprecate_from_a_stale_document_is_refused_so_it_cannot_undo_others(
    alice_codes, client, alice, alice_token, bob, pkg
):
    deprecate(client, alice_token, pkg, {"1.0.0": "old"})
    stale = document(client, pkg)
    set_owners(client, alice_token, pkg, ["alice", "bob"], otp=alice_codes())
    versions_deprecate(actor=Actor(user=bob), name=pkg, versions={"1.0.0": {"deprecated": ""}})
    stale["versions"]["1.1.0"]["deprecated"] = "old too"

    with pytest.raises(StaleRevision):
        versions_deprecate(
            actor=Actor(user=alice), name=pkg, versions=stale["versions"], rev=stale["_rev"]
        )

    assert "deprecated" not in document(client, pkg)["versions"]["1.0.0"]


def test_deprecate_that_changes_nothing_records_nothing(client, alice_token, pkg):
    deprecate(client, alice_token, pkg, {"1.0.0": "old"})
    before = revision(client, pkg)

    response = deprecate(client, alice_token, pkg, {"1.0.0": "old"})

    assert response.status_code == 200
    assert revision(client, pkg) == before
    assert SecurityEvent.objects.filter(action="package:deprecate").count() == 1


def test_deprecate_ignores_versions_that_are_not_published(client, alice_token, pkg):
    body = document(client, pkg)
    body["versions"]["9.9.9"] = {"name": pkg, "version": "9.9.9", "deprecated": "ghost"}

    response = put(client, f"/{pkg}", body, alice_token)

    assert response.status_code == 200
    assert "9.9.9" not in document(client, pkg)["versions"]


def test_deprecate_with_a_non_string_message_is_400(client, alice_token, pkg):
    response = deprecate(client, alice_token, pkg, {"1.0.0": True})

    assert response.status_code == 400
    assert '"deprecated" of 1.0.0 must be a string' in response.json()["error"]


def test_deprecate_by_a_non_maintainer_is_refused(client, carol_token, pkg):
    response = deprecate(client, carol_token, pkg, {"1.0.0": "mine now"})

    assert response.status_code == 403
    assert "not a maintainer of meta" in response.json()["error"]
    assert "deprecated" not in document(client, pkg)["versions"]["1.0.0"]


# dist-tags


def tag_put(client, token, name, tag, version):
    return client.put(
        f"/-/package/{name}/dist-tags/{tag}",
        data=json.dumps(version),
        content_type="application/json",
        **auth(token),
    )


def tags(client, name, token=None) -> dict:
    return client.get(f"/-/package/{name}/dist-tags", **auth(token)).json()


def test_dist_tag_add_points_a_tag_at_a_published_version(client, alice, alice_token, pkg):
    before = revision(client, pkg)

    response = tag_put(client, alice_token, pkg, "stable", "1.0.0")

    assert response.status_code == 200
    assert tags(client, pkg) == {"latest": "1.1.0", "next": "2.0.0-beta.1", "stable": "1.0.0"}
    assert document(client, pkg)["dist-tags"]["stable"] == "1.0.0"
    assert revision(client, pkg) == before + 1
    event = SecurityEvent.objects.get(action="package:dist-tag-add")
    assert (event.actor, event.details) == (alice, {"tag": "stable", "version": "1.0.0"})


def test_dist_tags_are_served_uncached(client, pkg):
    response = client.get(f"/-/package/{pkg}/dist-tags")

    assert "no-cache" in response["Cache-Control"]


def test_dist_tag_add_moves_an_existing_tag(client, alice_token, pkg):
    tag_put(client, alice_token, pkg, "latest", "1.0.0")

    assert tags(client, pkg)["latest"] == "1.0.0"


def test_dist_tag_add_to_a_version_that_does_not_exist_is_404(client, alice_token, pkg):
    response = tag_put(client, alice_token, pkg, "stable", "3.0.0")

    assert response.status_code == 404
    assert "meta@3.0.0 is not published" in response.json()["error"]
    assert "stable" not in tags(client, pkg)


def test_dist_tag_add_to_an_unpublished_version_is_404(client, alice_token, pkg):
    doc = document(client, pkg)
    del doc["versions"]["1.0.0"]
    put(client, f"/{pkg}/-rev/{doc['_rev']}", doc, alice_token)

    response = tag_put(client, alice_token, pkg, "old", "1.0.0")

    assert response.status_code == 404


def test_dist_tag_that_is_a_semver_range_is_refused(client, alice_token, pkg):
    response = tag_put(client, alice_token, pkg, "1.x", "1.0.0")

    assert response.status_code == 400


def test_dist_tag_body_must_be_a_version_string(client, alice_token, pkg):
    response = tag_put(client, alice_token, pkg, "stable", {"version": "1.0.0"})

    assert response.status_code == 400
    assert 'JSON string, e.g. "1.0.0"' in response.json()["error"]


def test_dist_tag_rm_removes_the_tag(client, alice, alice_token, pkg):
    tag_put(client, alice_token, pkg, "stable", "1.0.0")
    before = revision(client, pkg)

    response = client.delete(f"/-/package/{pkg}/dist-tags/stable", **auth(alice_token))

    assert response.status_code == 200
    assert "stable" not in tags(client, pkg)
    assert revision(client, pkg) == before + 1
    assert SecurityEvent.objects.filter(action="package:dist-tag-remove", actor=alice).count() == 1


def test_dist_tag_rm_latest_is_refused(client, alice_token, pkg):
    response = client.delete(f"/-/package/{pkg}/dist-tags/latest", **auth(alice_token))

    assert response.status_code == 400
    assert "latest tag cannot be removed" in response.json()["error"]
    assert tags(client, pkg)["latest"] == "1.1.0"


def test_dist_tag_rm_of_a_missing_tag_is_404(client, alice_token, pkg):
    response = client.delete(f"/-/package/{pkg}/dist-tags/nope", **auth(alice_token))

    assert response.status_code == 404


def test_dist_tag_add_by_a_non_maintainer_is_refused(client, carol_token, pkg):
    response = tag_put(client, carol_token, pkg, "stable", "1.0.0")

    assert response.status_code == 403
    assert "stable" not in tags(client, pkg)


# owners


def test_owner_add_makes_the_user_a_maintainer(
    alice_codes, client, alice, alice_token, bob, bob_token, pkg
):
    before = revision(client, pkg)

    response = set_owners(client, alice_token, pkg, ["alice", "bob"], otp=alice_codes())

    assert response.status_code == 200
    assert [m["name"] for m in document(client, pkg)["maintainers"]] == ["alice", "bob"]
    assert revision(client, pkg) == before + 1
    event = SecurityEvent.objects.get(action="package:owner-add")
    assert (event.actor, event.user, event.package_name) == (alice, bob, pkg)
    publish(client, bob_token, pkg, "1.2.0")


def test_owner_rm_removes_the_maintainer(
    alice_codes, client, alice, alice_token, bob, bob_token, pkg
):
    set_owners(client, alice_token, pkg, ["alice", "bob"], otp=alice_codes())

    response = set_owners(client, alice_token, pkg, ["alice"], otp=alice_codes())

    assert response.status_code == 200
    assert [m["name"] for m in document(client, pkg)["maintainers"]] == ["alice"]
    event = SecurityEvent.objects.get(action="package:owner-remove")
    assert (event.actor, event.user) == (alice, bob)
    assert tag_put(client, bob_token, pkg, "stable", "1.0.0").status_code == 403


def test_owner_add_of_an_unknown_user_is_404(alice_codes, client, alice_token, pkg):
    response = set_owners(client, alice_token, pkg, ["alice", "nobody"], otp=alice_codes())

    assert response.status_code == 404
    assert "There is no user named nobody" in response.json()["error"]
    assert Maintainer.objects.filter(package__name=pkg).count() == 1


def test_owner_list_cannot_be_emptied(alice_codes, client, alice_token, pkg):
    response = set_owners(client, alice_token, pkg, [], otp=alice_codes())

    assert response.status_code == 400
    assert "must keep at least one maintainer" in response.json()["error"]


def test_owner_change_with_a_stale_revision_is_409(alice_codes, client, alice_token, bob, pkg):
    stale = document(client, pkg)["_rev"]
    deprecate(client, alice_token, pkg, {"1.0.0": "old"})

    response = set_owners(client, alice_token, pkg, ["alice", "bob"], rev=stale, otp=alice_codes())

    assert response.status_code == 409
    assert Maintainer.objects.filter(package__name=pkg).count() == 1


def test_a_non_maintainer_cannot_add_herself(client, carol_token, pkg):
    response = set_owners(client, carol_token, pkg, ["alice", "carol"])

    assert response.status_code == 403
    assert [m["name"] for m in document(client, pkg)["maintainers"]] == ["alice"]


def test_owners_can_be_changed_while_a_maintainer_account_is_deactivated(
    alice_codes, client, alice_token, bob, carol, pkg
):
    set_owners(client, alice_token, pkg, ["alice", "bob"], otp=alice_codes())
    bob.is_active = False
    bob.save(update_fields=["is_active"])

    added = set_owners(client, alice_token, pkg, ["alice", "bob", "carol"], otp=alice_codes())
    removed = set_owners(client, alice_token, pkg, ["alice", "carol"], otp=alice_codes())

    assert (added.status_code, removed.status_code) == (200, 200)
    assert [m["name"] for m in document(client, pkg)["maintainers"]] == ["alice", "carol"]


def test_owner_add_of_a_deactivated_user_is_404(alice_codes, client, alice_token, bob, pkg):
    bob.is_active = False
    bob.save(update_fields=["is_active"])

    response = set_owners(client, alice_token, pkg, ["alice", "bob"], otp=alice_codes())

    assert response.status_code == 404


# stars


def test_star_adds_only_the_actors_own_entry(client, carol, carol_token, bob, pkg):
    before = revision(client, pkg)

    response = star(client, carol_token, pkg, {"carol": True, "bob": True, "alice": True})

    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert document(client, pkg)["users"] == {"carol": True}
    assert list(Star.objects.values_list("user__username", flat=True)) == ["carol"]
    assert revision(client, pkg) == before + 1


def test_unstar_removes_only_the_actors_own_entry(client, bob_token, carol_token, pkg):
    star(client, bob_token, pkg, {"bob": True})
    star(client, carol_token, pkg, {"bob": True, "carol": True})

    response = star(client, carol_token, pkg, {})

    assert response.status_code == 200
    assert document(client, pkg)["users"] == {"bob": True}


def test_a_body_without_the_actor_cannot_unstar_others(client, bob_token, carol_token, pkg):
    star(client, bob_token, pkg, {"bob": True})

    star(client, carol_token, pkg, {"bob": False})

    assert document(client, pkg)["users"] == {"bob": True}


def test_star_needs_a_login(client, pkg):
    response = star(client, None, pkg, {"alice": True})

    assert response.status_code == 401
    assert "npm login" in response.json()["error"]
    assert not Star.objects.exists()
