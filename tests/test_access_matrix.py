"""The access matrix: every URL and API route, every persona, what each one gets.

The world: @acme is owned by alice, grace is its admin, dave a plain member, erin is in
the team readers (read-only on @acme/lib), frank in the team writers (read-write on
@acme/lib); carol is an outsider. @acme/lib is restricted, has 1.0.0 published and 1.1.0
staged; `pub` is alice's public unscoped package. alice, the owner, holds an authenticator
app in auth-only mode (an org's owner governs with one); nobody else has a second factor.
Her token sends no code, so where one is due she gets npm's OTP prompt (401); her portal
session passed her second factor as signing in does. tests/test_governance_matrix.py
sends the codes.

Each row is `(method, path, body, {persona: expected})`. Registry, npm account and REST
API rows are sent with each person's login token (`alice-ro`: a read-only token of
alice's); portal rows with a session fresh from signing in (sudo mode on). Every cell is
sent in a savepoint that is rolled back, so each one starts from the same world: rows
may unpublish, remove or destroy as they like, in any order.

A portal page refuses in its own way, so its cells also say how a redirect ended: LOGIN
(to the sign-in page), REFUSED (back with an error message: the portal's 403) or DONE
(on, with a success message). A bare 302 is any other redirect.

Beyond statuses, no 2xx answer may name the restricted package to someone who cannot
read it, nor the staged release to someone who cannot review it (`HIDDEN`).

A cell that is wrong today is a `Bug(gets, should, why)`: the row pins what it gets and
is reported as xfail; when the bug is fixed the row fails until `should` replaces it.

A new route fails `test_every_route_is_in_the_matrix` until it has a row.
"""

import json
import time
from http.cookies import SimpleCookie
from typing import NamedTuple

import pytest
from django.core import signing
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import get_resolver, resolve, reverse

from accounts import sudo
from accounts.actors import Actor
from accounts.models import Token, User
from accounts.second_factor import otp_challenge_create
from accounts.secrets import secret_hash
from accounts.services.email_verification import SALT as EMAIL_SALT
from accounts.services.web_login import web_login_start
from registry.models import Packument
from registry.orgs import services as orgs
from registry.orgs.models import Membership, Org, Team
from registry.orgs.team_grants import team_grant_remove, team_grant_set
from tests.accounts.factors import enroll_app
from tests.conftest import PASSWORD, issue_token, make_user
from tests.packages import publish_body
from tests.registry.helpers import publish, write
from tests.worlds import world_built_once

pytestmark = pytest.mark.django_db

Role = Membership.Role

# Who asks. Registry and API rows have a column per token; portal rows one per session.
TOKEN_PERSONAS = ("anonymous", "carol", "dave", "erin", "frank", "grace", "alice", "alice-ro")
PAGE_PERSONAS = TOKEN_PERSONAS[:-1]

LOGIN = "login"  # 302 to the sign-in page
REFUSED = "refused"  # 302 back with an error message
DONE = "done"  # 302 on, with a success (or info) message


class Bug(NamedTuple):
    """A cell that is wrong today: what it gets, what it should get, and why."""

    gets: int | str
    should: int | str
    why: str


class Row(NamedTuple):
    method: str
    path: str
    body: object
    expected: dict[str, int | str | Bug]

    @property
    def portal(self) -> bool:
        return "alice-ro" not in self.expected

    @property
    def id(self) -> str:
        """`PUT /pub (publish)`: the body's keys tell apart what npm sends to one URL."""
        if isinstance(self.body, dict) and self.body:
            what = "publish" if "_attachments" in self.body else ",".join(self.body)
            return f"{self.method} {self.path} ({what})"
        return f"{self.method} {self.path}"


class Json(dict):
    """A portal request whose body is JSON (the security-key ceremonies), not a form."""


def api(method: str, path: str, body, *cells) -> Row:
    return Row(method, path, body, dict(zip(TOKEN_PERSONAS, cells, strict=True)))


def page(method: str, path: str, body, *cells) -> Row:
    return Row(method, path, body, dict(zip(PAGE_PERSONAS, cells, strict=True)))


def every(status, personas=TOKEN_PERSONAS) -> tuple:
    return (status,) * len(personas)


