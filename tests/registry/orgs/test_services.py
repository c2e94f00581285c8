"""Org services: rules that no page or endpoint should be able to get around.

alice owns @acme, bob joins it, carol stays outside. Changes to an org are governance, so
alice acts as a portal session that has just passed a second factor (`with_fresh_factor`).
"""

import pytest
from django.core import mail

from accounts.actors import Actor
from accounts.exceptions import InvalidAccountData, UsernameTaken
from accounts.models import SecurityEvent
from accounts.secrets import secret_hash
from accounts.services.two_factor import two_factor_disable
from accounts.services.users import user_create
from portal.errors import Conflict, NotFound, PermissionDenied
from registry.orgs import services as orgs
from registry.orgs.models import DEVELOPERS_TEAM, Invitation, Membership
from tests.accounts.factors import with_fresh_factor
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

Role = Membership.Role


@pytest.fixture
def owner(alice) -> Actor:
    return with_fresh_factor(alice)


@pytest.fixture
def acme(owner):
    return orgs.org_create(actor=owner, name="acme")


def join(org, owner: Actor, user, role: str = Role.MEMBER) -> Membership:
    invitation, _ = orgs.invitation_create(actor=owner, org=org, username=user.username, role=role)
    return orgs.invitation_accept(actor=Actor(user=user), invitation=invitation)


def role_of(org, user) -> str | None:
    return Membership.objects.filter(org=org, user=user).values_list("role", flat=True).first()


# Creating an org ------------------------------------------------------------------------


def test_the_creator_owns_the_new_org_and_is_in_its_developers_team(alice, acme):
    assert role_of(acme, alice) == Role.OWNER
    assert [member.user for member in orgs.team_get(acme, DEVELOPERS_TEAM).members.all()] == [alice]


def test_an_overlong_name_is_invalid_not_taken(alice):
    with pytest.raises(InvalidAccountData, match="at most 214"):
        orgs.org_create(actor=Actor(user=alice), name="a" * 215)


def test_an_org_cannot_take_a_persons_name(alice, bob):
    with pytest.raises(Conflict, match="taken by a user or an organization"):
        orgs.org_create(actor=Actor(user=alice), name="bob")


def test_no_new_account_can_take_an_orgs_name(acme):
    with pytest.raises(UsernameTaken):
        user_create(
            actor=Actor(user=None), username="acme", email="a@example.com", password=PASSWORD
        )


# Members and roles ----------------------------------------------------------------------


def test_an_invited_person_joins_with_the_invited_role_and_the_developers_team(acme, owner, bob):
    join(acme, owner, bob, Role.ADMIN)

    assert role_of(acme, bob) == Role.ADMIN
    assert orgs.team_get(acme, DEVELOPERS_TEAM).members.filter(user=bob).exists()
    assert SecurityEvent.objects.filter(action="org:member-add", user=bob, org=acme).exists()


def test_a_role_change_is_recorded_with_before_and_after(acme, owner, bob):
    join(acme, owner, bob)

    orgs.member_role_set(actor=owner, org=acme, username="bob", role=Role.ADMIN)

    event = SecurityEvent.objects.get(action="org:role-change")
    assert (event.user, event.details) == (bob, {"from": "member", "to": "admin"})


def test_an_owner_without_a_second_factor_changes_nothing(bob):
    bobco = orgs.org_create(actor=Actor(user=bob), name="bobco")

    with pytest.raises(PermissionDenied, match="need a second factor"):
        orgs.team_create(actor=Actor(user=bob), org=bobco, name="core")
    assert not bobco.teams.filter(name="core").exists()


def test_only_owners_make_owners(acme, owner, bob, carol):
    join(acme, owner, bob, Role.ADMIN)
    join(acme, owner, carol)

    with pytest.raises(PermissionDenied, match="Only an owner"):
        orgs.member_role_set(
            actor=with_fresh_factor(bob), org=acme, username="carol", role=Role.OWNER
        )
    assert role_of(acme, carol) == Role.MEMBER


