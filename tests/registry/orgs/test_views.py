"""Organization pages: who sees what, who may change what, and invitations.

alice owns @acme, bob is an admin, dave a member; carol is an outsider. Every change to an
org is governance: alice and bob hold authenticator apps, and their sessions have just
passed them (signing in with a second factor stamps the session, as sudo mode does); dave
and carol hold none.
"""

import re
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import SecurityEvent
from accounts.sudo import FACTOR_KEY
from accounts.sudo import SESSION_KEY as SUDO_SESSION_KEY
from portal.errors import Conflict
from registry.models import TeamGrant
from registry.orgs import services as orgs
from registry.orgs.models import Invitation, Membership, Org, Team
from tests.accounts.factors import enroll_app, with_fresh_factor
from tests.conftest import PASSWORD, issue_token, make_user
from tests.registry.helpers import publish

pytestmark = pytest.mark.django_db

Role = Membership.Role


def join(org: Org, owner: Actor, user, role: str = Role.MEMBER) -> None:
    """Invite `user` by username as the owner and accept as them, the way people join."""
    invitation, _ = orgs.invitation_create(actor=owner, org=org, username=user.username, role=role)
    orgs.invitation_accept(actor=Actor(user=user), invitation=invitation)


@pytest.fixture
def dave(db):
    return make_user("dave")


@pytest.fixture
def owner(alice, alice_codes) -> Actor:
    """alice as a portal session that has just passed her second factor: arranges worlds."""
    return with_fresh_factor(alice)


@pytest.fixture
def acme(owner, bob, dave) -> Org:
    org = orgs.org_create(actor=owner, name="acme", description="Rockets")
    with_fresh_factor(bob)  # the admin holds a second factor too
    join(org, owner, bob, Role.ADMIN)
    join(org, owner, dave)
    return org


@pytest.fixture
def dave_owner(acme, owner, dave):
    """dave, made a second owner of @acme, holds no second factor."""
    orgs.member_role_set(actor=owner, org=acme, username="dave", role=Role.OWNER)
    return dave


@pytest.fixture
def widget(acme, alice):
    """An org package, published by its owner through the registry API."""
    response = publish(Client(), issue_token(alice), "@acme/widget")
    assert response.status_code == 201, response.content
    return acme.packages.get()


def client_for(user, *, fresh: bool = True) -> Client:
    """Signed in as `user`; `fresh` as right after signing in (sudo mode is on, and for a
    person who holds a second factor the session has just passed it)."""
    client = Client()
    if user is not None:
        client.force_login(user)
        if fresh:
            stamp(client, user)
    return client


def stamp(client: Client, user) -> None:
    """What signing in stamps on the session: sudo mode, and the second factor's time for
    a person who has one (a password never counts as one)."""
    session = client.session
    session[SUDO_SESSION_KEY] = int(time.time())
    if user.has_two_factor:
        session[FACTOR_KEY] = int(time.time())
    session.save()


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.wsgi_request._messages)


def follow_messages(client, response) -> str:
    """The messages shown on the page a refusal redirected to."""
    assert response.status_code == 302, response.status_code
    page = client.get(response["Location"])
    return " ".join(str(m) for m in page.context["messages"])


def personas(request) -> dict:
    names = ("alice", "bob", "dave", "carol")
    return {name: request.getfixturevalue(name) for name in names}


# Who sees which page ---------------------------------------------------------------------

READ_PAGES = [
    "/orgs/acme/",
    "/orgs/acme/members/",
    "/orgs/acme/teams/",
    "/orgs/acme/teams/developers/",
    "/orgs/acme/packages/",
    "/orgs/acme/history/",
]
EXPECTED = {
    # path: {persona: status}; 302 is "refused, with a message, on the overview"
    **{path: {"alice": 200, "bob": 200, "dave": 200, "carol": 404} for path in READ_PAGES},
    "/orgs/acme/policies/": {"alice": 200, "bob": 302, "dave": 302, "carol": 404},
    "/orgs/acme/compliance/": {"alice": 200, "bob": 200, "dave": 302, "carol": 404},
}