# Cells that many rows share. Portal columns end with alice: sessions have no read-only kind.
# fmt: off
#                   anon   carol dave     erin     frank    grace    alice  alice-ro
LIB_READERS      = (404,   404,  404,     200,     200,     200,     200,   200)  # erin reads too
LIB_WRITERS      = (404,   404,  404,     403,     200,     200,     200,   403)
LIB_CREATED      = (404,   404,  404,     403,     201,     201,     201,   403)
LIB_REVIEWERS    = (401,   404,  404,     404,     200,     200,     200,   200)  # writers review
ORG_READERS      = (404,   404,  200,     200,     200,     200,     200,   200)  # npm: "no such org"
# Governance: grace has no second factor, alice's token carries no code (npm's OTP prompt).
LIB_GOVERNED     = (404,   404,  404,     403,     403,     403,     401,   403)
ORG_GOVERNED     = (404,   404,  403,     403,     403,     403,     401,   403)
LOGGED_IN        = (401,   200,  200,     200,     200,     200,     200,   200)
REST_READERS     = (401,   404,  200,     200,     200,     200,     200,   200)  # no token: 401 first
REST_GOVERNED    = (401,   404,  403,     403,     403,     403,     401,   403)
REST_ADMIN_READS = (401,   404,  403,     403,     403,     200,     200,   200)  # reads: read-only ok
SIGNED_IN        = (LOGIN, 200,  200,     200,     200,     200,     200)
ORG_PAGE         = (LOGIN, 404,  200,     200,     200,     200,     200)
ORG_CHANGE       = (LOGIN, 404,  REFUSED, REFUSED, REFUSED, REFUSED, DONE)
LIB_PAGE_WRITERS = (LOGIN, 404,  404,     404,     200,     200,     200)
# fmt: on


PUBLISH_LIB = publish_body("@acme/lib", "1.2.0")
PACKAGE_SETTINGS = {"access": "restricted", "mfa": "none", "approvals_required": "1"}
ORG_POLICIES = {
    "approvals_required": "1",
    "publishing_access": Org.PublishingAccess.ANY,
    "allow_remote": "on",
    "allow_git": "on",
    "allow_file": "on",
    "allow_directory": "on",
}
LOGS_IN_AS_ALICE = {"name": "alice", "password": PASSWORD}