def test_the_last_owner_can_neither_step_down_nor_leave(alice, acme, owner):
    with pytest.raises(Conflict, match="last owner"):
        orgs.member_role_set(actor=owner, org=acme, username="alice", role=Role.MEMBER)
    with pytest.raises(Conflict, match="last owner"):
        orgs.member_remove(actor=owner, org=acme, username="alice")
    assert role_of(acme, alice) == Role.OWNER


def test_a_removed_member_leaves_every_team(acme, owner, bob):
    join(acme, owner, bob)
    core = orgs.team_create(actor=owner, org=acme, name="core")
    orgs.team_member_add(actor=owner, team=core, username="bob")

    orgs.member_remove(actor=owner, org=acme, username="bob")

    assert role_of(acme, bob) is None
    assert not bob.team_memberships.exists()


def test_a_member_may_leave_on_their_own(acme, owner, bob):
    join(acme, owner, bob)

    orgs.member_remove(actor=Actor(user=bob), org=acme, username="bob")

    assert role_of(acme, bob) is None


# Invitations ----------------------------------------------------------------------------


def test_an_email_invitation_keeps_only_a_hash_of_the_secret_its_link_carries(acme, owner, bob):
    invitation, secret = orgs.invitation_create(actor=owner, org=acme, email="bob@example.com")

    assert invitation.token_hash == secret_hash(secret) and secret not in invitation.token_hash
    found = orgs.invitation_for(user=bob, invitation_id=invitation.pk.hex, key=secret)
    assert found == invitation
    with pytest.raises(NotFound, match="for someone else"):
        orgs.invitation_for(user=bob, invitation_id=invitation.pk.hex, key="wrong")


def test_an_invitation_by_username_is_for_that_person_only(acme, owner, bob, carol):
    invitation, secret = orgs.invitation_create(actor=owner, org=acme, username="bob")

    assert secret is None
    with pytest.raises(NotFound, match="for someone else"):
        orgs.invitation_for(user=carol, invitation_id=invitation.pk.hex)
    assert orgs.invitation_for(user=bob, invitation_id=invitation.pk.hex) == invitation


def test_inviting_again_replaces_the_open_invitation(acme, owner, bob):
    first, _ = orgs.invitation_create(actor=owner, org=acme, username="bob")

    orgs.invitation_create(actor=owner, org=acme, username="bob", role=Role.ADMIN)

    first.refresh_from_db()
    assert first.revoked_at is not None
    assert Invitation.objects.get(revoked_at__isnull=True).role == Role.ADMIN


def test_a_revoked_invitation_can_no_longer_be_opened(acme, owner, bob):
    invitation, _ = orgs.invitation_create(actor=owner, org=acme, username="bob")

    orgs.invitation_revoke(actor=owner, invitation=invitation)

    with pytest.raises(NotFound, match="expired, was revoked or was already used"):
        orgs.invitation_for(user=bob, invitation_id=invitation.pk.hex)


def test_an_invitation_is_accepted_once(acme, owner, bob):
    invitation, _ = orgs.invitation_create(actor=owner, org=acme, username="bob")
    orgs.invitation_accept(actor=Actor(user=bob), invitation=invitation)

    with pytest.raises(Conflict, match="already a member"):
        orgs.invitation_accept(actor=Actor(user=bob), invitation=invitation)


def test_members_and_unknown_people_cannot_be_invited(acme, owner):
    with pytest.raises(Conflict, match="already a member"):
        orgs.invitation_create(actor=owner, org=acme, username="alice")
    with pytest.raises(NotFound, match="Invite them by email"):
        orgs.invitation_create(actor=owner, org=acme, username="nobody")


def test_an_org_that_requires_2fa_admits_no_one_without_a_second_factor(acme, owner, bob):
    acme = orgs.org_policy_update(actor=owner, org=acme, changes={"require_2fa": True})
    invitation, _ = orgs.invitation_create(actor=owner, org=acme, username="bob")

    with pytest.raises(PermissionDenied, match="requires two-factor authentication"):
        orgs.invitation_accept(actor=Actor(user=bob), invitation=invitation)
    assert role_of(acme, bob) is None


