"""`npm org`, `npm team` and `npm access` against a live Gatehouse, as people type them.

alice owns @acme (orgs are created in the portal; here through the service), bob joins
it, carol is outside it until a test invites her. Refusals of each endpoint are in
tests/registry/test_org_api.py; org policies at publish in test_org_policies.py.

Every change to an org, its teams or their grants is governance: alice holds an
authenticator app and types a fresh code for each such command (`otp()` gives
`--otp=<code>`); reads ask for none.
"""

import json

import pytest

from accounts.actors import Actor
from accounts.models import User
from registry.orgs.models import Invitation, Membership
from registry.orgs.services import invitation_accept, org_create
from tests.accounts.factors import Codes, with_fresh_factor

pytestmark = pytest.mark.django_db(transaction=True)


def refused(result, code: str, text: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"npm error code {code}" in result.stderr, result.stderr
    assert text in result.stderr, result.stderr


def accept(org: str, user) -> None:
    """What the invitee does in the portal."""
    invitation = Invitation.objects.get(org__name=org, user=user, accepted_at__isnull=True)
    invitation_accept(actor=Actor(user=user), invitation=invitation)


@pytest.fixture
def otp(alice_codes):
    """`--otp=<code>`: a fresh one-time code of alice's, for one command."""
    return lambda: f"--otp={alice_codes()}"


@pytest.fixture
def bob_otp(bob):
    """bob's authenticator app (auth-only), and a fresh code for each command."""
    codes = Codes(bob, mode=User.TwoFactorMode.AUTH_ONLY)
    return lambda: f"--otp={codes()}"


@pytest.fixture
def acme(alice, alice_codes):
    return org_create(actor=with_fresh_factor(alice), name="acme")


@pytest.fixture
def as_alice(npm, alice_token):
    npm.login_with(alice_token)
    return npm


@pytest.fixture
def as_bob(make_npm, bob_token):
    npm = make_npm("bob")
    npm.login_with(bob_token)
    return npm


@pytest.fixture
def as_carol(make_npm, carol_token):
    npm = make_npm("carol")
    npm.login_with(carol_token)
    return npm


@pytest.fixture
def with_bob(acme, as_alice, otp, bob):
    """bob is a member (a developer) of @acme."""
    as_alice("org", "set", "acme", "bob", otp())
    accept("acme", bob)
    return acme


# --- npm org ---------------------------------------------------------------------------


def test_org_set_invites_and_the_invitee_becomes_a_member_on_accepting(as_alice, otp, acme, bob):
    invited = as_alice("org", "set", "@acme", "bob", otp())

    assert invited.stdout.strip() == (
        "Added bob as developer to acme. You now have 1 member in this org."
    )
    assert (
        "npm notice bob was invited to @acme; they become a member when they accept the "
        "invitation in the portal" in invited.stderr
    )
    assert as_alice("org", "ls", "acme").stdout.splitlines() == ["alice - owner"]

    accept("acme", bob)

    assert as_alice("org", "ls", "acme").stdout.splitlines() == [
        "alice - owner",
        "bob - developer",
    ]
    assert as_alice.json("org", "ls", "acme", "bob") == {"bob": "developer"}


def test_org_set_changes_a_role_and_org_rm_removes(as_alice, otp, with_bob, bob):
    promoted = as_alice("org", "set", "acme", "bob", "admin", otp())
    removed = as_alice("org", "rm", "acme", "bob", otp())

    assert (
        promoted.stdout.strip() == "Added bob as admin to acme. You now have 2 members in this org."
    )
    assert "npm notice" not in promoted.stderr
    assert removed.stdout.strip() == (
        "Successfully removed bob from acme. You now have 1 member in this org."
    )
    assert not Membership.objects.filter(user=bob).exists()


def test_org_rm_takes_back_an_invitation(as_alice, otp, acme, bob):
    as_alice("org", "set", "acme", "bob", otp())

    as_alice("org", "rm", "acme", "bob", otp())

    assert not Invitation.objects.get(user=bob).is_open


def test_the_last_owner_can_neither_be_demoted_nor_removed(as_alice, otp, acme):
    last = "alice is the last owner of @acme. Make someone else an owner first."

    refused(as_alice("org", "set", "acme", "alice", "admin", otp(), check=False), "E409", last)
    refused(as_alice("org", "rm", "acme", "alice", otp(), check=False), "E409", last)


def test_members_may_list_but_not_manage_and_outsiders_see_no_org(
    as_alice, otp, as_bob, bob_otp, as_carol, with_bob
):
    assert as_bob("org", "ls", "acme").stdout.splitlines() == ["alice - owner", "bob - developer"]
    refused(
        as_bob("org", "set", "acme", "carol", bob_otp(), check=False),
        "E403",
        "Only owners and admins of @acme may manage the members, teams and packages of it.",
    )
    refused(
        as_carol("org", "ls", "acme", check=False),
        "E404",
        "@acme is not an organization you belong to.",
    )

    as_alice("org", "set", "acme", "bob", "admin", otp())

    refused(
        as_bob("org", "set", "acme", "bob", "owner", bob_otp(), check=False),
        "E403",
        "Only an owner of @acme can make or change owners.",
    )


def test_an_owner_with_a_second_factor_manages_with_an_otp(as_alice, otp, acme, bob):
    asked = as_alice("org", "set", "acme", "bob", check=False)
    listed = as_alice("org", "ls", "acme")
    done = as_alice("org", "set", "acme", "bob", otp())

    refused(asked, "EOTP", "This operation requires a one-time password")
    assert listed.stdout.splitlines() == ["alice - owner"]
    assert done.stdout.startswith("Added bob as developer to acme.")
    assert Invitation.objects.get(user=bob).is_open


def test_an_owner_without_a_second_factor_is_refused_every_change(as_carol, carol, bob):
    """carol created @carolco (that needs no second factor) but holds none: owning it, she
    still changes nothing in it until she adds one."""
    carolco = org_create(actor=Actor(user=carol), name="carolco")
    no_factor = "you need a second factor. Add a security key or an authenticator app"

    refused(as_carol("org", "set", "carolco", "bob", check=False), "E403", no_factor)
    refused(as_carol("team", "create", "carolco:core", check=False), "E403", no_factor)
    assert not Invitation.objects.filter(org=carolco).exists()
    assert as_carol.json("team", "ls", "carolco") == ["carolco:developers"]


# --- npm team --------------------------------------------------------------------------


def test_team_create_add_ls_rm_destroy(as_alice, otp, as_bob, with_bob):
    assert as_alice("team", "create", "acme:core", otp()).stdout.strip() == "+@acme:core"
    added = as_alice("team", "add", "@acme:core", "bob", otp())
    assert added.stdout.strip() == "bob added to @acme:core"

    assert as_bob("team", "ls", "acme").stdout.splitlines() == [
        "@acme has 2 teams:",
        "@acme:core",
        "@acme:developers",
    ]
    assert as_bob("team", "ls", "acme:core").stdout.splitlines() == [
        "@acme:core has 1 user:",
        "bob",
    ]

    assert as_alice("team", "rm", "acme:core", "bob", otp()).stdout.strip() == (
        "bob removed from @acme:core"
    )
    assert as_alice.json("team", "ls", "acme:core") == []
    assert as_alice("team", "destroy", "acme:core", otp()).stdout.strip() == "-@acme:core"
    assert as_alice.json("team", "ls", "acme") == ["acme:developers"]


def test_team_refusals(as_alice, otp, as_bob, with_bob, carol):
    refused(
        as_alice("team", "destroy", "acme:developers", otp(), check=False),
        "E409",
        "The developers team holds every member; it cannot be removed.",
    )
    refused(
        as_alice("team", "add", "acme:developers", "carol", otp(), check=False),
        "E404",
        "carol is not a member of @acme.",
    )
    refused(
        as_alice("team", "create", "acme:developers", otp(), check=False),
        "E409",
        "@acme already has a team developers.",
    )
    refused(
        as_bob("team", "create", "acme:core", check=False),
        "E403",
        "Only owners and admins of @acme may manage the members, teams and packages of it.",
    )
    refused(
        as_alice("team", "ls", "acme:ghosts", check=False),
        "E404",
        "@acme has no team ghosts. `npm team ls acme` lists them.",
    )
    # npm follows a 404 for the team with /-/user/acme/package, whose answer it shows.
    refused(
        as_bob("access", "list", "packages", "acme:ghosts", check=False),
        "E404",
        "acme is an organization, not a user, or it has no such team: `npm team ls acme`",
    )


# --- npm access ------------------------------------------------------------------------


def test_access_list_packages_for_an_org_a_team_and_a_user(as_alice, otp, as_bob, with_bob):
    as_alice("publish", cwd=as_alice.package("@acme/lib"))
    as_alice("publish", cwd=as_alice.package("solo-x"))
    as_alice("team", "create", "acme:core", otp())

    assert as_bob("access", "list", "packages", "acme").stdout.strip() == "@acme/lib: read-write"
    assert as_bob.json("access", "list", "packages", "@acme:developers") == {
        "@acme/lib": "read-write"
    }
    assert as_bob.json("access", "list", "packages", "acme:core") == {}
    # Without an argument npm asks /-/org/<you>/package, then falls back to the user.
    assert as_alice.json("access", "list", "packages") == {
        "@acme/lib": "read-write",
        "solo-x": "read-write",
    }
    # Someone else's: what they maintain and you may see.
    assert as_bob.json("access", "list", "packages", "alice") == {
        "@acme/lib": "read-write",
        "solo-x": "read-write",
    }


def test_access_list_collaborators_counts_org_roles_and_teams(as_alice, otp, as_bob, with_bob):
    as_alice("publish", "--access", "public", cwd=as_alice.package("@acme/lib"))

    assert as_bob("access", "list", "collaborators", "@acme/lib").stdout.splitlines() == [
        "alice: read-write",
        "bob: read-write",
    ]
    as_alice("access", "revoke", "acme:developers", "@acme/lib", otp())
    assert as_bob.json("access", "list", "collaborators", "@acme/lib") == {"alice": "read-write"}


def test_a_read_write_grant_lets_a_team_publish_until_it_is_revoked(
    as_alice, otp, as_bob, with_bob
):
    as_alice("publish", "--access", "public", cwd=as_alice.package("@acme/lib"))
    as_alice("access", "revoke", "acme:developers", "@acme/lib", otp())
    as_alice("team", "create", "acme:core", otp())
    as_alice("team", "add", "acme:core", "bob", otp())
    not_a_maintainer = "You are not a maintainer of @acme/lib"

    refused(
        as_bob("publish", cwd=as_bob.package("@acme/lib", "1.1.0"), check=False),
        "E403",
        not_a_maintainer,
    )

    as_alice("access", "grant", "read-write", "acme:core", "@acme/lib", otp())
    assert as_bob.json("access", "list", "packages", "acme:core") == {"@acme/lib": "read-write"}
    as_bob("publish", cwd=as_bob.package("@acme/lib", "1.1.0"))

    as_alice("access", "revoke", "@acme:core", "@acme/lib", otp())
    refused(
        as_bob("publish", cwd=as_bob.package("@acme/lib", "1.2.0"), check=False),
        "E403",
        not_a_maintainer,
    )
    assert as_alice.json("view", "@acme/lib", "versions") == ["1.0.0", "1.1.0"]


def test_a_read_only_grant_lets_a_team_install_a_restricted_package_but_not_publish_it(
    as_alice, otp, as_carol, with_bob, carol
):
    as_alice("publish", cwd=as_alice.package("@acme/x"))
    as_alice("access", "revoke", "acme:developers", "@acme/x", otp())
    as_alice("org", "set", "acme", "carol", otp())
    accept("acme", carol)
    app = as_carol.project({"@acme/x": "^1.0.0"})

    refused(as_carol("install", cwd=app, check=False), "E404", "@acme/x is not in this registry")

    as_alice("team", "create", "acme:readers", otp())
    as_alice("team", "add", "acme:readers", "carol", otp())
    as_alice("access", "grant", "read-only", "acme:readers", "@acme/x", otp())
    as_carol("install", cwd=app)

    installed = json.loads((app / "node_modules/@acme/x/package.json").read_text())
    assert installed["version"] == "1.0.0"
    assert as_carol.json("access", "list", "packages", "acme:readers") == {"@acme/x": "read-only"}
    refused(
        as_carol("publish", cwd=as_carol.package("@acme/x", "1.0.1"), check=False),
        "E403",
        "You are not a maintainer of @acme/x",
    )


def test_access_grant_and_revoke_refusals(as_alice, otp, as_bob, with_bob):
    as_alice("publish", cwd=as_alice.package("@acme/lib"))
    as_alice("publish", cwd=as_alice.package("@alice/own"))

    refused(
        as_bob("access", "grant", "read-only", "acme:developers", "@acme/lib", check=False),
        "E403",
        "Only owners and admins of @acme may manage the members, teams and packages of it.",
    )
    refused(
        as_alice(
            "access", "grant", "read-only", "acme:developers", "@alice/own", otp(), check=False
        ),
        "E404",
        "@acme has no package @alice/own; only its own packages can be granted.",
    )
    refused(
        as_alice("access", "grant", "read-only", "acme:ghosts", "@acme/lib", otp(), check=False),
        "E404",
        "@acme has no team ghosts.",
    )


def test_access_get_and_set_status_of_an_org_package_by_an_admin(
    as_alice, otp, as_bob, bob_otp, with_bob
):
    as_alice("publish", cwd=as_alice.package("@acme/lib"))
    as_alice("org", "set", "acme", "bob", "admin", otp())

    assert as_bob("access", "get", "status", "@acme/lib").stdout.strip() == "@acme/lib: private"
    asked = as_bob("access", "set", "status=public", "@acme/lib", check=False)
    refused(asked, "EOTP", "one-time password")
    assert as_alice.json("access", "get", "status", "@acme/lib") == {"@acme/lib": "private"}
    made_public = as_bob("access", "set", "status=public", "@acme/lib", bob_otp())

    assert made_public.stdout.strip() == "@acme/lib: public"
    assert as_alice.json("access", "get", "status", "@acme/lib") == {"@acme/lib": "public"}
