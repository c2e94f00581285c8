"""The governance matrix: every door that changes who may release, or under which rules,
for every persona, with and without a fresh second factor.

The world: @acme is owned by alice; grace is its admin; tom and dave are plain members who
maintain @acme/lib (tom has a second factor in auth-only mode, dave has none); frank
writes @acme/lib through a read-write team; mia is a plain member with no access to it;
carol is an outsider. `solo` is a package of no org, maintained by alice, tom and dave.
`alice-ro` is a read-only token of alice's. Everyone but dave holds an authenticator app
in auth-only mode: ordinary writes ask them for nothing, governance always does.

@acme/lib is restricted and requires staging and a second factor to publish; `solo`
requires a second factor to publish.

Each cell is `(without a code, with a fresh code)`: the status of the request sent with
the persona's token alone, and again with a one-time code in `npm-otp`. Every cell runs
in a savepoint that is rolled back, so each starts from the same world.
"""

import json
from http.cookies import SimpleCookie
from typing import NamedTuple

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client

from accounts.actors import Actor
from accounts.models import Token, User
from accounts.secrets import secret_hash
from registry.models import Maintainer, Package, Packument
from registry.orgs.models import Membership, Org
from registry.orgs.services import (
    invitation_accept,
    invitation_create,
    org_create,
    team_create,
    team_get,
    team_member_add,
)
from registry.orgs.team_grants import team_grant_remove, team_grant_set
from tests.accounts.factors import enroll_app, with_fresh_factor
from tests.conftest import issue_token, make_user
from tests.registry.helpers import publish
from tests.worlds import world_built_once

pytestmark = pytest.mark.django_db

PERSONAS = ("carol", "mia", "frank", "dave", "tom", "grace", "alice", "alice-ro")
Role = Membership.Role


class Row(NamedTuple):
    name: str
    method: str
    path: str
    body: object
    expected: dict[str, tuple[int, int]]


def row(name, method, path, body, *cells) -> Row:
    return Row(name, method, path, body, dict(zip(PERSONAS, cells, strict=True)))


LIB_MAINTAINERS = [{"name": n} for n in ("alice", "dave", "tom")]
SOLO_MAINTAINERS = [{"name": n} for n in ("alice", "dave", "tom")]

# fmt: off
#                   carol       mia         frank       dave        tom         grace       alice       alice-ro
LIB_GOVERNANCE = ((404, 404), (404, 404), (403, 403), (403, 403), (403, 403), (401, 200), (401, 200), (403, 403))
SOLO_GOVERNANCE = ((403, 403), (403, 403), (403, 403), (403, 403), (401, 200), (403, 403), (401, 200), (403, 403))
ORG_GOVERNANCE = ((404, 404), (403, 403), (403, 403), (403, 403), (403, 403), (401, 200), (401, 200), (403, 403))
ORG_ADDED      = ((404, 404), (403, 403), (403, 403), (403, 403), (403, 403), (401, 201), (401, 201), (403, 403))
ORG_POLICY     = ((404, 404), (403, 403), (403, 403), (403, 403), (403, 403), (403, 403), (401, 200), (403, 403))
NOBODY_ON_LIB  = ((404, 404), (404, 404), (403, 403), (403, 403), (403, 403), (403, 403), (403, 403), (403, 403))
LIB_RELEASE    = ((404, 404), (404, 404), (401, 200), (403, 403), (401, 200), (401, 200), (401, 200), (403, 403))

ROWS = [
    row("owner add a member to an org package", "PUT", "/@acme/lib/-rev/{lib_rev}",
        {"maintainers": [*LIB_MAINTAINERS, {"name": "mia"}]}, *LIB_GOVERNANCE),
    row("owner rm on an org package", "PUT", "/@acme/lib/-rev/{lib_rev}",
        {"maintainers": [{"name": "alice"}, {"name": "tom"}]}, *LIB_GOVERNANCE),
    # An outsider may never maintain an org's package: not even its owner may add one.
    row("owner add an outsider to an org package", "PUT", "/@acme/lib/-rev/{lib_rev}",
        {"maintainers": [*LIB_MAINTAINERS, {"name": "carol"}]}, *NOBODY_ON_LIB),
    row("access set status=public on an org package", "POST", "/-/package/@acme/lib/access",
        {"access": "public"}, *LIB_GOVERNANCE),
    row("access set mfa=none on an org package", "POST", "/-/package/@acme/lib/access",
        {"publish_requires_tfa": False}, *LIB_GOVERNANCE),
    row("owner add on a package of no org", "PUT", "/solo/-rev/{solo_rev}",
        {"maintainers": [*SOLO_MAINTAINERS, {"name": "carol"}]}, *SOLO_GOVERNANCE),
    row("access set mfa=none on a package of no org", "POST", "/-/package/solo/access",
        {"publish_requires_tfa": False}, *SOLO_GOVERNANCE),
    row("org set: a new member", "PUT", "/-/org/acme/user",
        {"user": "carol", "role": "developer"}, *ORG_GOVERNANCE),
    row("org set: a role", "PUT", "/-/org/acme/user",
        {"user": "mia", "role": "admin"}, *ORG_GOVERNANCE),
    row("org rm", "DELETE", "/-/org/acme/user", {"user": "mia"}, *ORG_GOVERNANCE),
    row("team add", "PUT", "/-/team/acme/writers/user", {"user": "mia"}, *ORG_ADDED),
    row("access grant", "PUT", "/-/team/acme/developers/package",
        {"package": "@acme/lib", "permissions": "read-write"}, *ORG_GOVERNANCE),
    row("REST: a member's role", "PUT", "/api/v1/orgs/acme/members/mia/",
        {"role": "admin"}, *ORG_GOVERNANCE),
    row("REST: org policies", "PATCH", "/api/v1/orgs/acme/policies/",
        {"exclude_stager": False}, *ORG_POLICY),
    # Moving `latest` on a package that requires staging and a second factor is a release
    # by other means: a fresh second factor whatever the person's own mode.
    row("dist-tag add latest on a package that requires staging", "PUT",
        "/-/package/@acme/lib/dist-tags/latest", "1.0.0", *LIB_RELEASE),
]
# fmt: on


