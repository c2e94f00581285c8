"""The organizations REST API (/api/v1/orgs/…), driven with tokens as automation would.

alice owns @acme, bob is an admin, carol and erin are members, dave is an outsider. Every
change to an org is governance: alice and bob hold authenticator apps (auth-only) and send
a fresh one-time code in `npm-otp` with each change; carol, erin and dave hold no factor.
"""

import json
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.actors import Actor
from accounts.exceptions import InvalidAccountData
from accounts.models import SecurityEvent, Token, User
from accounts.secrets import secret_hash
from portal.errors import PermissionDenied
from registry.models import Maintainer, Package
from registry.orgs.models import Invitation, Membership
from registry.orgs.services import (
    invitation_accept,
    invitation_create,
    member_role_set,
    org_create,
    team_create,
    team_member_add,
)
from registry.orgs.team_grants import team_grant_set
from registry.services.metadata import maintainers_set
from tests.accounts.factors import Codes, with_fresh_factor
from tests.conftest import issue_token, make_user
from tests.registry.helpers import publish

pytestmark = pytest.mark.django_db

API = "/api/v1"
WIDGET = "@acme/widget"


def call(client, method: str, path: str, token: str | None = None, body=None, otp=None):
    headers = {}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if otp:
        headers["HTTP_NPM_OTP"] = otp
    data = json.dumps(body) if body is not None else ""
    return getattr(client, method)(
        f"{API}{path}", data=data, content_type="application/json", **headers
    )


def join(org, owner: Actor, user, role: str):
    """Invite and accept, as people do."""
    invitation, _ = invitation_create(actor=owner, org=org, username=user.username, role=role)
    invitation_accept(actor=Actor(user=user), invitation=invitation)


def readonly_token(user) -> str:
    secret = issue_token(user)
    Token.objects.filter(token_hash=secret_hash(secret)).update(readonly=True)
    return secret


@pytest.fixture
def dave(db):
    return make_user("dave")


@pytest.fixture
def erin(db):
    return make_user("erin")


@pytest.fixture
def owner(alice, alice_codes) -> Actor:
    """alice as a portal session that has just passed her second factor: arranges worlds."""
    return with_fresh_factor(alice)


@pytest.fixture
def bob_codes(bob):
    return Codes(bob, mode=User.TwoFactorMode.AUTH_ONLY)


@pytest.fixture
def acme(client, owner, alice_token, bob, bob_codes, carol, erin):
    org = org_create(actor=owner, name="acme")
    join(org, owner, bob, Membership.Role.ADMIN)
    join(org, owner, carol, Membership.Role.MEMBER)
    join(org, owner, erin, Membership.Role.MEMBER)
    assert publish(client, alice_token, WIDGET).status_code == 201
    team = team_create(actor=owner, org=org, name="core")
    team_member_add(actor=owner, team=team, username="carol")
    team_grant_set(actor=owner, team=team, package_name=WIDGET, permission="read-only")
    mail.outbox.clear()
    return org


@pytest.fixture
def invitation(acme, owner):
    invitation, _ = invitation_create(
        actor=owner, org=acme, email="frank@example.com", role="member"
    )
    mail.outbox.clear()
    return invitation


@pytest.fixture
def tokens(acme, alice_token, bob_token, carol_token, alice, dave):
    return {
        "owner": alice_token,
        "admin": bob_token,
        "member": carol_token,
        "outsider": issue_token(dave),
        "anonymous": None,
        "readonly": readonly_token(alice),
    }


@pytest.fixture
def send(client, tokens, alice_codes, bob_codes):
    """A persona's request; a change carries a fresh one-time code when they hold a factor."""
    codes = {"owner": alice_codes, "admin": bob_codes, "readonly": alice_codes}

    def send(method: str, path: str, persona: str, body=None):
        code = codes[persona]() if method != "get" and persona in codes else None
        return call(client, method, path, tokens[persona], body, otp=code)

    return send


# The access matrix ----------------------------------------------------------------------