# fmt: off
ROWS = [
    # The registry protocol: reads ---------------------------------------------------------
    #                                                        anon carol dave erin frank grace alice ro
    api("GET",    "/-/ping", None,                           *every(200)),
    api("GET",    "/-/whoami", None,                         *LOGGED_IN),
    api("GET",    "/-/v1/search?text=lib", None,             *every(200)),
    api("GET",    '/-/_view/starredByUser?key="alice"', None, *every(200)),
    api("POST",   "/-/npm/v1/security/advisories/bulk", None, *every(200)),
    api("GET",    "/pub", None,                              *every(200)),
    api("GET",    "/pub/-/pub-1.0.0.tgz", None,              *every(200)),
    api("GET",    "/@acme/lib", None,                        *LIB_READERS),
    api("GET",    "/@acme/lib/-/lib-1.0.0.tgz", None,        *LIB_READERS),
    api("GET",    "/-/package/@acme/lib/visibility", None,   *LIB_READERS),
    api("GET",    "/-/package/@acme/lib/dist-tags", None,    *LIB_READERS),
    api("GET",    "/-/package/@acme/lib/collaborators", None, *LIB_READERS),
    api("GET",    "/-/package/pub/collaborators", None,      *every(200)),
    api("GET",    "/-/user/alice/package", None,             *every(200)),
    # The registry protocol: writes to packages -------------------------------------------
    api("PUT",    "/@acme/lib", PUBLISH_LIB,                 *LIB_CREATED),
    api("PUT",    "/pub", publish_body("pub", "1.1.0"),      401, 403, 403, 403, 403, 403, 201, 403),
    api("PUT",    "/newpkg", publish_body("newpkg"),         401, 201, 201, 201, 201, 201, 201, 403),
    api("PUT",    "/@acme/new", publish_body("@acme/new"),   401, 403, 201, 201, 201, 201, 201, 403),
    api("PUT",    "/@acme/lib", {"_rev": "{rev}", "versions": {"1.0.0": {"deprecated": "old"}}},
                                                             *LIB_WRITERS),
    api("PUT",    "/@acme/lib", {"users": {}},               404, 404, 404, 200, 200, 200, 200, 403),
    api("PUT",    "/pub", {"users": {}},                     401, 200, 200, 200, 200, 200, 200, 403),
    # Owners and settings are governance: org owners and admins, with a second factor.
    api("PUT",    "/@acme/lib/-rev/{rev}", {"maintainers": [{"name": "alice"}, {"name": "dave"}]},
                                                             *LIB_GOVERNED),
    api("PUT",    "/@acme/lib/-rev/{rev}", {"versions": {}}, *LIB_WRITERS),
    api("DELETE", "/@acme/lib/-rev/{rev}", None,             *LIB_WRITERS),
    api("DELETE", "/@acme/lib/-/lib-9.9.9.tgz/-rev/{rev}", None, *LIB_WRITERS),
    api("PUT",    "/-/package/@acme/lib/dist-tags/latest", "1.0.0", *LIB_WRITERS),
    api("DELETE", "/-/package/@acme/lib/dist-tags/next", None, *LIB_WRITERS),
    api("PUT",    "/-/package/pub/dist-tags/latest", "1.0.0", 401, 403, 403, 403, 403, 403, 200, 403),
    api("POST",   "/-/package/@acme/lib/access", {"access": "public"}, *LIB_GOVERNED),
    # Staged releases ----------------------------------------------------------------------
    api("POST",   "/-/stage/package/@acme/lib", PUBLISH_LIB, *LIB_CREATED),
    api("POST",   "/-/stage/package/newpkg", publish_body("newpkg"),
                                                             401, 201, 201, 201, 201, 201, 201, 403),
    api("GET",    "/-/stage", None,                          *LOGGED_IN),
    api("GET",    "/-/stage/{stage}", None,                  *LIB_REVIEWERS),
    api("GET",    "/-/stage/{stage}/tarball", None,          *LIB_REVIEWERS),
    api("GET",    "/-/stage/{stage}/status", None,           *LIB_REVIEWERS),
    # Deciding needs a second factor: 403 says "add one"; alice is asked for hers.
    api("POST",   "/-/stage/{stage}/approve", None,          401, 404, 404, 404, 403, 403, 401, 403),
    api("DELETE", "/-/stage/{stage}", None,                  401, 404, 404, 404, 403, 403, 401, 403),
    # npm org, team and access -------------------------------------------------------------
    api("GET",    "/-/org/acme/user", None,                  *ORG_READERS),
    # dave is a developer already: nothing changes, so there is nothing to prove.
    api("PUT",    "/-/org/acme/user", {"user": "dave", "role": "developer"},
                                                             404, 404, 403, 403, 403, 403, 200, 403),
    api("DELETE", "/-/org/acme/user", {"user": "dave"},      *ORG_GOVERNED),
    api("GET",    "/-/org/acme/team", None,                  *ORG_READERS),
    api("PUT",    "/-/org/acme/team", {"name": "matrix"},    *ORG_GOVERNED),
    api("GET",    "/-/org/acme/package", None,               *ORG_READERS),
    api("DELETE", "/-/team/acme/writers", None,              *ORG_GOVERNED),
    api("GET",    "/-/team/acme/writers/user", None,         *ORG_READERS),
    api("PUT",    "/-/team/acme/writers/user", {"user": "frank"}, *ORG_GOVERNED),
    api("DELETE", "/-/team/acme/writers/user", {"user": "frank"}, *ORG_GOVERNED),
    api("GET",    "/-/team/acme/readers/package", None,      *ORG_READERS),
    api("PUT",    "/-/team/acme/readers/package", {"package": "@acme/lib", "permissions": "read-only"},
                                                             *ORG_GOVERNED),
    api("DELETE", "/-/team/acme/readers/package", {"package": "@acme/lib"}, *ORG_GOVERNED),
    # npm account endpoints ----------------------------------------------------------------
    # Logins ignore credentials: the body (or the secret in the URL) is what counts.
    api("POST",   "/-/v1/login", {},                         *every(200)),
    api("GET",    "/-/v1/done?sessionId={done}", None,       *every(202)),
    api("GET",    "/-/v1/otp/{otp}", None,                   *every(202)),
    # `npm owner add` reads {name, email} here without credentials (npm-protocol §9).
    api("GET",    "/-/user/org.couchdb.user:alice", None,    *every(200)),
    # alice holds a second factor: her password alone never signs in.
    api("PUT",    "/-/user/org.couchdb.user:alice", LOGS_IN_AS_ALICE, *every(401)),
    # The retry after a 409 takes alice's Basic credentials, never a token.
    api("PUT",    "/-/user/org.couchdb.user:alice/-rev/1-0", LOGS_IN_AS_ALICE, *every(401)),
    api("DELETE", "/-/user/token/{spare_token}", None,       *every(200)),
    api("GET",    "/-/npm/v1/user", None,                    *LOGGED_IN),
    api("POST",   "/-/npm/v1/user", {"fullname": "Matrix"},  401, 200, 200, 200, 200, 200, 401,
                                                             403),
    api("GET",    "/-/npm/v1/tokens", None,                  *LOGGED_IN),
    # alice's own token; nobody else's.
    api("DELETE", "/-/npm/v1/tokens/token/{spare_key}", None, 401, 404, 404, 404, 404, 404, 401,
                                                             403),
    # The REST API -------------------------------------------------------------------------
    api("GET",    "/api/v1/schema/", None,                   *every(200)),
    api("GET",    "/api/v1/orgs/", None,                     *LOGGED_IN),
    api("POST",   "/api/v1/orgs/", {"name": "matrix"},       401, 201, 201, 201, 201, 201, 401, 403),
    api("GET",    "/api/v1/orgs/acme/", None,                *REST_READERS),
    api("GET",    "/api/v1/orgs/acme/members/", None,        *REST_READERS),
    api("PUT",    "/api/v1/orgs/acme/members/dave/", {"role": "member"},  # no change
                                                             401, 404, 403, 403, 403, 403, 200, 403),
    api("DELETE", "/api/v1/orgs/acme/members/dave/", None,   *REST_GOVERNED),
    api("GET",    "/api/v1/orgs/acme/invitations/", None,    *REST_ADMIN_READS),
    api("POST",   "/api/v1/orgs/acme/invitations/", {"email": "new@example.com"}, *REST_GOVERNED),
    api("DELETE", "/api/v1/orgs/acme/invitations/{email_invitation}/", None, *REST_GOVERNED),
    api("GET",    "/api/v1/orgs/acme/teams/", None,          *REST_READERS),
    api("POST",   "/api/v1/orgs/acme/teams/", {"name": "matrix"}, *REST_GOVERNED),
    api("GET",    "/api/v1/orgs/acme/teams/writers/", None,  *REST_READERS),
    api("DELETE", "/api/v1/orgs/acme/teams/writers/", None,  *REST_GOVERNED),
    api("PUT",    "/api/v1/orgs/acme/teams/writers/members/dave/", None, *REST_GOVERNED),
    api("DELETE", "/api/v1/orgs/acme/teams/writers/members/frank/", None, *REST_GOVERNED),
    api("GET",    "/api/v1/orgs/acme/teams/readers/packages/", None, *REST_READERS),
    api("PUT",    "/api/v1/orgs/acme/teams/readers/packages/@acme/lib/", {"permission": "read-only"},
                                                             *REST_GOVERNED),
    api("DELETE", "/api/v1/orgs/acme/teams/readers/packages/@acme/lib/", None, *REST_GOVERNED),
    api("GET",    "/api/v1/orgs/acme/packages/", None,       *REST_READERS),
    api("GET",    "/api/v1/orgs/acme/policies/", None,       *REST_READERS),
    api("PATCH",  "/api/v1/orgs/acme/policies/", {"allow_git": True},
                                                             401, 404, 403, 403, 403, 403, 200, 403),
    api("GET",    "/api/v1/orgs/acme/compliance/", None,     *REST_ADMIN_READS),
    api("GET",    "/api/v1/orgs/acme/events/", None,         *REST_READERS),
    # Portal: signing in and the account ---------------------------------------------------
    #                                                        anon carol dave erin frank grace alice
    page("GET",   "/", None,                                 *every(200, PAGE_PERSONAS)),
    page("GET",   "/account/login/", None,                   *every(200, PAGE_PERSONAS)),
    page("POST",  "/account/login/", {"username": "alice", "password": PASSWORD},
                                                             *every(302, PAGE_PERSONAS)),
    # No password step is pending in these sessions: back to the sign-in page, with a message.
    page("GET",   "/account/login/verify/", None,            *every(REFUSED, PAGE_PERSONAS)),
    page("GET",   "/account/signup/", None,                  *every(200, PAGE_PERSONAS)),
    page("POST",  "/account/logout/", None,                  *every(DONE, PAGE_PERSONAS)),
    page("GET",   "/account/packages/", None,                *SIGNED_IN),
    page("GET",   "/account/cli-login/{login}/", None,       *SIGNED_IN),
    page("POST",  "/account/cli-login/{login}/", None,       *SIGNED_IN),
    page("GET",   "/account/settings/", None,                *SIGNED_IN),
    page("GET",   "/account/email/verify/{email_token}/", None, *every(200, PAGE_PERSONAS)),
    page("POST",  "/account/email/verify-again/", None,      LOGIN, *every(DONE, PAGE_PERSONAS[1:])),
    page("GET",   "/account/password/reset/", None,          *every(200, PAGE_PERSONAS)),
    page("GET",   "/account/password/reset/sent/", None,     *every(200, PAGE_PERSONAS)),
    page("GET",   "/account/password/reset/MQ/0-0/", None,   *every(200, PAGE_PERSONAS)),
    page("GET",   "/account/password/reset/done/", None,     *every(200, PAGE_PERSONAS)),
    page("GET",   "/account/security/", None,                *SIGNED_IN),
    page("GET",   "/account/security/app/", None,            *SIGNED_IN),
    page("GET",   "/account/security/keys/add/", None,       *SIGNED_IN),
    page("POST",  "/account/security/keys/register/begin/", None, *SIGNED_IN),
    page("POST",  "/account/security/keys/register/complete/", Json(),
                                                             LOGIN, *every(400, PAGE_PERSONAS[1:])),
    # Devices are looked up among the signed-in person's own; nobody here has one.
    page("GET",   "/account/security/keys/1/enrolled/", None, LOGIN, *every(404, PAGE_PERSONAS[1:])),
    page("POST",  "/account/security/enroll/confirm/", {"code": "x"},
                                                             LOGIN, *every(REFUSED, PAGE_PERSONAS[1:])),
    # alice's app; to everyone else it is missing.
    page("GET",   "/account/security/totp/{alice_app}/remove/", None,  LOGIN, *every(404, PAGE_PERSONAS[1:-1]),
                                                             200),
    # Recovery codes and the 2FA mode need a second factor: back to the security page.
    page("GET",   "/account/security/recovery-codes/", None, LOGIN, *every(302, PAGE_PERSONAS[1:-1]),
                                                             200),
    page("POST",  "/account/security/mode/", {"mode": "auth-only"},
                                                             LOGIN, *every(REFUSED, PAGE_PERSONAS[1:-1]),
                                                             DONE),
    page("GET",   "/account/sudo/", None,                    *SIGNED_IN),
    page("POST",  "/account/keys/assert/begin/", Json(purpose="passkey"), *every(200, PAGE_PERSONAS)),
    page("POST",  "/account/keys/assert/complete/", Json(purpose="passkey"),
                                                             *every(400, PAGE_PERSONAS)),
    # alice's approval of a CLI write (web OTP) is hers alone.
    page("GET",   "/account/approve/{challenge}/", None,     LOGIN, 404, 404, 404, 404, 404, 200),
    # Portal: organizations ----------------------------------------------------------------
    page("GET",   "/orgs/", None,                            *SIGNED_IN),
    page("GET",   "/orgs/new/", None,                        *SIGNED_IN),
    page("POST",  "/orgs/new/", {"name": "matrix"},          LOGIN, *every(DONE, PAGE_PERSONAS[1:])),
    page("GET",   "/orgs/acme/", None,                       *ORG_PAGE),
    page("GET",   "/orgs/acme/members/", None,               *ORG_PAGE),
    page("POST",  "/orgs/acme/members/invite/", {"invitee": "new@example.com", "role": "member"},
                                                             *ORG_CHANGE),
    page("POST",  "/orgs/acme/members/dave/role/", {"role": "member"}, *ORG_CHANGE),
    page("POST",  "/orgs/acme/members/dave/remove/", None,   *ORG_CHANGE),
    page("POST",  "/orgs/acme/invitations/{email_invitation}/revoke/", None, *ORG_CHANGE),
    page("GET",   "/orgs/acme/teams/", None,                 *ORG_PAGE),
    page("POST",  "/orgs/acme/teams/", {"name": "matrix"},   *ORG_CHANGE),
    page("GET",   "/orgs/acme/teams/writers/", None,         *ORG_PAGE),
    page("POST",  "/orgs/acme/teams/writers/members/add/", {"username": "dave"}, *ORG_CHANGE),
    page("POST",  "/orgs/acme/teams/writers/members/remove/", {"username": "frank"}, *ORG_CHANGE),
    page("POST",  "/orgs/acme/teams/readers/grants/set/", {"package": "@acme/lib", "permission": "read-only"},
                                                             *ORG_CHANGE),
    page("POST",  "/orgs/acme/teams/readers/grants/revoke/", {"package": "@acme/lib"}, *ORG_CHANGE),
    page("POST",  "/orgs/acme/teams/writers/destroy/", None, *ORG_CHANGE),
    page("GET",   "/orgs/acme/packages/", None,              *ORG_PAGE),
    page("GET",   "/orgs/acme/policies/", None,              LOGIN, 404, REFUSED, REFUSED, REFUSED, REFUSED, 200),
    page("POST",  "/orgs/acme/policies/", ORG_POLICIES,      LOGIN, 404, REFUSED, REFUSED, REFUSED, REFUSED, DONE),
    page("GET",   "/orgs/acme/compliance/", None,            LOGIN, 404, REFUSED, REFUSED, REFUSED, 200, 200),
    page("GET",   "/orgs/acme/history/", None,               *ORG_PAGE),
    # carol's invitation to @acme is hers alone, even to the owner who sent it.
    page("GET",   "/account/invitations/{invitation}/", None, LOGIN, 200, 404, 404, 404, 404, 404),
    # Portal: packages and staging ---------------------------------------------------------
    page("GET",   "/package/pub/", None,                     *every(200, PAGE_PERSONAS)),
    page("GET",   "/package/@acme/lib/", None,               404, 404, 404, 200, 200, 200, 200),
    page("GET",   "/package/@acme/lib/settings/", None,      *LIB_PAGE_WRITERS),
    # Shown again with the refusal: frank's team may write, not govern; grace has no factor.
    page("POST",  "/package/@acme/lib/settings/", PACKAGE_SETTINGS, LOGIN, 404, 404, 404, 200, 200, DONE),
    page("GET",   "/package/@acme/lib/history/", None,       *LIB_PAGE_WRITERS),
    page("GET",   "/staging/", None,                         *SIGNED_IN),
    page("GET",   "/staging/{stage}/", None,                 *LIB_PAGE_WRITERS),
    page("POST",  "/staging/{stage}/approve/", {"code": "123456"},
                                                             LOGIN, 404, 404, 404, REFUSED, REFUSED, REFUSED),
    page("POST",  "/staging/{stage}/reject/key/begin/", None, *LIB_PAGE_WRITERS),
    page("POST",  "/staging/{stage}/approve/key/complete/", Json(),
                                                             LOGIN, 404, 404, 404, 400, 400, 400),
]
# fmt: on