# Teams ----------------------------------------------------------------------------------


def test_team_names_are_lowercase_and_unique_in_the_org(acme, owner):
    team = orgs.team_create(actor=owner, org=acme, name="Core")

    assert team.name == "core"
    with pytest.raises(Conflict, match="already has a team"):
        orgs.team_create(actor=owner, org=acme, name="CORE")


def test_only_members_of_the_org_join_its_teams(acme, owner, carol):
    core = orgs.team_create(actor=owner, org=acme, name="core")

    with pytest.raises(NotFound, match="not a member of @acme"):
        orgs.team_member_add(actor=owner, team=core, username="carol")


def test_removing_someone_from_a_team_records_who(acme, owner, bob):
    join(acme, owner, bob)
    team = orgs.team_create(actor=owner, org=acme, name="core")
    orgs.team_member_add(actor=owner, team=team, username="bob")

    orgs.team_member_remove(actor=owner, team=team, username="BOB")

    event = SecurityEvent.objects.get(action="org:team-member-remove")
    assert event.user == bob and event.details == {"team": "core", "user": "bob"}


def test_the_developers_team_cannot_be_removed(acme, owner):
    with pytest.raises(Conflict, match="holds every member"):
        orgs.team_destroy(actor=owner, team=orgs.team_get(acme, DEVELOPERS_TEAM))


# Policies -------------------------------------------------------------------------------


def test_a_policy_change_is_recorded_and_emailed_to_every_owner(
    acme, owner, bob, django_capture_on_commit_callbacks
):
    join(acme, owner, bob, Role.OWNER)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        orgs.org_policy_update(actor=owner, org=acme, changes={"approvals_required": 2})

    acme.refresh_from_db()
    assert acme.approvals_required == 2
    event = SecurityEvent.objects.get(action="org:policy-change")
    assert event.details == {"approvals_required": {"from": 1, "to": 2}}
    policy_mails = [message for message in mail.outbox if "approvals_required" in message.body]
    assert sorted(address for m in policy_mails for address in m.to) == [
        "alice@example.com",
        "bob@example.com",
    ]


def test_an_unchanged_policy_records_nothing(acme, owner):
    orgs.org_policy_update(actor=owner, org=acme, changes={"require_staged": False})

    assert not SecurityEvent.objects.filter(action="org:policy-change").exists()


def test_requiring_2fa_of_everyone_needs_it_yourself(bob):
    org = orgs.org_create(actor=Actor(user=bob), name="bobco")

    with pytest.raises(PermissionDenied, match="for yourself"):
        orgs.org_policy_update(actor=Actor(user=bob), org=org, changes={"require_2fa": True})


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"approvals_required": 0}, "from 1 to 10"),
        ({"max_token_days": 0}, "from 1 to 3650 days"),
        ({"publishing_access": "anyone"}, "Unknown publishing access"),
        ({"allow_git": "no"}, "must be true or false"),
        ({"colour": "red"}, "Unknown policy: colour"),
    ],
)
def test_a_policy_value_out_of_range_says_what_to_fix(acme, owner, changes, says):
    with pytest.raises(InvalidAccountData, match=says):
        orgs.org_policy_update(actor=owner, org=acme, changes=changes)


def test_a_member_of_an_org_that_requires_2fa_cannot_turn_it_off(acme, owner, bob):
    join(acme, owner, bob)
    bob_with_factor = with_fresh_factor(bob)
    orgs.org_policy_update(actor=owner, org=acme, changes={"require_2fa": True})

    with pytest.raises(PermissionDenied, match="@acme requires two-factor authentication"):
        two_factor_disable(actor=bob_with_factor, user=bob)
    bob.refresh_from_db()
    assert bob.has_two_factor