PERSONAS = ["owner", "admin", "member", "outsider", "anonymous", "readonly"]
ORG = "/orgs/acme"
ENDPOINTS = [
    # method, path, body, statuses for the PERSONAS in order, each change sent with a fresh
    # code by those who hold a second factor (owner, admin, readonly)
    ("get", "/orgs/", None, (200, 200, 200, 200, 401, 200)),
    ("post", "/orgs/", {"name": "newco"}, (201, 201, 201, 201, 401, 403)),
    ("get", f"{ORG}/", None, (200, 200, 200, 404, 401, 200)),
    ("get", f"{ORG}/members/", None, (200, 200, 200, 404, 401, 200)),
    ("put", f"{ORG}/members/erin/", {"role": "admin"}, (200, 200, 403, 404, 401, 403)),
    ("delete", f"{ORG}/members/erin/", None, (204, 204, 403, 404, 401, 403)),
    ("get", f"{ORG}/invitations/", None, (200, 200, 403, 404, 401, 200)),
    ("post", f"{ORG}/invitations/", {"username": "dave"}, (201, 201, 403, 404, 401, 403)),
    ("delete", f"{ORG}/invitations/{{invitation}}/", None, (204, 204, 403, 404, 401, 403)),
    ("get", f"{ORG}/teams/", None, (200, 200, 200, 404, 401, 200)),
    ("post", f"{ORG}/teams/", {"name": "qa"}, (201, 201, 403, 404, 401, 403)),
    ("get", f"{ORG}/teams/core/", None, (200, 200, 200, 404, 401, 200)),
    ("delete", f"{ORG}/teams/core/", None, (204, 204, 403, 404, 401, 403)),
    ("put", f"{ORG}/teams/core/members/erin/", None, (200, 200, 403, 404, 401, 403)),
    ("delete", f"{ORG}/teams/core/members/carol/", None, (204, 204, 403, 404, 401, 403)),
    ("get", f"{ORG}/teams/core/packages/", None, (200, 200, 200, 404, 401, 200)),
    (
        "put",
        f"{ORG}/teams/core/packages/{WIDGET}/",
        {"permission": "read-write"},
        (200, 200, 403, 404, 401, 403),
    ),
    ("delete", f"{ORG}/teams/core/packages/{WIDGET}/", None, (204, 204, 403, 404, 401, 403)),
    ("get", f"{ORG}/packages/", None, (200, 200, 200, 404, 401, 200)),
    ("get", f"{ORG}/policies/", None, (200, 200, 200, 404, 401, 200)),
    ("patch", f"{ORG}/policies/", {"require_staged": True}, (200, 403, 403, 404, 401, 403)),
    ("get", f"{ORG}/compliance/", None, (200, 200, 403, 404, 401, 200)),
    ("get", f"{ORG}/events/", None, (200, 200, 200, 404, 401, 200)),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "persona", "expected"),
    [
        pytest.param(method, path, body, persona, status, id=f"{method} {path} {persona}")
        for method, path, body, statuses in ENDPOINTS
        for persona, status in zip(PERSONAS, statuses, strict=True)
    ],
)
def test_access_matrix(send, invitation, method, path, body, persona, expected):
    path = path.format(invitation=invitation.pk)
    response = send(method, path, persona, body)
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response.json()["error"]


def test_an_outsider_cannot_tell_an_org_from_a_missing_one(client, tokens):
    hidden = call(client, "get", f"{ORG}/members/", tokens["outsider"])
    missing = call(client, "get", "/orgs/nosuchorg/members/", tokens["outsider"])
    assert hidden.status_code == missing.status_code == 404
    assert "is not an organization you belong to" in hidden.json()["error"]


def test_anonymous_is_told_to_send_a_token(client, acme):
    response = call(client, "get", "/orgs/")
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["error"]
    assert "WWW-Authenticate" not in response


def test_a_token_that_is_not_ours_is_401(client, acme):
    response = call(client, "get", "/orgs/", "gth_nosuchtoken")
    assert response.status_code == 401
    assert response.json()["error"]


# Orgs ------------------------------------------------------------------------------------


