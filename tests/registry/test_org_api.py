"""The npm org, team and access endpoints over HTTP: who may do what, and what each refusal
says. alice owns @acme, bob is a member (npm's "developer"), carol is outside it unless a
test lets her in. The npm CLI's view of the same endpoints is in tests/e2e/test_orgs.py.

Every change to an org is governance: alice holds an authenticator app (`alice_codes`) and
sends a fresh one-time code with each change, as `npm … --otp=<code>` does."""

import json

import pytest

from accounts.actors import Actor
from accounts.models import Token
from registry.models import Package, TeamGrant
from registry.orgs.models import Invitation, Membership, Org
from registry.orgs.services import (
    invitation_accept,
    invitation_create,
    org_create,
    team_create,
    team_member_add,
)
from registry.orgs.team_grants import team_grant_remove, team_grant_set
from tests.accounts.factors import Codes, with_fresh_factor
from tests.conftest import issue_token, make_user
from tests.registry.helpers import publish

Role = Membership.Role
NOT_IN_ACME = "@acme is not an organization you belong to."
MANAGERS_ONLY = "Only owners and admins of @acme may manage the members, teams and packages of it."


@pytest.fixture
def owner(alice, alice_codes) -> Actor:
    """alice as a portal session that has just passed her second factor: arranges worlds."""
    return with_fresh_factor(alice)


@pytest.fixture
def acme(owner, bob):
    org = org_create(actor=owner, name="acme")
    join(org, owner, bob)
    return org


def join(org: Org, owner: Actor, user, role: str = Role.MEMBER) -> None:
    invitation, _ = invitation_create(actor=owner, org=org, username=user.username, role=role)
    invitation_accept(actor=Actor(user=user), invitation=invitation)


