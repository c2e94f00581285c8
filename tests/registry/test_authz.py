"""Who may do what to a package: every registry operation for every persona.

alice maintains both packages; carol is an outsider; "read-only" is alice with a
read-only token. A restricted package must look missing (404) to anyone who may not
read it, whatever they try, so its existence stays private.
"""

import json

import pytest

from accounts.models import Token
from registry.authz import package_role, package_writers, packages_writable_by
from registry.models import Maintainer, Package, TeamGrant
from registry.orgs.models import Membership, Org, Team, TeamMember
from tests.conftest import make_user
from tests.packages import publish_body

pytestmark = pytest.mark.django_db

PUBLIC = "pub"
RESTRICTED = "@alice/priv"


def auth(token: str | None) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}


def put(client, path: str, body, token: str | None):
    return client.put(path, data=json.dumps(body), content_type="application/json", **auth(token))


def rev(name: str) -> str:
    return Package.objects.get(name=name).packument.rev


def full_document(name: str) -> dict:
    return json.loads(bytes(Package.objects.get(name=name).packument.full))


def tarball(client, name: str, version: str, token: str | None):
    basename = name.rsplit("/", 1)[-1]
    response = client.get(f"/{name}/-/{basename}-{version}.tgz", **auth(token))
    if response.streaming:  # read it all, as a server would, so the blob file gets closed
        b"".join(response.streaming_content)
    return response


def deprecate_body(name: str) -> dict:
    body = full_document(name)
    body["versions"]["1.0.0"]["deprecated"] = "use 1.1"
    return body


def unpublish_body(name: str) -> dict:
    body = full_document(name)
    del body["versions"]["1.1.0"]
    return body


def owners_body(name: str) -> dict:
    return {"_id": name, "_rev": rev(name), "maintainers": [{"name": "alice"}, {"name": "bob"}]}


def star_body(name: str, username: str) -> dict:
    return {"_id": name, "_rev": rev(name), "users": {username: True}}


# Ordered so that, for a maintainer, each allowed write leaves the next one possible.
OPERATIONS = {
    "packument": lambda c, n, t, u: c.get(f"/{n}", **auth(t)),
    "dist-tags": lambda c, n, t, u: c.get(f"/-/package/{n}/dist-tags", **auth(t)),
    "tarball": lambda c, n, t, u: tarball(c, n, "1.0.0", t),
    "dist-tag add": lambda c, n, t, u: put(c, f"/-/package/{n}/dist-tags/stable", "1.0.0", t),
    "dist-tag rm": lambda c, n, t, u: c.delete(f"/-/package/{n}/dist-tags/beta", **auth(t)),
    "deprecate": lambda c, n, t, u: put(c, f"/{n}", deprecate_body(n), t),
    "star": lambda c, n, t, u: put(c, f"/{n}", star_body(n, u), t),
    "owner": lambda c, n, t, u: put(c, f"/{n}/-rev/{rev(n)}", owners_body(n), t),
    "publish": lambda c, n, t, u: put(c, f"/{n}", publish_body(n, "1.2.0"), t),
    "unpublish version": lambda c, n, t, u: put(c, f"/{n}/-rev/{rev(n)}", unpublish_body(n), t),
    "tarball delete": lambda c, n, t, u: c.delete(
        f"/{n}/-/{n.rsplit('/', 1)[-1]}-1.0.0.tgz/-rev/{rev(n)}", **auth(t)
    ),
    "unpublish all": lambda c, n, t, u: c.delete(f"/{n}/-rev/{rev(n)}", **auth(t)),
}
READS = {"packument", "dist-tags", "tarball"}


def expect(reads: int, writes: int, **exceptions: int) -> dict[str, int]:
    statuses = {op: reads if op in READS else writes for op in OPERATIONS}
    statuses.update({op.replace("_", " "): status for op, status in exceptions.items()})
    return statuses


# 1.0.0 is still published, so its tarball stays; alice has no second factor, so she may
# not change the maintainers (governance needs one: tests/test_governance_matrix.py).
MAINTAINER = {**expect(200, 200, publish=201), "tarball delete": 403, "owner": 403}
MATRIX = {
    (PUBLIC, "anonymous"): expect(200, 401),
    (PUBLIC, "maintainer"): MAINTAINER,
    (PUBLIC, "outsider"): expect(200, 403, star=200),
    (PUBLIC, "read-only"): expect(200, 403),
    (RESTRICTED, "anonymous"): expect(404, 404),
    (RESTRICTED, "maintainer"): MAINTAINER,
    (RESTRICTED, "outsider"): expect(404, 404),
    (RESTRICTED, "read-only"): expect(200, 403),
}