def test_create_org_makes_you_its_owner_with_a_developers_team(client, alice, alice_token):
    """A person with no second factor may create an org (a new scope, no one's rules)."""
    response = call(client, "post", "/orgs/", alice_token, {"name": "newco", "description": "N"})
    assert response.status_code == 201, response.json()
    assert response.json()["name"] == "newco" and response.json()["role"] == "owner"
    assert response.json()["policies"]["publishing_access"] == "any"
    teams = call(client, "get", "/orgs/newco/teams/", alice_token).json()
    assert [(t["name"], t["members"]) for t in teams] == [("developers", ["alice"])]
    mine = call(client, "get", "/orgs/", alice_token).json()
    assert mine == [{"name": "newco", "description": "N", "role": "owner"}]
    assert SecurityEvent.objects.filter(action="org:create", org__name="newco").exists()


def test_org_named_like_an_existing_user_is_a_conflict(client, alice_token, bob):
    response = call(client, "post", "/orgs/", alice_token, {"name": "bob"})
    assert response.status_code == 409
    assert "taken" in response.json()["error"]


def test_org_named_like_an_existing_org_is_a_conflict(client, acme, bob_token):
    response = call(client, "post", "/orgs/", bob_token, {"name": "@acme"})
    assert response.status_code == 409
    assert "taken" in response.json()["error"]


def test_org_name_that_is_no_scope_says_what_to_fix(client, alice_token):
    response = call(client, "post", "/orgs/", alice_token, {"name": "Acme Corp"})
    assert response.status_code == 400
    assert "lowercase letters" in response.json()["error"]


def test_read_only_token_cannot_create_an_org(client, alice):
    response = call(client, "post", "/orgs/", readonly_token(alice), {"name": "newco"})
    assert response.status_code == 403
    assert "read-only" in response.json()["error"]


def test_org_detail_has_policies_and_your_role(client, tokens):
    body = call(client, "get", f"{ORG}/", tokens["member"]).json()
    assert body["role"] == "member"
    assert body["policies"] == {
        "require_2fa": False,
        "require_staged": False,
        "approvals_required": 1,
        "exclude_stager": False,
        "publishing_access": "any",
        "allow_remote": True,
        "allow_git": True,
        "allow_file": True,
        "allow_directory": True,
        "max_token_days": None,
    }


# Validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "says"),
    [
        ("post", "/orgs/", {}, "name: This field is required."),
        ("post", "/orgs/", ["acme"], "Expected a dictionary"),
        (
            "put",
            f"{ORG}/members/erin/",
            {"role": "boss"},
            'role: "boss" is not allowed: use owner, admin, member.',
        ),
        ("post", f"{ORG}/invitations/", {"role": "member"}, "Send either a username"),
        (
            "post",
            f"{ORG}/invitations/",
            {"username": "dave", "email": "d@example.com"},
            "Send either",
        ),
        ("post", f"{ORG}/invitations/", {"email": "not-an-address"}, "email: Enter a valid email"),
        ("post", f"{ORG}/teams/", {"name": ""}, "name: This field may not be blank."),
        ("post", f"{ORG}/teams/", {"name": "Q A"}, "cannot be a team name"),
        (
            "put",
            f"{ORG}/teams/core/packages/{WIDGET}/",
            {"permission": "admin"},
            "use read-only, read-write",
        ),
        (
            "patch",
            f"{ORG}/policies/",
            {"approvals_required": 11},
            "approvals_required: Ensure this value is less than or equal to 10.",
        ),
        ("patch", f"{ORG}/policies/", {"max_token_days": 0}, "max_token_days:"),
        (
            "patch",
            f"{ORG}/policies/",
            {"require_staged": "maybe"},
            "require_staged: Must be a valid boolean.",
        ),
        (
            "patch",
            f"{ORG}/policies/",
            {"publishing_access": "all"},
            "use any, second-factor, stage-automation",
        ),
        ("patch", f"{ORG}/policies/", {"require_stage": True}, "Unknown policy: require_stage."),
        ("get", f"{ORG}/events/?before=x", None, "before: A valid integer is required."),
    ],
)
def test_invalid_input_is_400_saying_what_to_fix(send, method, path, body, says):
    response = send(method, path, "owner", body)
    assert response.status_code == 400, response.content
    assert says in response.json()["error"]


