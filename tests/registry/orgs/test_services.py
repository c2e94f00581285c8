"""Org services: rules that no page or endpoint should be able to get around."""

import pytest

from accounts.actors import Actor
from accounts.exceptions import InvalidAccountData
from accounts.models import SecurityEvent
from registry.orgs import services as orgs

pytestmark = pytest.mark.django_db


def test_an_overlong_name_is_invalid_not_taken(alice):
    with pytest.raises(InvalidAccountData, match="at most 214"):
        orgs.org_create(actor=Actor(user=alice), name="a" * 215)


def test_removing_someone_from_a_team_records_who(alice, bob):
    org = orgs.org_create(actor=Actor(user=alice), name="acme")
    orgs.invitation_accept(
        actor=Actor(user=bob),
        invitation=orgs.invitation_create(actor=Actor(user=alice), org=org, username="bob")[0],
    )
    team = orgs.team_create(actor=Actor(user=alice), org=org, name="core")
    orgs.team_member_add(actor=Actor(user=alice), team=team, username="bob")

    orgs.team_member_remove(actor=Actor(user=alice), team=team, username="BOB")

    event = SecurityEvent.objects.get(action="org:team-member-remove")
    assert event.user == bob and event.details == {"team": "core", "user": "bob"}