# Routes no row can reach. Keep this tiny, and say why for each.
EXEMPT_ROUTES: set[str] = set()

# What a 2xx answer must not show: @acme/lib to those who cannot read it, the staged
# release to those who cannot review it.
HIDDEN = {
    "anonymous": ("@acme/lib", "{stage}"),
    "carol": ("@acme/lib", "{stage}"),
    "dave": ("@acme/lib", "{stage}"),
    "erin": ("{stage}",),
}
LEAKS: dict[tuple[str, str], str] = {}  # none known


# The world ---------------------------------------------------------------------------------


def governing(user: User) -> Actor:
    """`user` in a portal session that has just passed their second factor."""
    return Actor(user=user, session_factor_at=time.time())


def _join(org: Org, owner: User, user: User, role: str = Role.MEMBER) -> None:
    invitation, _ = orgs.invitation_create(
        actor=governing(owner), org=org, username=user.username, role=role
    )
    orgs.invitation_accept(actor=Actor(user=user), invitation=invitation)


def _team(org: Org, owner: User, name: str, member: User, permission: str) -> Team:
    team = orgs.team_create(actor=governing(owner), org=org, name=name)
    orgs.team_member_add(actor=governing(owner), team=team, username=member.username)
    team_grant_set(
        actor=governing(owner), team=team, package_name="@acme/lib", permission=permission
    )
    return team