@pytest.mark.parametrize("path", list(EXPECTED))
def test_each_page_for_owner_admin_member_and_outsider(request, acme, widget, path):
    for name, user in personas(request).items():
        response = client_for(user).get(path)
        assert response.status_code == EXPECTED[path][name], (name, path)
        if response.status_code == 302:
            assert response["Location"] == "/orgs/acme/"
            assert "Only owners" in messages_of(response)


@pytest.mark.parametrize("path", [*EXPECTED, "/orgs/", "/orgs/new/"])
def test_org_pages_need_an_account(acme, path):
    response = Client().get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/?next=")


def test_an_org_that_does_not_exist_looks_like_one_you_are_not_in(carol):
    assert client_for(carol).get("/orgs/nope/").status_code == 404
    assert client_for(carol).get("/orgs/nope/members/").status_code == 404


def test_my_orgs_lists_memberships_and_invitations_waiting(acme, owner, alice, carol):
    orgs.invitation_create(actor=owner, org=acme, username="carol", role=Role.ADMIN)

    mine = client_for(alice).get("/orgs/").content.decode()
    theirs = client_for(carol).get("/orgs/").content.decode()

    assert 'href="/orgs/acme/"' in mine and "owner" in mine
    assert "Invitations waiting for you" in theirs and "@acme</a> as admin" in theirs


def test_overview_shows_role_policies_and_counts(acme, widget, dave):
    acme.require_staged = True
    acme.approvals_required = 2
    acme.save()

    response = client_for(dave).get("/orgs/acme/")
    html = response.content.decode()

    assert response.context["role"] == "member"
    assert response.context["counts"] == {"members": 3, "teams": 1, "packages": 1}
    assert "Every release is staged and needs 2 approvals." in html
    assert "Two-factor authentication is up to each member." in html
    assert "/orgs/acme/policies/" not in html  # no tab a member could not use


def test_overview_warns_a_member_without_2fa_when_the_org_requires_it(acme, owner, dave):
    orgs.org_policy_update(actor=owner, org=acme, changes={"require_2fa": True})

    html = client_for(dave).get("/orgs/acme/").content.decode()

    assert "@acme requires two-factor authentication" in html
    assert 'href="/account/security/"' in html


# Creating an org ---------------------------------------------------------------------------


def test_create_an_org_and_become_its_owner(carol):
    """A new org is a new scope, no one's rules: it needs no second factor."""
    client = client_for(carol)

    response = client.post("/orgs/new/", {"name": "zeta", "description": "Z"})

    assert response["Location"] == "/orgs/zeta/"
    assert "Created @zeta. You are its owner." in follow_messages(client, response)
    org = Org.objects.get(name="zeta")
    assert org.memberships.get().user == carol and org.memberships.get().role == Role.OWNER


def test_create_refuses_a_malformed_name_with_a_message(carol):
    response = client_for(carol).post("/orgs/new/", {"name": "Zeta Corp"})

    assert response.status_code == 200
    assert "cannot be an organization name" in messages_of(response)
    assert not Org.objects.exists()


def test_create_refuses_a_taken_name_with_a_message(acme, carol):
    response = client_for(carol).post("/orgs/new/", {"name": "alice"})

    assert response.status_code == 200
    assert "is taken" in messages_of(response)
    assert not Org.objects.filter(name="alice").exists()


def test_no_org_can_be_called_new_because_the_create_page_lives_there(carol):
    with pytest.raises(Conflict):
        orgs.org_create(actor=Actor(user=carol), name="new")
    assert client_for(carol).get("/orgs/new/").context["form"] is not None


# Members -------------------------------------------------------------------------------------


def test_members_page_shows_2fa_status_to_owners_and_admins_only(acme, alice, bob, dave):
    for manager in (alice, bob):
        html = client_for(manager).get("/orgs/acme/members/").content.decode()
        assert "Two-factor" in html
        assert re.search(r"bob.*?tfa-on", html, re.S)
        assert re.search(r"dave.*?tfa-off", html, re.S)
    html = client_for(dave).get("/orgs/acme/members/").content.decode()
    assert "Two-factor" not in html and "tfa-" not in html
    assert "Invite someone" not in html


