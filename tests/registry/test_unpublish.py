"""`npm unpublish` at the API level: what leaves, what stays, and when it is refused.

npm's sequence (protocol §6): a PUT of the whole document minus the version to
`/<name>/-rev/<rev>`, then a DELETE of the tarball; a whole package is one DELETE of
`/<name>/-rev/<rev>`.
"""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import SecurityEvent
from registry.models import Package, Version
from tests.packages import publish_body

pytestmark = pytest.mark.django_db


def auth(token: str | None) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}


def publish(client, token: str, name: str, version: str, **package_json) -> None:
    body = publish_body(name, version, package_json=package_json or None)
    response = client.put(
        f"/{name}", data=json.dumps(body), content_type="application/json", **auth(token)
    )
    assert response.status_code == 201, response.content


def packument(client, name: str, token: str | None = None):
    return client.get(f"/{name}", **auth(token))


def tarball_status(client, path: str) -> int:
    response = client.get(path)
    if response.streaming:  # read it all, as a server would, so the blob file gets closed
        b"".join(response.streaming_content)
    return response.status_code


def unpublish_version(client, token: str | None, name: str, version: str, rev: str | None = None):
    """What `npm unpublish name@version` PUTs: the document without that version."""
    document = packument(client, name, token).json()
    del document["versions"][version]
    rev = rev or document["_rev"]
    return client.put(
        f"/{name}/-rev/{rev}",
        data=json.dumps(document),
        content_type="application/json",
        **auth(token),
    )


def unpublish_all(client, token: str | None, name: str, rev: str | None = None):
    rev = rev or Package.objects.get(name=name).packument.rev
    return client.delete(f"/{name}/-rev/{rev}", **auth(token))


def age(name: str, days: int = 4) -> None:
    """Move every version of `name` out of the unpublish window."""
    Version.objects.filter(package__name=name).update(
        published_at=timezone.now() - timedelta(days=days)
    )


@pytest.fixture
def three_versions(client, alice_token):
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        publish(client, alice_token, "trio", version)
    return "trio"


def test_unpublish_one_version_keeps_the_others_and_moves_latest(
    client, alice_token, three_versions
):
    response = unpublish_version(client, alice_token, "trio", "2.0.0")

    assert response.status_code == 200
    document = packument(client, "trio").json()
    assert sorted(document["versions"]) == ["1.0.0", "1.1.0"]
    assert document["dist-tags"] == {"latest": "1.1.0"}
    assert "2.0.0" in document["time"]  # the number stays taken
    assert tarball_status(client, "/trio/-/trio-2.0.0.tgz") == 404
    assert tarball_status(client, "/trio/-/trio-1.1.0.tgz") == 200


def test_unpublish_removes_every_tag_pointing_at_the_version(client, alice_token, three_versions):
    client.put(
        "/-/package/trio/dist-tags/beta",
        data='"1.0.0"',
        content_type="application/json",
        **auth(alice_token),
    )

    unpublish_version(client, alice_token, "trio", "1.0.0")

    assert packument(client, "trio").json()["dist-tags"] == {"latest": "2.0.0"}


def test_unpublished_version_number_cannot_be_published_again(client, alice_token, three_versions):
    unpublish_version(client, alice_token, "trio", "1.1.0")

    body = publish_body("trio", "1.1.0")
    response = client.put(
        "/trio", data=json.dumps(body), content_type="application/json", **auth(alice_token)
    )

    assert response.status_code == 403
    assert (
        "cannot publish over the previously published versions: 1.1.0" in response.json()["error"]
    )


def test_unpublish_whole_package_answers_404_saying_when(client, alice_token, three_versions):
    response = unpublish_all(client, alice_token, "trio")

    assert response.status_code == 200
    gone = packument(client, "trio", alice_token)
    assert gone.status_code == 404
    assert f"was unpublished on {timezone.now():%Y-%m-%d}" in gone.json()["error"]
    assert tarball_status(client, "/trio/-/trio-1.0.0.tgz") == 404
    assert set(Version.objects.filter(package__name="trio").values_list("state", flat=True)) == {
        Version.State.UNPUBLISHED
    }


def test_whole_package_unpublish_keeps_the_numbers_taken(client, alice_token, three_versions):
    unpublish_all(client, alice_token, "trio")

    body = publish_body("trio", "2.0.0")
    response = client.put(
        "/trio", data=json.dumps(body), content_type="application/json", **auth(alice_token)
    )

    assert response.status_code == 403
    assert packument(client, "trio").status_code == 404


def test_unpublish_with_a_stale_revision_is_409(client, alice_token, three_versions):
    stale = packument(client, "trio").json()["_rev"]
    client.put(
        "/-/package/trio/dist-tags/beta",
        data='"1.0.0"',
        content_type="application/json",
        **auth(alice_token),
    )

    one = unpublish_version(client, alice_token, "trio", "1.0.0", rev=stale)
    whole = unpublish_all(client, alice_token, "trio", rev=stale)

    assert (one.status_code, whole.status_code) == (409, 409)
    assert "changed while your command ran" in one.json()["error"]
    assert Version.objects.filter(package__name="trio", state=Version.State.PUBLISHED).count() == 3