def _ok(response):
    assert response.status_code in (200, 201), response.content
    return response


def _token_key(secret: str) -> str:
    return str(Token.objects.get(token_hash=secret_hash(secret)).key)


def _build(http: Client) -> dict:
    users = {name: make_user(name) for name in PAGE_PERSONAS[1:]}
    alice = users["alice"]
    tokens = {name: issue_token(user) for name, user in users.items()}
    tokens["alice-ro"] = issue_token(alice)
    Token.objects.filter(token_hash=secret_hash(tokens["alice-ro"])).update(readonly=True)
    enroll_app(alice, mode=User.TwoFactorMode.AUTH_ONLY)  # an org's owner governs with one
    acme = orgs.org_create(actor=governing(alice), name="acme")
    _join(acme, alice, users["grace"], Role.ADMIN)
    for name in ("dave", "erin", "frank"):
        _join(acme, alice, users[name])
    _ok(publish(http, tokens["alice"], "@acme/lib", "1.0.0"))
    _ok(publish(http, tokens["alice"], "pub", "1.0.0"))
    # Every member is in developers, which a new org package grants read-write: not this one.
    developers = orgs.team_get(acme, "developers")
    team_grant_remove(actor=governing(alice), team=developers, package_name="@acme/lib")
    _team(acme, alice, "readers", users["erin"], "read-only")
    _team(acme, alice, "writers", users["frank"], "read-write")
    _ok(write(http, "put", "/-/package/@acme/lib/dist-tags/next", tokens["alice"], "1.0.0"))
    stage = publish_body("@acme/lib", "1.1.0")
    staged = _ok(write(http, "post", "/-/stage/package/@acme/lib", tokens["alice"], stage))
    to_carol, _ = orgs.invitation_create(actor=governing(alice), org=acme, username="carol")
    by_email, _ = orgs.invitation_create(actor=governing(alice), org=acme, email="x@example.com")
    login, done = web_login_start(actor=Actor.anonymous(), create_account=False)
    challenge, otp = otp_challenge_create(Actor(user=alice), "dist-tag:@acme/lib", {})
    spare = issue_token(alice)
    email_token = signing.dumps({"user": alice.pk, "email": alice.email}, salt=EMAIL_SALT)
    return {
        "users": users,
        "tokens": tokens,
        "values": {
            "rev": Packument.objects.get(package__name="@acme/lib").rev,
            "stage": staged.json()["id"],
            "invitation": to_carol.pk.hex,
            "email_invitation": str(by_email.pk),
            "login": str(login.pk),
            "done": done,
            "otp": otp,
            "challenge": challenge.pk.hex,
            "spare_token": spare,
            "spare_key": _token_key(spare),
            "email_token": email_token,
            "alice_app": str(alice.totpdevice_set.get().pk),
        },
    }