def test_owner_changes_a_role(acme, alice, dave):
    client = client_for(alice)

    response = client.post("/orgs/acme/members/dave/role/", {"role": "admin"})

    assert "dave is now admin of @acme" in follow_messages(client, response)
    assert acme.memberships.get(user=dave).role == Role.ADMIN
    assert SecurityEvent.objects.filter(action="org:role-change", org=acme, user=dave).exists()


def test_a_change_asks_a_session_without_a_fresh_second_factor_to_pass_it(
    acme, alice, alice_codes, dave
):
    client = client_for(alice, fresh=False)

    asked = client.post("/orgs/acme/members/dave/role/", {"role": "admin"})

    assert asked["Location"] == "/account/sudo/?next=%2Forgs%2Facme%2Fmembers%2F"
    assert "Confirm it is you with your second factor" in follow_messages(client, asked)
    assert acme.memberships.get(user=dave).role == Role.MEMBER

    confirmed = client.post(
        asked["Location"], {"code": alice_codes(), "next": "/orgs/acme/members/"}
    )
    assert confirmed["Location"] == "/orgs/acme/members/"
    done = client.post("/orgs/acme/members/dave/role/", {"role": "admin"})
    assert "dave is now admin of @acme" in follow_messages(client, done)
    assert acme.memberships.get(user=dave).role == Role.ADMIN


MANAGER_POSTS = [
    ("/orgs/acme/members/invite/", {"invitee": "carol", "role": "member"}),
    ("/orgs/acme/members/bob/role/", {"role": "member"}),
    ("/orgs/acme/members/bob/remove/", {}),
    ("/orgs/acme/teams/", {"name": "ops"}),
    ("/orgs/acme/teams/developers/members/remove/", {"username": "bob"}),
    ("/orgs/acme/teams/developers/grants/revoke/", {"package": "@acme/widget"}),
    (
        "/orgs/acme/teams/developers/grants/set/",
        {"package": "@acme/widget", "permission": "read-only"},
    ),
]


def org_state() -> tuple:
    return (
        list(Membership.objects.values_list("user__username", "role").order_by("pk")),
        list(TeamGrant.objects.values_list("team__name", "permission").order_by("pk")),
        list(Team.objects.values_list("name", flat=True).order_by("pk")),
        Invitation.objects.count(),
    )


@pytest.mark.parametrize(("path", "data"), MANAGER_POSTS)
def test_changes_by_an_owner_are_refused_without_a_second_factor(
    acme, widget, dave_owner, path, data
):
    client = client_for(dave_owner)
    before = org_state()

    response = client.post(path, data)

    shown = follow_messages(client, response)
    assert "you need a second factor" in shown and "/account/security/" in shown
    assert org_state() == before


def test_admin_cannot_make_an_owner(acme, bob, dave):
    client = client_for(bob)

    response = client.post("/orgs/acme/members/dave/role/", {"role": "owner"})

    assert "Only an owner of @acme can make or change owners" in follow_messages(client, response)
    assert acme.memberships.get(user=dave).role == Role.MEMBER


def test_the_last_owner_cannot_leave_or_be_demoted(acme, alice):
    client = client_for(alice)

    removed = follow_messages(client, client.post("/orgs/acme/members/alice/remove/"))
    assert "alice is the last owner of @acme" in removed
    demoted = follow_messages(
        client, client.post("/orgs/acme/members/alice/role/", {"role": "member"})
    )
    assert "alice is the last owner of @acme" in demoted
    assert acme.memberships.get(user=alice).role == Role.OWNER


def test_admin_removes_a_member(acme, bob, dave):
    client = client_for(bob)

    response = client.post("/orgs/acme/members/dave/remove/")

    assert "Removed dave from @acme" in follow_messages(client, response)
    assert not acme.memberships.filter(user=dave).exists()