def test_a_body_that_is_not_json_is_400(client, tokens):
    response = client.post(
        f"{API}/orgs/",
        data="{name",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {tokens['owner']}",
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


# Members ---------------------------------------------------------------------------------


def test_members_show_their_2fa_status_to_owners_and_admins_only(client, tokens):
    for persona in ("owner", "admin"):
        members = call(client, "get", f"{ORG}/members/", tokens[persona]).json()
        assert {m["username"]: m["two_factor"] for m in members} == {
            "alice": True,
            "bob": True,
            "carol": False,
            "erin": False,
        }
    members = call(client, "get", f"{ORG}/members/", tokens["member"]).json()
    assert {m["username"]: m["role"] for m in members} == {
        "alice": "owner",
        "bob": "admin",
        "carol": "member",
        "erin": "member",
    }
    assert {m["two_factor"] for m in members} == {None}


def test_role_change_is_recorded(send, erin):
    response = send("put", f"{ORG}/members/erin/", "owner", {"role": "admin"})
    assert response.json()["role"] == "admin"
    event = SecurityEvent.objects.get(action="org:role-change")
    assert event.user == erin and event.details == {"from": "member", "to": "admin"}


def test_admins_cannot_make_or_remove_owners_even_with_a_code(send):
    assert send("put", f"{ORG}/members/erin/", "admin", {"role": "owner"}).status_code == 403
    assert send("delete", f"{ORG}/members/alice/", "admin").status_code == 403
    response = send("post", f"{ORG}/invitations/", "admin", {"username": "dave", "role": "owner"})
    assert response.status_code == 403
    assert "Only an owner" in response.json()["error"]


def test_the_last_owner_can_neither_step_down_nor_leave(send):
    demoted = send("put", f"{ORG}/members/alice/", "owner", {"role": "admin"})
    assert demoted.status_code == 409
    assert "last owner" in demoted.json()["error"]
    left = send("delete", f"{ORG}/members/alice/", "owner")
    assert left.status_code == 409
    assert "Make someone else an owner first" in left.json()["error"]


def test_with_a_second_owner_the_first_may_step_down(send):
    assert send("put", f"{ORG}/members/erin/", "owner", {"role": "owner"}).status_code == 200
    response = send("put", f"{ORG}/members/alice/", "owner", {"role": "admin"})
    assert response.status_code == 200 and response.json()["role"] == "admin"


def test_a_removed_member_leaves_every_team(send, acme):
    assert send("delete", f"{ORG}/members/carol/", "admin").status_code == 204
    teams = send("get", f"{ORG}/teams/", "owner").json()
    assert all("carol" not in team["members"] for team in teams)
    assert send("get", f"{ORG}/", "member").status_code == 404
    assert send("delete", f"{ORG}/members/carol/", "admin").status_code == 404


def test_a_removed_member_can_no_longer_write_the_packages_they_published(
    client, send, bob_token, alice_token
):
    assert publish(client, bob_token, "@acme/gadget").status_code == 201
    assert send("delete", f"{ORG}/members/bob/", "owner").status_code == 204
    assert publish(client, bob_token, "@acme/gadget", "1.0.1").status_code == 404
    packument = client.get("/@acme/gadget", HTTP_AUTHORIZATION=f"Bearer {alice_token}").json()
    assert packument["maintainers"] == []


# The second factor -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("put", f"{ORG}/members/erin/", {"role": "admin"}),
        ("delete", f"{ORG}/members/erin/", None),
        ("post", f"{ORG}/invitations/", {"email": "frank@example.com"}),
        ("post", f"{ORG}/teams/", {"name": "qa"}),
        ("put", f"{ORG}/teams/core/packages/{WIDGET}/", {"permission": "read-write"}),
        ("patch", f"{ORG}/policies/", {"require_2fa": True}),
        ("post", "/orgs/", {"name": "newco"}),
    ],
)
def test_changes_need_the_second_factor_of_a_person_who_has_one(
    client, tokens, alice_codes, method, path, body
):
    asked = call(client, method, path, tokens["owner"], body)
    assert asked.status_code == 401, asked.content
    assert asked["WWW-Authenticate"] == "OTP"
    assert "one-time password" in asked.json()["error"]
    done = call(client, method, path, tokens["owner"], body, otp=alice_codes())
    assert done.status_code in (200, 201, 204), done.content


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("put", f"{ORG}/members/carol/", {"role": "admin"}),
        ("delete", f"{ORG}/members/carol/", None),
        ("post", f"{ORG}/invitations/", {"email": "frank@example.com"}),
        ("delete", f"{ORG}/invitations/{{invitation}}/", None),
        ("post", f"{ORG}/teams/", {"name": "qa"}),
        ("delete", f"{ORG}/teams/core/", None),
        ("put", f"{ORG}/teams/core/members/erin/", None),
        ("put", f"{ORG}/teams/core/packages/{WIDGET}/", {"permission": "read-write"}),
        ("delete", f"{ORG}/teams/core/packages/{WIDGET}/", None),
        ("patch", f"{ORG}/policies/", {"require_staged": True}),
    ],
)
def test_changes_by_an_owner_are_refused_without_a_second_factor(
    client, acme, owner, invitation, erin, method, path, body
):
    """erin, made an owner, holds no second factor: her role alone changes nothing."""
    member_role_set(actor=owner, org=acme, username="erin", role=Membership.Role.OWNER)
    erin_token, events = issue_token(erin), SecurityEvent.objects.count()

    response = call(client, method, path.format(invitation=invitation.pk), erin_token, body)

    assert response.status_code == 403, response.content
    assert "you need a second factor" in response.json()["error"]
    assert "/account/security/" in response.json()["error"]
    assert SecurityEvent.objects.count() == events


