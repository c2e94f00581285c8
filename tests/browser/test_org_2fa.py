"""An org that requires two-factor authentication, in a real browser: the owner adds a
security key (without one she may change nothing in her org), invites a member, turns the
requirement on; the member, without a second factor, is stopped at the approve button, adds
one, and approves."""

import os
import time

import pytest
from django.contrib.sessions.backends.db import SessionStore

from accounts.actors import Actor
from accounts.models import Token
from accounts.sudo import FACTOR_KEY, SESSION_KEY
from registry.models import StagedRelease
from registry.orgs import services as orgs
from registry.orgs.models import Invitation, Membership, Org
from registry.services.stage import version_stage
from tests.browser.conftest import TIMEOUT_MS, Portal, totp_code
from tests.conftest import issue_token
from tests.packages import publish_body

pytestmark = pytest.mark.django_db(transaction=True)

# Set to a directory to keep screenshots of the pages this test visits.
SCREENSHOTS = os.environ.get("GATEHOUSE_SCREENSHOTS", "")


@pytest.fixture
def second_portal(browser, server):
    """Another person's browser, beside `portal`."""
    context = browser.new_context(base_url=server)
    context.set_default_timeout(TIMEOUT_MS)
    portal = Portal(context, server)
    yield portal
    problems = list(portal.problems)
    context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def acme(alice) -> Org:
    """alice created @acme in the portal (a new org needs no second factor); she has none yet."""
    return orgs.org_create(actor=Actor(user=alice), name="acme")


def screenshot(portal: Portal, name: str) -> None:
    if SCREENSHOTS:
        portal.page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def age_second_factor(portal: Portal) -> None:
    """Make the session's sudo mode and its second factor older than sudo mode allows."""
    cookie = next(c for c in portal.context.cookies() if c["name"] == "sessionid")
    session = SessionStore(session_key=cookie["value"])
    session[SESSION_KEY] = session[FACTOR_KEY] = int(time.time()) - 3600
    session.save()


def stage_as(user, name: str) -> StagedRelease:
    """`npm stage publish` with the person's token."""
    user.refresh_from_db()  # their second factor was added in the browser
    issue_token(user)
    token = Token.objects.filter(user=user).latest("created_at")
    return version_stage(actor=Actor(user=user, token=token), name=name, body=publish_body(name))


def test_member_without_2fa_adds_a_factor_then_approves(portal, second_portal, acme, alice, bob):
    owner, member = portal, second_portal

    # Without a second factor the owner is offered no change to her org.
    owner.add_authenticator()
    owner.login("alice")
    owner.goto("/orgs/acme/members/")
    assert "Invite someone" not in owner.text()

    # With a security key she invites bob, who joins before the org requires a second
    # factor. Her session's second factor has aged: the invitation asks for it afresh.
    owner.enroll_key()
    age_second_factor(owner)
    owner.goto("/orgs/acme/members/")
    owner.page.fill("input[name=invitee]", "bob")
    owner.submit("form:has(input[name=invitee])")
    assert owner.path == "/account/sudo/?next=%2Forgs%2Facme%2Fmembers%2F"
    assert "Confirm it is you with your second factor" in owner.messages()
    assert not Invitation.objects.filter(org=acme).exists()
    owner.click_and_wait("[data-key-assert][data-purpose=sudo]")
    assert owner.path == "/orgs/acme/members/"
    owner.page.fill("input[name=invitee]", "bob")
    owner.submit("form:has(input[name=invitee])")
    assert "Invited bob as member" in owner.messages()
    invitation = Invitation.objects.get(org=acme, user=bob)
    orgs.invitation_accept(actor=Actor(user=bob), invitation=invitation)

    # She requires 2FA; the policies page asks for her second factor afresh.
    owner.age_sudo()
    owner.goto("/orgs/acme/")
    owner.follow("Policies")
    assert owner.path == "/account/sudo/?next=%2Forgs%2Facme%2Fpolicies%2F"
    owner.click_and_wait("[data-key-assert][data-purpose=sudo]")
    assert owner.path == "/orgs/acme/policies/"
    screenshot(owner, "org-policies")
    owner.page.check("input[name=require_2fa]")
    owner.submit("form.policies")
    assert "Saved the policies of @acme" in owner.messages()
    assert owner.page.is_checked("input[name=require_2fa]")
    acme.refresh_from_db()
    assert acme.require_2fa

    owner.follow("Members")
    members = owner.text("table.members")
    assert "bob" in members and "none" in members
    screenshot(owner, "org-members")

    staged = stage_as(alice, "@acme/widget")
    review = f"/staging/{staged.pk}/"

    # The member sees the release, but is told to add a second factor before approving.
    member.login("bob")
    member.goto("/orgs/acme/")
    assert "@acme requires two-factor authentication" in member.text()
    member.goto(review)
    assert "Approving needs a second factor" in member.text(".decide")
    assert member.page.locator(".decide input[name=code]").count() == 0
    screenshot(member, "review-blocked")

    # They add an authenticator app from there, and come back.
    member.page.locator(".decide").get_by_role("link").click()
    member.page.wait_for_url("**/account/security/")
    member.follow("Add an authenticator app")
    key = member.totp_key()
    member.enter_code(totp_code(key))
    member.enter_code(member.recovery_codes()[0])
    assert "Two-factor authentication is on" in member.messages()

    member.goto(review)
    member.enter_code(totp_code(key, steps_ahead=1), form=".decide form:has(input[name=code])")
    assert "Approved: @acme/widget@1.0.0 is published." in member.messages()
    staged.refresh_from_db()
    assert staged.status == StagedRelease.Status.PUBLISHED
    assert staged.approvals.get().user == bob
    assert Membership.objects.get(org=acme, user=bob).role == Membership.Role.MEMBER