def test_invite_by_username_and_by_email_then_revoke(acme, alice, carol):
    client = client_for(alice)

    by_name = client.post("/orgs/acme/members/invite/", {"invitee": "carol", "role": "admin"})
    assert "Invited carol as admin" in follow_messages(client, by_name)
    by_mail = client.post(
        "/orgs/acme/members/invite/", {"invitee": "erin@example.com", "role": "member"}
    )
    assert "Invited erin@example.com" in follow_messages(client, by_mail)
    html = client.get("/orgs/acme/members/").content.decode()
    assert "Pending invitations" in html and "erin@example.com" in html
    invitation = Invitation.objects.get(email="erin@example.com")
    revoked = client.post(f"/orgs/acme/invitations/{invitation.pk}/revoke/")
    assert "Revoked the invitation of erin@example.com" in follow_messages(client, revoked)
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None


def test_invite_refuses_an_unknown_user_and_a_malformed_address(acme, alice):
    client = client_for(alice)

    unknown = client.post("/orgs/acme/members/invite/", {"invitee": "nobody", "role": "member"})
    assert "There is no user named nobody" in follow_messages(client, unknown)
    malformed = client.post("/orgs/acme/members/invite/", {"invitee": "x@", "role": "member"})
    assert "valid email" in follow_messages(client, malformed)
    assert not Invitation.objects.filter(org=acme, email__startswith="x").exists()


@pytest.mark.parametrize(("path", "data"), MANAGER_POSTS)
def test_role_gated_actions_are_refused_for_members_with_a_message(
    acme, widget, bob, dave, carol, path, data
):
    """Even with a second factor freshly passed, a plain member manages nothing."""
    with_fresh_factor(dave)
    client = client_for(dave)
    before = org_state()

    response = client.post(path, data)

    assert "Only owners and admins of @acme may" in follow_messages(client, response)
    assert org_state() == before
    assert client_for(carol).post(path, data).status_code == 404


def test_a_member_cannot_change_policies(acme, dave):
    client = client_for(dave)

    response = client.post("/orgs/acme/policies/", {"require_staged": "on"})

    assert "Only owners of @acme may change the policies" in follow_messages(client, response)
    acme.refresh_from_db()
    assert not acme.require_staged


def test_writes_are_post_only(acme, alice):
    assert client_for(alice).get("/orgs/acme/members/dave/remove/").status_code == 405
    assert client_for(alice).get("/orgs/acme/members/invite/").status_code == 405


# Teams --------------------------------------------------------------------------------------


def test_teams_create_add_grant_revoke_and_destroy(acme, widget, bob, dave):
    client = client_for(bob)

    created = client.post("/orgs/acme/teams/", {"name": "Ops", "description": "On call"})
    assert "Created the team ops" in follow_messages(client, created)
    team = acme.teams.get(name="ops")
    page = client.get("/orgs/acme/teams/ops/").content.decode()
    assert '<option value="dave">' in page

    added = client.post("/orgs/acme/teams/ops/members/add/", {"username": "dave"})
    assert "Added dave to the team" in follow_messages(client, added)
    granted = client.post(
        "/orgs/acme/teams/ops/grants/set/", {"package": "@acme/widget", "permission": "read-only"}
    )
    assert "read-only access to @acme/widget" in follow_messages(client, granted)
    assert team.members.get().user == dave
    assert team.grants.get().permission == TeamGrant.Permission.READ_ONLY
    page = client.get("/orgs/acme/teams/ops/").content.decode()
    assert "@acme/widget" in page and "read-only" in page

    revoked = client.post("/orgs/acme/teams/ops/grants/revoke/", {"package": "@acme/widget"})
    assert "no longer has access to @acme/widget" in follow_messages(client, revoked)
    removed = client.post("/orgs/acme/teams/ops/members/remove/", {"username": "dave"})
    assert "Removed dave from the team" in follow_messages(client, removed)
    destroyed = client.post("/orgs/acme/teams/ops/destroy/")
    assert destroyed["Location"] == "/orgs/acme/teams/"
    assert not acme.teams.filter(name="ops").exists()


def test_the_developers_team_cannot_be_destroyed(acme, alice):
    client = client_for(alice)

    response = client.post("/orgs/acme/teams/developers/destroy/")

    assert "cannot be removed" in follow_messages(client, response)
    assert acme.teams.filter(name="developers").exists()