@pytest.fixture
def packages(client, alice_token, bob):
    for name in (PUBLIC, RESTRICTED):
        for version, tag in (("1.0.0", "latest"), ("1.1.0", "latest"), ("1.1.1", "beta")):
            response = put(client, f"/{name}", publish_body(name, version, tag=tag), alice_token)
            assert response.status_code == 201
    assert Package.objects.get(name=RESTRICTED).is_restricted


@pytest.fixture
def personas(alice_token, carol_token) -> dict[str, tuple[str | None, str]]:
    """persona -> (its token, the username it stars as)"""
    return {
        "anonymous": (None, "nobody"),
        "maintainer": (alice_token, "alice"),
        "outsider": (carol_token, "carol"),
        "read-only": (alice_token, "alice"),
    }


@pytest.mark.parametrize(
    ("name", "persona"), list(MATRIX), ids=[f"{name}-{persona}" for name, persona in MATRIX]
)
def test_every_operation_for_every_persona(client, packages, personas, name, persona):
    token, username = personas[persona]
    if persona == "read-only":
        Token.objects.filter(user__username="alice").update(readonly=True)

    statuses = {
        op: call(client, name, token, username).status_code for op, call in OPERATIONS.items()
    }

    assert statuses == MATRIX[(name, persona)]


def test_a_hidden_package_answers_exactly_like_a_missing_one(client, packages, carol_token):
    for token in (None, carol_token):
        hidden = client.delete(f"/{RESTRICTED}/-rev/1-x", **auth(token))
        missing = client.delete("/@alice/missing/-rev/1-x", **auth(token))

        assert (hidden.status_code, missing.status_code) == (404, 404)
        assert hidden.json()["error"].replace("priv", "missing") == missing.json()["error"]


def test_a_read_only_token_says_why_it_cannot_write(client, packages, alice_token):
    Token.objects.filter(user__username="alice").update(readonly=True)

    response = put(client, f"/-/package/{PUBLIC}/dist-tags/stable", "1.0.0", alice_token)

    assert response.status_code == 403
    assert "This token is read-only" in response.json()["error"]


def test_an_outsider_is_told_who_to_ask(client, packages, carol_token):
    response = client.delete(f"/{PUBLIC}/-rev/{rev(PUBLIC)}", **auth(carol_token))

    assert "You are not a maintainer of pub" in response.json()["error"]
    assert "npm owner ls pub" in response.json()["error"]


def test_anonymous_writes_are_401_without_a_challenge_so_npm_shows_the_text(client, packages):
    response = client.delete(f"/{PUBLIC}/-rev/{rev(PUBLIC)}")

    assert response.status_code == 401
    assert "WWW-Authenticate" not in response
    assert "Run `npm login`" in response.json()["error"]


def test_a_new_maintainer_sees_the_restricted_package(
    client, packages, alice_codes, alice_token, bob_token
):
    assert client.get(f"/{RESTRICTED}", **auth(bob_token)).status_code == 404

    added = client.put(
        f"/{RESTRICTED}/-rev/{rev(RESTRICTED)}",
        data=json.dumps(owners_body(RESTRICTED)),
        content_type="application/json",
        HTTP_NPM_OTP=alice_codes(),
        **auth(alice_token),
    )

    assert added.status_code == 200, added.content

    assert client.get(f"/{RESTRICTED}", **auth(bob_token)).status_code == 200


def test_who_may_write_reads_the_same_both_ways(db):
    """One definition of who may write (authz._WRITE_PATHS), read from the package's side
    and from the person's: a read-only team member writes neither way, even when the same
    team writes another package."""
    org = Org.objects.create(name="both-ways")
    mine, other = (
        Package.objects.create(name=f"@both-ways/{n}", scope="both-ways", org=org)
        for n in ("mine", "other")
    )
    people = {name: make_user(name) for name in ("owner", "maint", "reader", "writer", "member")}
    roles = {"owner": Membership.Role.OWNER}
    for name, user in people.items():
        Membership.objects.create(org=org, user=user, role=roles.get(name, Membership.Role.MEMBER))
    Maintainer.objects.create(package=mine, user=people["maint"])
    readers, writers = (Team.objects.create(org=org, name=n) for n in ("readers", "writers"))
    TeamMember.objects.create(team=readers, user=people["reader"])
    TeamMember.objects.create(team=writers, user=people["writer"])
    TeamGrant.objects.create(team=readers, package=mine, permission="read-only")
    TeamGrant.objects.create(team=readers, package=other, permission="read-write")
    TeamGrant.objects.create(team=writers, package=mine, permission="read-write")

    from_the_package = {user.username for user in package_writers(mine)}
    from_each_person = {
        name for name, user in people.items() if packages_writable_by(user).filter(pk=mine.pk)
    }

    assert from_the_package == from_each_person == {"owner", "maint", "writer"}
    assert package_role(people["reader"], mine) == "read"