@pytest.fixture(scope="module")
def http() -> Client:
    """One client for every request here: a new one loads the middleware again, and
    whitenoise's scan of the static files would be most of this module's run time."""
    return Client()


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, http, tmp_path_factory):
    """Built once, in a transaction rolled back after the module's last test; each test
    runs in a savepoint inside it, and each cell in a savepoint of its own."""
    with world_built_once(django_db_blocker, tmp_path_factory) as storages:
        yield {**_build(http), "storages": storages}


@pytest.fixture(autouse=True)
def _world_tarballs(settings, world):
    """tests/conftest.py gives each test a tarball folder; the world's are elsewhere."""
    settings.STORAGES = world["storages"]


# Sending a row -----------------------------------------------------------------------------


class Answer(NamedTuple):
    outcome: int | str
    shows_hidden: bool


def _filled(value, values: dict):
    """`value` with the world's {placeholders} filled in, in strings, lists and dicts."""
    if isinstance(value, str):
        return value.format_map(values) if "{" in value else value
    if isinstance(value, list):
        return [_filled(item, values) for item in value]
    if isinstance(value, dict):
        return type(value)({key: _filled(item, values) for key, item in value.items()})
    return value


def _send(row: Row, persona: str, world: dict, client: Client):
    path = _filled(row.path, world["values"])
    body = _filled(row.body, world["values"])
    client.cookies = SimpleCookie()  # nobody's session but the persona's
    if row.portal:
        if persona != "anonymous":
            user = world["users"][persona]
            client.force_login(user)
            session = client.session
            session[sudo.SESSION_KEY] = int(time.time())  # as right after signing in
            if user.has_two_factor:  # ...with the second factor (accounts.sudo)
                session[sudo.FACTOR_KEY] = session[sudo.SESSION_KEY]
            session.save()
        send = getattr(client, row.method.lower())
        if isinstance(body, Json):
            return send(path, data=json.dumps(body), content_type="application/json")
        return send(path, data=body or {})
    headers = {}
    if persona != "anonymous":
        headers["HTTP_AUTHORIZATION"] = f"Bearer {world['tokens'][persona]}"
    return getattr(client, row.method.lower())(
        path,
        data=json.dumps(body) if body is not None else "",
        content_type="application/json",
        **headers,
    )