# The world ---------------------------------------------------------------------------------


def _build(http: Client) -> dict:
    users = {name: make_user(name) for name in PERSONAS[:-1]}
    codes = {}
    for name, user in users.items():
        if name != "dave":
            _, recovery = enroll_app(user, mode=User.TwoFactorMode.AUTH_ONLY)
            codes[name] = recovery[0]
    codes["alice-ro"] = codes["alice"]
    tokens = {name: issue_token(user) for name, user in users.items()}
    tokens["alice-ro"] = issue_token(users["alice"])
    Token.objects.filter(token_hash=secret_hash(tokens["alice-ro"])).update(readonly=True)

    owner = with_fresh_factor(users["alice"])
    acme = org_create(actor=owner, name="acme")
    for name, role in (
        ("grace", Role.ADMIN),
        ("tom", Role.MEMBER),
        ("dave", Role.MEMBER),
        ("frank", Role.MEMBER),
        ("mia", Role.MEMBER),
    ):
        invitation, _ = invitation_create(actor=owner, org=acme, username=name, role=role)
        invitation_accept(actor=Actor(user=users[name]), invitation=invitation)
    assert publish(http, tokens["alice"], "@acme/lib", "1.0.0").status_code == 201
    assert publish(http, tokens["alice"], "solo", "1.0.0").status_code == 201
    for name in ("dave", "tom"):
        for package in Package.objects.filter(name__in=["@acme/lib", "solo"]):
            Maintainer.objects.create(package=package, user=users[name])
    developers = team_get(acme, "developers")
    team_grant_remove(actor=owner, team=developers, package_name="@acme/lib")
    writers = team_create(actor=owner, org=acme, name="writers")
    team_member_add(actor=owner, team=writers, username="frank")
    team_grant_set(actor=owner, team=writers, package_name="@acme/lib", permission="read-write")
    Package.objects.filter(name="@acme/lib").update(require_staged=True, publish_requires_tfa=True)
    Package.objects.filter(name="solo").update(publish_requires_tfa=True)
    Org.objects.filter(pk=acme.pk).update(exclude_stager=True)
    return {
        "tokens": tokens,
        "codes": codes,
        "values": {
            "lib_rev": Packument.objects.get(package__name="@acme/lib").rev,
            "solo_rev": Packument.objects.get(package__name="solo").rev,
        },
    }


@pytest.fixture(scope="module")
def http() -> Client:
    return Client()


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, http, tmp_path_factory):
    """Built once, in a transaction rolled back after the module's last test."""
    with world_built_once(django_db_blocker, tmp_path_factory) as storages:
        yield {**_build(http), "storages": storages}


@pytest.fixture(autouse=True)
def _world_tarballs(settings, world):
    settings.STORAGES = world["storages"]


def _status(row: Row, persona: str, world: dict, client: Client, *, with_code: bool) -> int:
    """What `persona` gets, in a savepoint rolled back after: the world stays as built."""
    cache.clear()
    path = row.path.format_map(world["values"])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {world['tokens'][persona]}"}
    if with_code and persona in world["codes"]:
        headers["HTTP_NPM_OTP"] = world["codes"][persona]
    client.cookies = SimpleCookie()
    with transaction.atomic():
        response = getattr(client, row.method.lower())(
            path, data=json.dumps(row.body), content_type="application/json", **headers
        )
        status = response.status_code
        if status == 401:
            assert response["WWW-Authenticate"] == "OTP", response.content
        if 400 <= status < 500:
            assert response.json().get("error"), response.content
        transaction.set_rollback(True)
    return status


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_governance(world, http, row):
    got = {
        persona: (
            _status(row, persona, world, http, with_code=False),
            _status(row, persona, world, http, with_code=True),
        )
        for persona in PERSONAS
    }

    assert got == row.expected