def test_a_wrong_code_is_refused(client, tokens):
    response = call(
        client, "put", f"{ORG}/members/erin/", tokens["owner"], {"role": "admin"}, otp="000000"
    )
    assert response.status_code == 401 and response["WWW-Authenticate"] == "OTP"
    assert Membership.objects.get(user__username="erin").role == "member"


def test_reads_need_no_second_factor(client, tokens):
    for path in ("/orgs/", f"{ORG}/", f"{ORG}/members/", f"{ORG}/compliance/", f"{ORG}/events/"):
        assert call(client, "get", path, tokens["owner"]).status_code == 200


def test_invalid_input_is_refused_before_the_second_factor_is_asked(client, tokens):
    response = call(client, "put", f"{ORG}/members/erin/", tokens["owner"], {"role": "boss"})
    assert response.status_code == 400


# Invitations ------------------------------------------------------------------------------


def test_invitation_by_username_is_listed_and_mailed(
    client, send, tokens, dave, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = send("post", f"{ORG}/invitations/", "admin", {"username": "dave"})
    assert response.status_code == 201
    assert response.json()["username"] == "dave" and response.json()["role"] == "member"
    listed = call(client, "get", f"{ORG}/invitations/", tokens["owner"]).json()
    assert [i["username"] for i in listed] == ["dave"]
    assert [m.to for m in mail.outbox if "invited you to @acme" in m.subject] == [
        ["dave@example.com"]
    ]


def test_invitation_by_email_sends_a_link_whose_secret_is_stored_hashed(
    send, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = send(
            "post", f"{ORG}/invitations/", "owner", {"email": "frank@example.com", "role": "admin"}
        )
    assert response.status_code == 201
    (message,) = [m for m in mail.outbox if "invited you to @acme" in m.subject]
    assert message.to == ["frank@example.com"]
    link = re.search(r"https?://\S+\?key=(\w+)", message.body)
    assert link, message.body
    key = link.group(1)
    invitation = Invitation.objects.get(pk=response.json()["id"])
    assert invitation.pk.hex in link.group(0)
    assert invitation.token_hash == secret_hash(key)
    assert key not in json.dumps(response.json())
    stored = [
        str(value) for value in Invitation.objects.filter(pk=invitation.pk).values().get().values()
    ]
    assert not any(key in value for value in stored)


def test_inviting_someone_unknown_or_already_in_says_what_to_do(send):
    unknown = send("post", f"{ORG}/invitations/", "owner", {"username": "zed"})
    assert unknown.status_code == 404 and "by email instead" in unknown.json()["error"]
    member = send("post", f"{ORG}/invitations/", "owner", {"username": "carol"})
    assert member.status_code == 409 and "already a member" in member.json()["error"]


def test_revoked_invitation_is_gone(send, invitation):
    path = f"{ORG}/invitations/{invitation.pk}/"
    assert send("delete", path, "owner").status_code == 204
    assert send("get", f"{ORG}/invitations/", "owner").json() == []
    again = send("delete", path, "owner")
    assert again.status_code == 404 and "no open invitation" in again.json()["error"]
    assert SecurityEvent.objects.filter(action="org:invite-revoke").count() == 1


# Teams -----------------------------------------------------------------------------------


def test_teams_are_created_filled_and_removed(send):
    created = send("post", f"{ORG}/teams/", "admin", {"name": "QA", "description": "Q"})
    assert created.status_code == 201 and created.json()["name"] == "qa"
    duplicate = send("post", f"{ORG}/teams/", "admin", {"name": "qa"})
    assert duplicate.status_code == 409
    added = send("put", f"{ORG}/teams/qa/members/erin/", "admin")
    assert added.status_code == 200 and added.json()["members"] == ["erin"]
    outsider = send("put", f"{ORG}/teams/qa/members/dave/", "admin")
    assert outsider.status_code == 404 and "not a member of @acme" in outsider.json()["error"]
    assert send("delete", f"{ORG}/teams/qa/members/erin/", "admin").status_code == 204
    assert send("delete", f"{ORG}/teams/qa/members/erin/", "admin").status_code == 404
    assert send("delete", f"{ORG}/teams/qa/", "admin").status_code == 204
    assert send("get", f"{ORG}/teams/qa/", "admin").status_code == 404


def test_a_team_name_longer_than_100_characters_is_refused(acme, owner):
    with pytest.raises(InvalidAccountData, match="at most 100 characters"):
        team_create(actor=owner, org=acme, name="t" * 101)


def test_the_developers_team_cannot_be_removed(send):
    response = send("delete", f"{ORG}/teams/developers/", "owner")
    assert response.status_code == 409
    assert "holds every member" in response.json()["error"]


def test_team_grants_on_scoped_packages(send):
    listed = send("get", f"{ORG}/teams/core/packages/", "member").json()
    assert listed == [{"package": WIDGET, "permission": "read-only"}]
    path = f"{ORG}/teams/core/packages/{WIDGET}/"
    granted = send("put", path, "admin", {"permission": "read-write"})
    assert granted.json() == {"package": WIDGET, "permission": "read-write"}
    listed = send("get", f"{ORG}/teams/core/packages/", "member").json()
    assert listed == [{"package": WIDGET, "permission": "read-write"}]
    assert send("delete", path, "admin").status_code == 204
    assert send("get", f"{ORG}/teams/core/packages/", "member").json() == []
    assert send("delete", path, "admin").status_code == 404


def test_only_the_orgs_own_packages_can_be_granted(client, send, bob_token):
    assert publish(client, bob_token, "lonely").status_code == 201
    for name in ("lonely", "@acme/missing"):
        path = f"{ORG}/teams/core/packages/{name}/"
        response = send("put", path, "owner", {"permission": "read-only"})
        assert response.status_code == 404
        assert "only its own packages" in response.json()["error"]


def test_org_packages_show_their_effective_policy(send):
    assert send("patch", f"{ORG}/policies/", "owner", {"require_staged": True}).status_code == 200
    (package,) = send("get", f"{ORG}/packages/", "member").json()
    assert package["name"] == WIDGET and package["latest_version"] == "1.0.0"
    assert package["policy"]["require_staged"] is True


# Policies -----------------------------------------------------------------------------


def test_policy_change_is_recorded_and_emailed_to_every_owner(
    send, erin, django_capture_on_commit_callbacks
):
    assert send("put", f"{ORG}/members/erin/", "owner", {"role": "owner"}).status_code == 200
    body = {"require_staged": True, "approvals_required": 2, "max_token_days": 30}
    with django_capture_on_commit_callbacks(execute=True):
        response = send("patch", f"{ORG}/policies/", "owner", body)
    assert response.status_code == 200
    assert {k: response.json()[k] for k in body} == body
    policy_mails = [m for m in mail.outbox if "the policies of @acme changed" in m.subject]
    assert sorted(m.to[0] for m in policy_mails) == ["alice@example.com", "erin@example.com"]
    assert "require_staged: False → True" in policy_mails[0].body
    events = send("get", f"{ORG}/events/", "member").json()
    assert events[0]["action"] == "org:policy-change" and events[0]["actor"] == "alice"
    assert events[0]["details"]["approvals_required"] == {"from": 1, "to": 2}


def test_unchanged_policies_record_nothing(send):
    response = send("patch", f"{ORG}/policies/", "owner", {"require_staged": False})
    assert response.status_code == 200
    assert not SecurityEvent.objects.filter(action="org:policy-change").exists()


def test_requiring_2fa_is_refused_without_a_second_factor(client, send, acme, owner, erin):
    member_role_set(actor=owner, org=acme, username="erin", role=Membership.Role.OWNER)

    refused = call(client, "patch", f"{ORG}/policies/", issue_token(erin), {"require_2fa": True})
    assert refused.status_code == 403
    assert "you need a second factor" in refused.json()["error"]
    acme.refresh_from_db()
    assert not acme.require_2fa

    required = send("patch", f"{ORG}/policies/", "owner", {"require_2fa": True})
    assert required.status_code == 200 and required.json()["require_2fa"] is True


# Compliance and history ---------------------------------------------------------------


def test_compliance_lists_what_admins_should_look_at(client, tokens):
    body = call(client, "get", f"{ORG}/compliance/", tokens["admin"]).json()
    assert body["members_without_2fa"] == ["carol", "erin"]
    assert body["loose_packages"] == [
        {
            "package": WIDGET,
            "reasons": [
                "releases are not staged",
                "publishing without a second factor is allowed",
            ],
        }
    ]
    # Writers: owners, admins, and the developers team, which may write every new package.
    assert {token["owner"] for token in body["tokens"]} == {"alice", "bob", "carol"}


def test_compliance_leaves_out_tokens_that_cannot_write(client, tokens, alice, bob):
    Token.objects.filter(user=bob).update(expires_at=timezone.now() - timedelta(days=1))
    Token.objects.filter(user=alice).update(readonly=True)
    body = call(client, "get", f"{ORG}/compliance/", readonly_token(alice)).json()
    assert {token["owner"] for token in body["tokens"]} == {"carol"}


def test_an_outsider_is_refused_as_a_maintainer_of_an_org_package(acme, owner, dave, erin):
    """Even the owner, with a fresh second factor, adds only members of the org."""
    with pytest.raises(PermissionDenied, match="dave is not a member of @acme"):
        maintainers_set(
            actor=owner, name=WIDGET, rev=None, maintainers=[{"name": "alice"}, {"name": "dave"}]
        )

    maintainers_set(
        actor=owner, name=WIDGET, rev=None, maintainers=[{"name": "alice"}, {"name": "erin"}]
    )
    maintainers = Maintainer.objects.filter(package__name=WIDGET)
    assert sorted(maintainers.values_list("user__username", flat=True)) == ["alice", "erin"]


def test_compliance_counts_maintainers_outside_the_org_as_writers(client, tokens, dave):
    # No service makes an outsider a maintainer of an org's package any more; a row from
    # before that rule still makes its holder a writer, and compliance says so.
    Maintainer.objects.create(package=Package.objects.get(name=WIDGET), user=dave)
    body = call(client, "get", f"{ORG}/compliance/", tokens["owner"]).json()
    (daves,) = [token for token in body["tokens"] if token["owner"] == "dave"]
    assert daves["reasons"] == ["lives longer than 90 days", "its owner has no second factor"]


def test_events_are_newest_first_and_paged(client, tokens):
    events = call(client, "get", f"{ORG}/events/", tokens["owner"]).json()
    assert events[-1]["action"] == "org:create"
    assert [e["id"] for e in events] == sorted((e["id"] for e in events), reverse=True)
    older = call(client, "get", f"{ORG}/events/?before={events[1]['id']}", tokens["owner"]).json()
    assert [e["id"] for e in older] == [e["id"] for e in events[2:]]
    grant = next(e for e in events if e["action"] == "org:grant")
    assert grant["package"] == WIDGET and grant["details"]["team"] == "core"