def test_granting_a_package_of_another_org_is_refused_with_a_message(acme, alice):
    client = client_for(alice)

    response = client.post(
        "/orgs/acme/teams/developers/grants/set/", {"package": "lodash", "permission": "read-write"}
    )

    assert "@acme has no package lodash" in follow_messages(client, response)


def test_a_team_that_does_not_exist_is_a_404(acme, alice):
    assert client_for(alice).get("/orgs/acme/teams/nope/").status_code == 404


# Packages, compliance, history ---------------------------------------------------------------


def test_packages_page_shows_the_effective_policy(acme, widget, owner, dave):
    orgs.org_policy_update(
        actor=owner, org=acme, changes={"require_staged": True, "approvals_required": 3}
    )

    response = client_for(dave).get("/orgs/acme/packages/")

    assert response.status_code == 200
    ((package, policy),) = response.context["rows"]
    assert package.name == "@acme/widget" and policy.require_staged
    assert policy.approvals_required == 3
    assert "@acme/widget" in response.content.decode()


def test_packages_page_hides_restricted_packages_a_member_cannot_read(acme, widget, alice, dave):
    TeamGrant.objects.filter(package=widget).delete()
    assert widget.is_restricted

    assert client_for(dave).get("/orgs/acme/packages/").context["rows"] == []
    assert len(client_for(alice).get("/orgs/acme/packages/").context["rows"]) == 1


def test_compliance_lists_members_without_2fa_loose_packages_and_risky_tokens(
    acme, widget, alice, bob
):
    response = client_for(bob).get("/orgs/acme/compliance/")
    html = response.content.decode()

    assert response.context["members_without_2fa"] == ["dave"]
    assert "@acme/widget" in html and "releases are not staged" in html
    assert [t["owner"] for t in response.context["tokens"]] == ["alice"]
    assert "lives longer than 90 days" in html


def test_history_shows_the_orgs_events_with_ips_for_managers_only(acme, alice, bob, dave):
    html = client_for(dave).get("/orgs/acme/history/").content.decode()
    manager = client_for(bob).get("/orgs/acme/history/").content.decode()

    assert "org:create" in html and "org:member-add" in html
    assert "<th>From</th>" not in html
    assert "<th>From</th>" in manager


# Policies ---------------------------------------------------------------------------------

POLICY_FORM = {
    "publishing_access": "stage-automation",
    "require_staged": "on",
    "approvals_required": "2",
    "allow_remote": "on",
    "allow_file": "on",
    "allow_directory": "on",
    "max_token_days": "30",
}


def test_policies_are_refused_without_a_second_factor(acme, dave_owner):
    client = client_for(dave_owner)

    page = client.get("/orgs/acme/policies/")
    posted = client.post("/orgs/acme/policies/", POLICY_FORM)

    assert page["Location"] == posted["Location"] == "/orgs/acme/"
    assert "To change the policies of @acme you need a second factor" in messages_of(page)
    assert "/account/security/" in follow_messages(client, posted)
    acme.refresh_from_db()
    assert not acme.require_staged and acme.publishing_access == "any"
    assert not SecurityEvent.objects.filter(action="org:policy-change", org=acme).exists()


def test_owner_with_a_fresh_second_factor_saves_policies(acme, alice):
    client = client_for(alice)

    response = client.post("/orgs/acme/policies/", POLICY_FORM)

    assert "Saved the policies of @acme" in follow_messages(client, response)
    acme.refresh_from_db()
    assert acme.require_staged and acme.approvals_required == 2
    assert acme.publishing_access == "stage-automation"
    assert not acme.allow_git and acme.max_token_days == 30
    assert SecurityEvent.objects.filter(action="org:policy-change", org=acme).exists()


def test_requiring_2fa_is_refused_without_a_second_factor(acme, dave_owner):
    client = client_for(dave_owner)

    response = client.post("/orgs/acme/policies/", {**POLICY_FORM, "require_2fa": "on"})

    assert "To change the policies of @acme you need a second factor" in follow_messages(
        client, response
    )
    acme.refresh_from_db()
    assert not acme.require_2fa and not acme.require_staged