def _outcome(response) -> int | str:
    if response.status_code != 302:
        return response.status_code
    if response["Location"].startswith(reverse("accounts:login") + "?next="):
        return LOGIN
    levels = {message.level_tag for message in response.wsgi_request._messages}
    if "error" in levels:
        return REFUSED
    if levels & {"success", "info"}:
        return DONE
    return 302


def _shows_hidden(response, persona: str, world: dict) -> bool:
    if not 200 <= response.status_code < 300:
        return False
    body = b"".join(response.streaming_content) if response.streaming else response.content
    hidden = (_filled(text, world["values"]).encode() for text in HIDDEN.get(persona, ()))
    return any(text in body for text in hidden)


def _answer(row: Row, persona: str, world: dict, client: Client) -> Answer:
    """What `persona` gets, in a savepoint rolled back after: the world stays as built."""
    cache.clear()  # rate limits and remembered one-time passwords
    with transaction.atomic():
        response = _send(row, persona, world, client)
        # Reading a body to its end closes it (tarballs are open files); calling close()
        # here would also close the test's database connection on PostgreSQL.
        answer = Answer(_outcome(response), _shows_hidden(response, persona, world))
        transaction.set_rollback(True)
    return answer


# The matrix --------------------------------------------------------------------------------


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_access(world, http, row):
    answers = {persona: _answer(row, persona, world, http) for persona in row.expected}

    today = {p: c.gets if isinstance(c, Bug) else c for p, c in row.expected.items()}
    assert {persona: answer.outcome for persona, answer in answers.items()} == today
    leaks = {persona: why for (row_id, persona), why in LEAKS.items() if row_id == row.id}
    showing = {persona for persona, answer in answers.items() if answer.shows_hidden}
    assert showing == set(leaks), "a 2xx shows what HIDDEN keeps from these personas"
    if bugs := _known_bugs(row, leaks):
        pytest.xfail("BUG " + "; ".join(bugs))