def write(client, method: str, path: str, token: str | None, body=None, *, otp: str = ""):
    """A request as the npm CLI sends it, with `--otp=<code>` when `otp` is given."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    if otp:
        headers["HTTP_NPM_OTP"] = otp
    return getattr(client, method)(
        path,
        data=json.dumps(body) if body is not None else "",
        content_type="application/json",
        **headers,
    )


def get(client, path: str, token: str | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get(path, **headers)


def error(response) -> str:
    return response.json()["error"]


# Every route with a body that would be accepted from an owner.
MANAGE_CALLS = [
    ("put", "/-/org/acme/user", {"user": "carol", "role": "developer"}),
    ("delete", "/-/org/acme/user", {"user": "alice"}),
    ("put", "/-/org/acme/team", {"name": "core"}),
    ("delete", "/-/team/acme/developers", None),
    ("put", "/-/team/acme/developers/user", {"user": "bob"}),
    ("delete", "/-/team/acme/developers/user", {"user": "bob"}),
    ("put", "/-/team/acme/developers/package", {"package": "@acme/x", "permissions": "read-only"}),
    ("delete", "/-/team/acme/developers/package", {"package": "@acme/x"}),
]
BODY_CALLS = [call for call in MANAGE_CALLS if call[2] is not None]
READ_CALLS = [
    ("get", "/-/org/acme/user", None),
    ("get", "/-/org/acme/team", None),
    ("get", "/-/org/acme/package", None),
    ("get", "/-/team/acme/developers/user", None),
    ("get", "/-/team/acme/developers/package", None),
]


# --- who may ---------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), READ_CALLS + MANAGE_CALLS)
def test_outsiders_and_anonymous_callers_are_told_the_org_does_not_exist(
    client, acme, carol_token, method, path, body
):
    as_outsider = write(client, method, path, carol_token, body)
    anonymous = getattr(client, method)(
        path, data=json.dumps(body) if body else "", content_type="application/json"
    )

    assert (as_outsider.status_code, error(as_outsider)) == (404, NOT_IN_ACME)
    assert (anonymous.status_code, error(anonymous)) == (404, NOT_IN_ACME)


@pytest.mark.parametrize(("method", "path", "body"), READ_CALLS + MANAGE_CALLS)
def test_an_unknown_org_is_a_404(client, alice_token, method, path, body):
    response = write(client, method, path.replace("acme", "nope", 1), alice_token, body)

    assert response.status_code == 404
    assert error(response) == "@nope is not an organization you belong to."


@pytest.mark.parametrize(("method", "path", "body"), MANAGE_CALLS)
def test_members_who_are_not_owners_or_admins_cannot_manage_even_with_a_code(
    client, acme, bob, bob_token, method, path, body
):
    bob_codes = Codes(bob, mode="auth-only")

    response = write(client, method, path, bob_token, body, otp=bob_codes())

    assert (response.status_code, error(response)) == (403, MANAGERS_ONLY)


@pytest.mark.parametrize(("method", "path", "body"), READ_CALLS)
def test_every_member_may_read(client, acme, bob_token, method, path, body):
    assert get(client, path, bob_token).status_code == 200


def test_a_read_only_token_cannot_manage(client, acme, alice, alice_codes):
    token = issue_token(alice)
    Token.objects.filter(user=alice).update(readonly=True)

    response = write(client, "put", "/-/org/acme/team", token, {"name": "core"}, otp=alice_codes())

    assert response.status_code == 403
    assert error(response) == (
        "This token is read-only, so it cannot manage the members, teams and packages of @acme."
    )


def test_managing_asks_a_person_with_a_second_factor_for_a_code(
    client, acme, alice_token, alice_codes
):
    asked = write(client, "put", "/-/org/acme/team", alice_token, {"name": "core"})
    assert asked.status_code == 401
    assert asked["WWW-Authenticate"] == "OTP"
    assert not acme.teams.filter(name="core").exists()

    proved = write(
        client, "put", "/-/org/acme/team", alice_token, {"name": "core"}, otp=alice_codes()
    )
    assert proved.status_code == 201
    assert acme.teams.filter(name="core").exists()


def test_managing_is_refused_without_a_second_factor(client, carol, carol_token):
    """An owner with no second factor to show changes nothing, whatever their 2FA mode."""
    org_create(actor=Actor(user=carol), name="carolco")

    response = write(client, "put", "/-/org/carolco/team", carol_token, {"name": "core"})

    assert response.status_code == 403
    assert error(response).startswith(
        "To manage the members, teams and packages of @carolco you need a second factor."
    )
    assert not Org.objects.get(name="carolco").teams.filter(name="core").exists()


# --- malformed requests ----------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), BODY_CALLS)
def test_a_body_that_is_not_json_is_a_400(
    client, acme, alice_token, alice_codes, method, path, body
):
    response = getattr(client, method)(
        path,
        data="{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {alice_token}",
        HTTP_NPM_OTP=alice_codes(),
    )

    assert response.status_code == 400
    assert error(response).startswith("The request body is not valid JSON")


@pytest.mark.parametrize(("method", "path", "body"), BODY_CALLS)
@pytest.mark.parametrize("bad", [[], "carol", {}, {"user": "", "name": 3, "package": None}])
def test_a_body_without_its_fields_is_a_400(
    client, acme, alice_token, alice_codes, method, path, body, bad
):
    response = write(client, method, path, alice_token, bad, otp=alice_codes())

    assert response.status_code == 400
    assert error(response).startswith("Send a JSON object with")


@pytest.mark.parametrize("role", ["maintainer", "Owner", "", 7, ["owner"]])
def test_org_set_refuses_a_role_npm_does_not_know(client, acme, alice_token, alice_codes, role):
    response = write(
        client,
        "put",
        "/-/org/acme/user",
        alice_token,
        {"user": "bob", "role": role},
        otp=alice_codes(),
    )

    if role == "":
        assert response.status_code == 200  # npm's default: developer
        return
    assert response.status_code == 400
    assert error(response) == "The role must be owner, admin or developer."


def test_access_grant_refuses_an_unknown_permission_and_a_package_of_another_org(
    client, acme, alice_token, alice_codes
):
    assert publish(client, alice_token, "@acme/x").status_code == 201
    assert publish(client, alice_token, "@alice/mine").status_code == 201
    path = "/-/team/acme/developers/package"

    unknown = write(
        client,
        "put",
        path,
        alice_token,
        {"package": "@acme/x", "permissions": "all"},
        otp=alice_codes(),
    )
    foreign = write(
        client,
        "put",
        path,
        alice_token,
        {"package": "@alice/mine", "permissions": "read-only"},
        otp=alice_codes(),
    )

    assert (unknown.status_code, error(unknown)) == (
        400,
        'The permission must be "read-only" or "read-write".',
    )
    assert (foreign.status_code, error(foreign)) == (
        404,
        "@acme has no package @alice/mine; only its own packages can be granted.",
    )


# --- npm org ---------------------------------------------------------------------------


def test_org_ls_shows_members_in_npm_words(client, acme, bob_token):
    response = get(client, "/-/org/acme/user", bob_token)

    assert response.json() == {"alice": "owner", "bob": "developer"}
    assert "no-cache" in response["Cache-Control"]


def test_org_set_of_a_member_changes_the_role(client, acme, alice_token, alice_codes, bob):
    response = write(
        client,
        "put",
        "/-/org/acme/user",
        alice_token,
        {"user": "bob", "role": "admin"},
        otp=alice_codes(),
    )

    assert response.json() == {"org": {"name": "acme", "size": 2}, "user": "bob", "role": "admin"}
    assert "npm-notice" not in response
    assert Membership.objects.get(org=acme, user=bob).role == Role.ADMIN


def test_org_set_of_a_non_member_invites_them_and_says_so(
    client, acme, alice_token, alice_codes, carol
):
    response = write(
        client, "put", "/-/org/acme/user", alice_token, {"user": "Carol"}, otp=alice_codes()
    )

    assert response.status_code == 200
    assert response.json() == {
        "org": {"name": "acme", "size": 2},
        "user": "carol",
        "role": "developer",
    }
    assert response["npm-notice"] == (
        "carol was invited to @acme; they become a member when they accept the invitation in "
        "the portal"
    )
    invitation = Invitation.objects.get(org=acme, user=carol)
    assert (invitation.role, invitation.is_open) == (Role.MEMBER, True)
    assert not Membership.objects.filter(org=acme, user=carol).exists()


def test_org_set_of_an_unknown_user_is_a_404(client, acme, alice_token, alice_codes):
    response = write(
        client, "put", "/-/org/acme/user", alice_token, {"user": "nobody"}, otp=alice_codes()
    )

    assert response.status_code == 404
    assert error(response) == "There is no user named nobody. Invite them by email instead."


def test_org_rm_of_an_invited_person_takes_the_invitation_back(
    client, acme, alice_token, alice_codes, carol
):
    invited = write(
        client, "put", "/-/org/acme/user", alice_token, {"user": "carol"}, otp=alice_codes()
    )
    assert invited.status_code == 200

    response = write(
        client, "delete", "/-/org/acme/user", alice_token, {"user": "carol"}, otp=alice_codes()
    )

    assert response.status_code == 200
    assert not Invitation.objects.get(org=acme, user=carol).is_open


def test_org_rm_of_a_stranger_is_a_404(client, acme, alice_token, alice_codes, carol):
    response = write(
        client, "delete", "/-/org/acme/user", alice_token, {"user": "carol"}, otp=alice_codes()
    )

    assert (response.status_code, error(response)) == (404, "carol is not a member of @acme.")


def test_admins_cannot_make_or_unmake_owners(client, acme, owner, bob, carol):
    Membership.objects.filter(org=acme, user=bob).update(role=Role.ADMIN)
    join(acme, owner, carol)
    bob_token, bob_codes = issue_token(bob), Codes(bob, mode="auth-only")

    def as_bob(method: str, body: dict):
        return write(client, method, "/-/org/acme/user", bob_token, body, otp=bob_codes())

    promote = as_bob("put", {"user": "carol", "role": "owner"})
    demote = as_bob("put", {"user": "alice", "role": "admin"})
    remove = as_bob("delete", {"user": "alice"})
    developer = as_bob("put", {"user": "carol", "role": "admin"})

    for refused in (promote, demote, remove):
        assert (refused.status_code, error(refused)) == (
            403,
            "Only an owner of @acme can make or change owners.",
        )
    assert developer.status_code == 200


def test_the_last_owner_can_neither_leave_nor_be_demoted(client, acme, alice_token, alice_codes):
    demote = write(
        client,
        "put",
        "/-/org/acme/user",
        alice_token,
        {"user": "alice", "role": "developer"},
        otp=alice_codes(),
    )
    leave = write(
        client, "delete", "/-/org/acme/user", alice_token, {"user": "alice"}, otp=alice_codes()
    )

    for refused in (demote, leave):
        assert (refused.status_code, error(refused)) == (
            409,
            "alice is the last owner of @acme. Make someone else an owner first.",
        )


# --- npm team --------------------------------------------------------------------------


def test_team_create_ls_add_rm_destroy(client, acme, alice_token, alice_codes, bob_token):
    def as_alice(method: str, path: str, body=None):
        return write(client, method, path, alice_token, body, otp=alice_codes())

    created = as_alice("put", "/-/org/acme/team", {"name": "Core", "description": "d"})
    added = as_alice("put", "/-/team/acme/core/user", {"user": "bob"})
    teams = get(client, "/-/org/acme/team?format=cli", bob_token).json()
    members = get(client, "/-/team/acme/core/user?format=cli", bob_token).json()
    removed = as_alice("delete", "/-/team/acme/core/user", {"user": "bob"})
    destroyed = as_alice("delete", "/-/team/acme/core")

    assert (created.status_code, created.json()) == (201, {"name": "core", "description": "d"})
    assert (added.status_code, added.json()) == (201, {"team": "core", "user": "bob"})
    assert teams == ["acme:core", "acme:developers"]
    assert members == ["bob"]
    assert removed.status_code == destroyed.status_code == 200
    assert list(acme.teams.values_list("name", flat=True)) == ["developers"]


def test_team_refusals(client, acme, alice_token, alice_codes, carol):
    cases = {
        ("put", "/-/org/acme/team", json.dumps({"name": "developers"})): (
            409,
            "@acme already has a team developers.",
        ),
        ("put", "/-/org/acme/team", json.dumps({"name": "no spaces"})): (400, '"no spaces"'),
        ("put", "/-/org/acme/team", json.dumps({"name": "ok", "description": 5})): (
            400,
            '"description" must be a string.',
        ),
        ("delete", "/-/team/acme/developers", ""): (
            409,
            "The developers team holds every member; it cannot be removed.",
        ),
        ("delete", "/-/team/acme/ghosts", ""): (
            404,
            "@acme has no team ghosts. `npm team ls acme` lists them.",
        ),
        ("put", "/-/team/acme/developers/user", json.dumps({"user": "carol"})): (
            404,
            "carol is not a member of @acme.",
        ),
        ("delete", "/-/team/acme/developers/user", json.dumps({"user": "carol"})): (
            404,
            "carol is not in the team @acme:developers.",
        ),
    }
    for (method, path, body), (status, text) in cases.items():
        response = getattr(client, method)(
            path,
            data=body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {alice_token}",
            HTTP_NPM_OTP=alice_codes(),
        )
        assert response.status_code == status, (path, response.content)
        assert error(response).startswith(text), (path, error(response))


# --- npm access ------------------------------------------------------------------------


@pytest.fixture
def secret(client, acme, owner, alice_token, carol):
    """@acme/secret is restricted and granted only to the team "readers" (bob, read-only);
    carol is a member of @acme in no team but developers."""
    assert publish(client, alice_token, "@acme/secret").status_code == 201
    assert publish(client, alice_token, "@acme/open", access="public").status_code == 201
    developers = acme.teams.get(name="developers")
    team_grant_remove(actor=owner, team=developers, package_name="@acme/secret")
    readers = team_create(actor=owner, org=acme, name="readers")
    team_member_add(actor=owner, team=readers, username="bob")
    team_grant_set(actor=owner, team=readers, package_name="@acme/secret", permission="read-only")
    join(acme, owner, carol)
    return Package.objects.get(name="@acme/secret")


def test_a_read_grant_shows_a_restricted_package_to_its_team_only(
    client, secret, bob_token, carol_token
):
    bob_sees = get(client, "/@acme/secret", bob_token)
    carol_sees = get(client, "/@acme/secret", carol_token)

    assert bob_sees.status_code == 200
    assert carol_sees.status_code == 404
    assert get(client, "/-/org/acme/package", bob_token).json() == {
        "@acme/open": "write",
        "@acme/secret": "read",
    }
    assert get(client, "/-/org/acme/package", carol_token).json() == {"@acme/open": "write"}
    assert get(client, "/-/team/acme/readers/package", bob_token).json() == {"@acme/secret": "read"}
    assert get(client, "/-/team/acme/readers/package", carol_token).json() == {}
    assert get(client, "/-/package/@acme/secret/collaborators", carol_token).status_code == 404


def test_a_read_grant_does_not_let_its_team_publish(client, secret, bob_token):
    response = publish(client, bob_token, "@acme/secret", "1.0.1")

    assert response.status_code == 403
    assert error(response).startswith("You are not a maintainer of @acme/secret")


def test_collaborators_include_org_managers_and_granted_teams(
    client, secret, alice, bob, carol_token
):
    Membership.objects.filter(org=secret.org, user__username="carol").update(role=Role.ADMIN)

    response = get(client, "/-/package/@acme/secret/collaborators", carol_token)

    assert response.json() == {"alice": "write", "bob": "read", "carol": "write"}


def test_collaborators_of_a_public_org_package_hide_the_org_from_outsiders(
    client, secret, bob_token, dave_token
):
    as_member = get(client, "/-/package/@acme/open/collaborators", bob_token)
    as_outsider = get(client, "/-/package/@acme/open/collaborators", dave_token)

    assert as_member.json() == {"alice": "write", "bob": "write", "carol": "write"}
    assert as_outsider.json() == {"alice": "write"}


def test_user_packages_show_your_own_reach_but_only_what_others_maintain(
    client, secret, alice_token, bob_token, dave_token
):
    assert publish(client, bob_token, "bobs-own").status_code == 201

    own = get(client, "/-/user/bob/package", bob_token).json()
    seen_by_dave = get(client, "/-/user/bob/package", dave_token).json()
    alice_seen_by_dave = get(client, "/-/user/alice/package", dave_token).json()
    unknown = get(client, "/-/user/nobody/package", bob_token)

    assert own == {"@acme/open": "write", "@acme/secret": "read", "bobs-own": "write"}
    assert seen_by_dave == {"bobs-own": "write"}
    assert alice_seen_by_dave == {"@acme/open": "write"}
    assert (unknown.status_code, error(unknown)) == (
        404,
        "nobody is neither a user nor an organization you belong to.",
    )


def test_an_org_name_is_not_a_user_so_npm_falls_back_only_for_users(client, acme, alice_token):
    as_org = get(client, "/-/org/alice/package", alice_token)
    as_user = get(client, "/-/user/acme/package", alice_token)

    assert (as_org.status_code, error(as_org)) == (
        404,
        "@alice is not an organization you belong to.",
    )
    assert (as_user.status_code, error(as_user)) == (
        404,
        "acme is an organization, not a user, or it has no such team: `npm team ls acme` lists "
        "its teams, `npm access list packages acme` its packages.",
    )


def test_an_org_you_are_not_in_is_neither_a_user_nor_an_org_to_you(client, acme, carol_token):
    response = get(client, "/-/user/acme/package", carol_token)

    assert (response.status_code, error(response)) == (
        404,
        "acme is neither a user nor an organization you belong to.",
    )


def test_grant_and_revoke_answer_what_npm_sent(client, secret, alice_token, alice_codes):
    path = "/-/team/acme/readers/package"

    def as_alice(method: str, body: dict):
        return write(client, method, path, alice_token, body, otp=alice_codes())

    granted = as_alice("put", {"package": "@acme/secret", "permissions": "read-write"})
    assert granted.json() == {"package": "@acme/secret", "permissions": "read-write"}
    assert TeamGrant.objects.get(team__name="readers").permission == "read-write"

    revoked = as_alice("delete", {"package": "@acme/secret"})
    again = as_alice("delete", {"package": "@acme/secret"})

    assert revoked.json() == {"package": "@acme/secret"}
    assert (again.status_code, error(again)) == (
        404,
        "The team @acme:readers has no access to @acme/secret.",
    )


@pytest.fixture
def dave(db):
    """Someone outside @acme who may still see its public packages."""
    return make_user("dave")


@pytest.fixture
def dave_token(dave):
    return issue_token(dave)


def test_collaborators_of_an_unknown_package_is_a_404(client, acme, alice_token):
    response = get(client, "/-/package/@acme/nope/collaborators", alice_token)

    assert (response.status_code, error(response)) == (
        404,
        "@acme/nope is not in this registry, or you do not have access to it.",
    )