def test_policy_page_needs_sudo_mode_for_owners_with_2fa(acme, alice):
    client = client_for(alice, fresh=False)

    response = client.get("/orgs/acme/policies/")
    posted = client.post("/orgs/acme/policies/", {**POLICY_FORM, "require_2fa": "on"})

    assert response["Location"] == "/account/sudo/?next=%2Forgs%2Facme%2Fpolicies%2F"
    assert posted["Location"].startswith("/account/sudo/")
    acme.refresh_from_db()
    assert not acme.require_2fa

    stamp(client, alice)
    assert client.get("/orgs/acme/policies/").status_code == 200
    saved = client.post("/orgs/acme/policies/", {**POLICY_FORM, "require_2fa": "on"})
    assert saved["Location"] == "/orgs/acme/policies/"
    acme.refresh_from_db()
    assert acme.require_2fa


def test_policy_form_explains_each_setting(acme, alice):
    html = client_for(alice).get("/orgs/acme/policies/").content.decode()

    for phrase in (
        "Every member must use two-factor authentication",
        "cannot publish, stage, approve or change settings until they add one",
        "Dependencies from git repositories",
        "Empty for no limit",
    ):
        assert phrase in html


def test_an_out_of_range_policy_value_is_refused_with_a_message(acme, alice):
    client = client_for(alice)

    response = client.post("/orgs/acme/policies/", {**POLICY_FORM, "approvals_required": "11"})

    assert "Approvals required must be a whole number from 1 to 10" in messages_of(response)
    acme.refresh_from_db()
    assert acme.approvals_required == 1


# The invitation page ------------------------------------------------------------------------


def invitation_url(invitation: Invitation, key: str | None = None) -> str:
    return f"/account/invitations/{invitation.pk.hex}/" + (f"?key={key}" if key else "")


def test_accept_an_invitation_by_username(acme, owner, carol):
    invitation, _ = orgs.invitation_create(actor=owner, org=acme, username="carol", role=Role.ADMIN)
    client = client_for(carol)

    page = client.get(invitation_url(invitation)).content.decode()
    response = client.post(invitation_url(invitation), {"decision": "accept"})

    assert "Join @acme?" in page and "admin" in page and "alice" in page
    assert response["Location"] == "/orgs/acme/"
    assert "Welcome to @acme: you joined as admin" in follow_messages(client, response)
    assert acme.memberships.get(user=carol).role == Role.ADMIN
    assert acme.teams.get(name="developers").members.filter(user=carol).exists()


def test_accept_an_invitation_by_email_with_its_key(acme, owner):
    invitation, key = orgs.invitation_create(actor=owner, org=acme, email="erin@example.com")
    erin = make_user("erin")
    client = client_for(erin)

    page = client.get(invitation_url(invitation, key))
    response = client.post(invitation_url(invitation, key), {"decision": "accept", "key": key})

    assert page.status_code == 200 and f'value="{key}"' in page.content.decode()
    assert response["Location"] == "/orgs/acme/"
    assert acme.memberships.get(user=erin).role == Role.MEMBER


def test_an_email_invitation_with_a_wrong_key_or_none_is_a_404(acme, owner, carol):
    invitation, _ = orgs.invitation_create(actor=owner, org=acme, email="erin@example.com")
    client = client_for(carol)

    wrong = client.get(invitation_url(invitation, "nope"))
    missing = client.get(invitation_url(invitation))
    posted = client.post(invitation_url(invitation), {"decision": "accept", "key": "nope"})

    assert wrong.status_code == missing.status_code == posted.status_code == 404
    assert "This invitation is for someone else" in messages_of(wrong)
    assert not acme.memberships.filter(user=carol).exists()


def test_someone_elses_username_invitation_is_a_404(acme, owner, alice, carol):
    invitation, _ = orgs.invitation_create(actor=owner, org=acme, username="carol")

    assert client_for(alice).get(invitation_url(invitation)).status_code == 404