def _known_bugs(row: Row, leaks: dict[str, str]) -> list[str]:
    wrong = {p: c for p, c in row.expected.items() if isinstance(c, Bug)}
    return [f"{p} gets {c.gets}, should get {c.should}: {c.why}" for p, c in wrong.items()] + [
        f"{p} is shown what is hidden: {why}" for p, why in leaks.items()
    ]


def test_a_person_with_a_second_factor_is_asked_for_it(world, http):
    """No cell above shows it, since nobody there has a second factor: npm's OTP prompt."""
    User.objects.filter(username="alice").update(tfa_mode=User.TwoFactorMode.AUTH_AND_WRITES)
    http.cookies = SimpleCookie()

    response = write(
        http, "put", "/-/package/@acme/lib/dist-tags/latest", world["tokens"]["alice"], "1.0.0"
    )

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "OTP"


@pytest.mark.parametrize("persona", ["frank", "grace"])
def test_whoever_may_review_a_staged_release_finds_it_in_stage_list(world, http, persona):
    http.cookies = SimpleCookie()

    listed = http.get("/-/stage", HTTP_AUTHORIZATION=f"Bearer {world['tokens'][persona]}")

    assert [item["id"] for item in listed.json()["items"]] == [world["values"]["stage"]]


# Completeness ------------------------------------------------------------------------------


def _join_route(prefix: str, route: str) -> str:
    """As Django joins the routes of nested resolvers into `ResolverMatch.route`."""
    return prefix + route.removeprefix("^") if prefix else route


def _routes(patterns, prefix: str = ""):
    for pattern in patterns:
        route = _join_route(prefix, str(pattern.pattern))
        if hasattr(pattern, "url_patterns"):
            if not route.startswith("admin/"):
                yield from _routes(pattern.url_patterns, route)
        else:
            yield route


SAMPLE_ID = "00000000-0000-0000-0000-000000000000"
SAMPLE_VALUES = {
    "rev": "1-0",
    "stage": SAMPLE_ID,
    "invitation": "0" * 32,
    "email_invitation": SAMPLE_ID,
    "login": SAMPLE_ID,
    "done": "x",
    "otp": "x",
    "challenge": "0" * 32,
    "spare_token": "x",
    "spare_key": "x",
    "email_token": "x",
    "alice_app": "1",
}


def test_every_route_is_in_the_matrix():
    rows = {resolve(_filled(row.path, SAMPLE_VALUES).split("?")[0]).route for row in ROWS}

    missing = set(_routes(get_resolver().url_patterns)) - rows - EXEMPT_ROUTES

    assert not missing, f"routes without a row in the access matrix: {sorted(missing)}"