def test_unpublish_body_that_removes_nothing_is_refused(client, alice_token, three_versions):
    document = packument(client, "trio").json()

    response = client.put(
        f"/trio/-rev/{document['_rev']}",
        data=json.dumps(document),
        content_type="application/json",
        **auth(alice_token),
    )

    assert response.status_code == 400
    assert "No version of trio would be unpublished" in response.json()["error"]


def test_unpublish_by_non_maintainer_is_refused(client, alice_token, carol_token, three_versions):
    response = unpublish_version(client, carol_token, "trio", "1.0.0")

    assert response.status_code == 403
    assert "You are not a maintainer of trio" in response.json()["error"]
    assert unpublish_all(client, carol_token, "trio").status_code == 403
    assert len(packument(client, "trio").json()["versions"]) == 3


def test_tarball_delete_of_a_still_published_version_is_refused(
    client, alice_token, three_versions
):
    rev = packument(client, "trio").json()["_rev"]

    response = client.delete(f"/trio/-/trio-1.0.0.tgz/-rev/{rev}", **auth(alice_token))

    assert response.status_code == 403
    assert "trio@1.0.0 is still published" in response.json()["error"]
    assert tarball_status(client, "/trio/-/trio-1.0.0.tgz") == 200


def test_tarball_delete_after_the_version_was_unpublished_succeeds(
    client, alice_token, three_versions
):
    unpublish_version(client, alice_token, "trio", "1.0.0")
    rev = packument(client, "trio").json()["_rev"]

    response = client.delete(f"/trio/-/trio-1.0.0.tgz/-rev/{rev}", **auth(alice_token))

    assert response.status_code == 200


def test_each_unpublish_bumps_the_revision_and_records_one_event_per_version(
    client, alice, alice_token, three_versions
):
    before = packument(client, "trio").json()["_rev"]
    unpublish_version(client, alice_token, "trio", "2.0.0")
    after_one = packument(client, "trio").json()["_rev"]
    unpublish_all(client, alice_token, "trio")

    assert int(after_one.split("-")[0]) > int(before.split("-")[0])
    assert Package.objects.get(name="trio").packument.rev != after_one
    events = SecurityEvent.objects.filter(action="package:unpublish", package_name="trio")
    assert sorted(e.details["version"] for e in events) == ["1.0.0", "1.1.0", "2.0.0"]
    assert {(e.actor, e.user) for e in events} == {(alice, alice)}


def test_within_the_window_a_package_others_depend_on_can_be_unpublished(
    client, alice_token, bob_token
):
    publish(client, alice_token, "base", "1.0.0")
    publish(client, alice_token, "base", "1.1.0")
    publish(client, bob_token, "app", "1.0.0", dependencies={"base": "^1.0.0"})

    assert unpublish_version(client, alice_token, "base", "1.0.0").status_code == 200
    assert unpublish_all(client, alice_token, "base").status_code == 200


def test_after_the_window_unpublish_is_refused_while_another_package_depends_on_it(
    client, alice_token, bob_token
):
    publish(client, alice_token, "base", "1.0.0")
    publish(client, alice_token, "base", "1.1.0")
    publish(client, bob_token, "app", "1.0.0", peerDependencies={"base": "*"})
    age("base")

    one = unpublish_version(client, alice_token, "base", "1.0.0")
    whole = unpublish_all(client, alice_token, "base")

    assert (one.status_code, whole.status_code) == (403, 403)
    error = one.json()["error"]
    assert "more than 72 hours ago" in error
    assert "(app)" in error
    assert 'npm deprecate base@<version> "<message>"' in error
    assert Version.objects.filter(package__name="base", state=Version.State.PUBLISHED).count() == 2


def test_after_the_window_unpublish_is_allowed_when_nothing_depends_on_it(client, alice_token):
    publish(client, alice_token, "lonely", "1.0.0")
    publish(client, alice_token, "lonely", "1.1.0")
    age("lonely")

    assert unpublish_version(client, alice_token, "lonely", "1.0.0").status_code == 200
    assert unpublish_all(client, alice_token, "lonely").status_code == 200


def test_after_the_window_dependents_that_were_unpublished_do_not_count(
    client, alice_token, bob_token
):
    publish(client, alice_token, "base", "1.0.0")
    publish(client, bob_token, "app", "1.0.0", dependencies={"base": "^1.0.0"})
    publish(client, bob_token, "app", "2.0.0")
    unpublish_version(client, bob_token, "app", "1.0.0")
    age("base")

    assert unpublish_all(client, alice_token, "base").status_code == 200


def test_after_the_window_only_old_versions_are_held_back(client, alice_token, bob_token):
    publish(client, alice_token, "base", "1.0.0")
    age("base")
    publish(client, alice_token, "base", "1.1.0")
    publish(client, bob_token, "app", "1.0.0", dependencies={"base": "^1.0.0"})

    fresh = unpublish_version(client, alice_token, "base", "1.1.0")

    assert fresh.status_code == 200
    assert packument(client, "base").json()["dist-tags"] == {"latest": "1.0.0"}


def test_the_refusal_names_only_dependents_the_maintainer_may_see(client, alice_token, bob_token):
    publish(client, alice_token, "base", "1.0.0")
    publish(client, bob_token, "@bob/secret", "1.0.0", dependencies={"base": "^1.0.0"})
    age("base")

    response = unpublish_all(client, alice_token, "base")

    assert response.status_code == 403
    assert "@bob/secret" not in response.json()["error"]
    assert "1 package you cannot see" in response.json()["error"]