@pytest.mark.parametrize("how", ["expired", "revoked", "accepted"])
def test_a_closed_invitation_says_so(acme, owner, carol, how):
    invitation, _ = orgs.invitation_create(actor=owner, org=acme, username="carol")
    if how == "expired":
        Invitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - timedelta(minutes=1)
        )
    elif how == "revoked":
        orgs.invitation_revoke(actor=owner, invitation=invitation)
    else:
        orgs.invitation_accept(actor=Actor(user=carol), invitation=invitation)

    response = client_for(carol).get(invitation_url(invitation))

    assert response.status_code == 404
    assert "This invitation expired, was revoked or was already used. Ask for a new one." in (
        messages_of(response)
    )
    assert "Accept" not in response.content.decode()


def test_decline_an_invitation(acme, owner, carol):
    invitation, _ = orgs.invitation_create(actor=owner, org=acme, username="carol")
    client = client_for(carol)

    response = client.post(invitation_url(invitation), {"decision": "decline"})

    assert response["Location"] == "/orgs/"
    assert "You declined the invitation to @acme" in follow_messages(client, response)
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert not acme.memberships.filter(user=carol).exists()


def test_a_2fa_org_refuses_acceptance_without_2fa(acme, owner, carol):
    orgs.org_policy_update(actor=owner, org=acme, changes={"require_2fa": True})
    invitation, _ = orgs.invitation_create(actor=owner, org=acme, username="carol")
    client = client_for(carol)

    page = client.get(invitation_url(invitation)).content.decode()
    response = client.post(invitation_url(invitation), {"decision": "accept"})

    assert "@acme requires two-factor authentication" in page
    assert 'href="/account/security/"' in page
    assert 'value="accept"' not in page
    assert "@acme requires two-factor authentication" in follow_messages(client, response)
    assert not acme.memberships.filter(user=carol).exists()

    enroll_app(carol)
    assert 'value="accept"' in client.get(invitation_url(invitation)).content.decode()
    client.post(invitation_url(invitation), {"decision": "accept"})
    assert acme.memberships.filter(user=carol).exists()


def test_the_invitation_page_needs_an_account(acme, owner):
    invitation, key = orgs.invitation_create(actor=owner, org=acme, email="erin@example.com")

    response = Client().get(invitation_url(invitation, key))

    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/?next=/account/invitations/")
    assert "key%3D" in response["Location"]


# Content-Security-Policy -----------------------------------------------------------------------


def all_pages(acme, invitation) -> list[str]:
    return [*EXPECTED, "/orgs/", "/orgs/new/", invitation_url(invitation)]


def test_every_org_page_has_a_csp_and_no_inline_script_or_style(acme, widget, owner, alice, carol):
    orgs.org_policy_update(actor=owner, org=acme, changes={"require_2fa": True})
    invitation, _ = orgs.invitation_create(actor=owner, org=acme, username="carol")
    signed_in = client_for(alice)

    for path in all_pages(acme, invitation):
        client = client_for(carol) if "invitations" in path else signed_in
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html, re.IGNORECASE), path
        assert not re.search(r"<style\b", html, re.IGNORECASE), path
        assert not re.search(r"\sstyle\s*=", html, re.IGNORECASE), path
        assert not re.search(r"\son[a-z]+\s*=", html, re.IGNORECASE), path


def test_policy_page_is_refused_to_an_owner_without_a_second_factor_even_after_the_password(
    acme, dave_owner
):
    """A password confirms sudo mode for people without a second factor; it never proves
    one, so the policies stay out of reach."""
    client = client_for(dave_owner, fresh=False)
    sudo = "/account/sudo/?next=%2Forgs%2Facme%2Fpolicies%2F"
    page = client.get(sudo)
    assert 'name="password"' in page.content.decode()
    refused = client.post(sudo, {"password": "wrong"})
    assert "Incorrect" in messages_of(refused)
    confirmed = client.post(sudo, {"password": PASSWORD, "next": "/orgs/acme/policies/"})
    assert confirmed["Location"] == "/orgs/acme/policies/"

    response = client.get("/orgs/acme/policies/")

    assert response["Location"] == "/orgs/acme/"
    assert "To change the policies of @acme you need a second factor" in messages_of(response)
