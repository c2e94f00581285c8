"""A package's publishing policy: "every release must be staged", "a second factor for every
publish" (`npm access set mfa=…`), its visibility (`npm access get/set status`), and the
service both the portal and the CLI change them through (npm-protocol §17)."""

import json

import pytest

from accounts.models import SecurityEvent, Token
from portal.errors import PermissionDenied
from registry.exceptions import InvalidPayload
from registry.models import Maintainer, Package, Packument, StagedRelease, Version
from registry.services.package_settings import package_settings_update
from tests.accounts.factors import app_code, enroll_app, with_fresh_factor
from tests.conftest import issue_token
from tests.packages import publish_body
from tests.registry.helpers import publish, write

pytestmark = pytest.mark.django_db


def error_of(response) -> str:
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    return body["error"]


def policy_given(name: str, **changes) -> None:
    """Arrange a policy without a person changing it (that has tests of its own)."""
    Package.objects.filter(name=name).update(**changes)


def set_policy(user, name: str, **changes) -> Package:
    """As a maintainer in a portal session that just passed a second factor."""
    return package_settings_update(actor=with_fresh_factor(user), name=name, changes=changes)


def stage(client, token: str, name: str, version: str):
    return write(client, "post", f"/-/stage/package/{name}", token, publish_body(name, version))


def publish_with_otp(client, token: str, name: str, version: str, otp: str):
    return client.put(
        f"/{name}",
        data=json.dumps(publish_body(name, version)),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_NPM_OTP=otp,
    )


def access(client, token: str, name: str, body, otp: str | None = None):
    """`npm access set …`: a POST whose answer npm ignores."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if otp:
        headers["HTTP_NPM_OTP"] = otp
    return client.post(
        f"/-/package/{name}/access",
        data=json.dumps(body),
        content_type="application/json",
        **headers,
    )


def visibility(client, name: str, token: str | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get(f"/-/package/{name}/visibility", **headers)


def settings_events(name: str) -> list[dict]:
    rows = SecurityEvent.objects.filter(action="package:settings", package_name=name)
    return list(rows.order_by("created_at", "id").values_list("details", flat=True))


# --- every release must be staged -----------------------------------------------------------


def test_a_package_that_requires_staging_refuses_a_direct_publish_and_says_what_to_run(
    client, alice, alice_token
):
    publish(client, alice_token, "staged-only", "1.0.0")
    set_policy(alice, "staged-only", require_staged=True)
    rev = Packument.objects.get(name="staged-only").rev

    response = publish(client, alice_token, "staged-only", "1.1.0")

    assert response.status_code == 403
    assert error_of(response) == (
        "staged-only requires staged publishing: run `npm stage publish`, then have a "
        "maintainer approve the release."
    )
    assert list(Version.objects.values_list("version", flat=True)) == ["1.0.0"]
    assert Packument.objects.get(name="staged-only").rev == rev

    staged = stage(client, alice_token, "staged-only", "1.1.0")
    assert staged.status_code == 201, staged.content
    assert StagedRelease.objects.get().version_number == "1.1.0"


def test_policy_changes_are_recorded_from_what_to_what(alice):
    Maintainer.objects.create(package=Package.objects.create(name="audited"), user=alice)

    set_policy(alice, "audited", require_staged=True, approvals_required=2, exclude_stager=False)
    set_policy(alice, "audited", require_staged=True)  # no change: no event

    assert settings_events("audited") == [
        {"require_staged": {"from": False, "to": True}, "approvals_required": {"from": 1, "to": 2}}
    ]
    package = Package.objects.get(name="audited")
    assert (package.require_staged, package.approvals_required) == (True, 2)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"approvals_required": 0}, "Approvals required must be a whole number from 1 to 10."),
        ({"approvals_required": 11}, "Approvals required must be a whole number from 1 to 10."),
        ({"approvals_required": True}, "Approvals required must be a whole number from 1 to 10."),
        ({"approvals_required": "2"}, "Approvals required must be a whole number from 1 to 10."),
        ({"exclude_stager": "yes"}, '"exclude_stager" must be true or false.'),
        ({"require_staged": 1}, '"require_staged" must be true or false.'),
        ({"access": "private"}, '"access" must be "public" or "restricted".'),
        ({"access": "restricted"}, "Only scoped packages can be restricted."),
        ({"owner": "carol"}, "Unknown package setting(s): owner."),
    ],
)
def test_invalid_policy_values_are_refused_and_change_nothing(
    client, alice, alice_token, changes, message
):
    publish(client, alice_token, "strict", "1.0.0")

    with pytest.raises(InvalidPayload) as refused:
        set_policy(alice, "strict", publish_requires_tfa=True, **changes)

    assert refused.value.message == message
    assert Package.objects.get(name="strict").publish_requires_tfa is False
    assert settings_events("strict") == []


def test_only_maintainers_change_a_policy(client, alice_token, bob):
    publish(client, alice_token, "theirs", "1.0.0")

    with pytest.raises(PermissionDenied):
        set_policy(bob, "theirs", require_staged=True)

    assert Package.objects.get(name="theirs").require_staged is False


# --- a second factor for every publish (npm access set mfa=…) -----------------------------------


def test_mfa_publish_asks_a_person_with_a_second_factor_for_it_on_every_publish(
    client, alice, alice_token
):
    publish(client, alice_token, "guarded", "1.0.0")
    policy_given("guarded", publish_requires_tfa=True)
    device, _ = enroll_app(alice, mode="auth-only")  # would not ask on writes by itself

    challenge = publish(client, alice_token, "guarded", "1.1.0")
    with_code = publish_with_otp(
        client, alice_token, "guarded", "1.1.0", app_code(device, steps_ahead=1)
    )

    assert challenge.status_code == 401
    assert challenge["WWW-Authenticate"] == "OTP"
    assert with_code.status_code == 201, with_code.content


def test_mfa_publish_refuses_a_person_without_a_second_factor_and_says_how(
    client, alice, alice_token
):
    publish(client, alice_token, "guarded", "1.0.0")
    policy_given("guarded", publish_requires_tfa=True)

    response = publish(client, alice_token, "guarded", "1.1.0")

    assert response.status_code == 403
    assert error_of(response) == (
        "To publish guarded you need a second factor. Add a security key or an authenticator "
        "app at http://localhost:8000/account/security/ and try again."
    )


def test_mfa_publish_leaves_staging_to_automation(client, alice, alice_token):
    publish(client, alice_token, "guarded", "1.0.0")
    policy_given("guarded", publish_requires_tfa=True)
    enroll_app(alice, mode="auth-and-writes")

    response = stage(client, alice_token, "guarded", "2.0.0")

    assert response.status_code == 201, response.content


# --- npm access (get/set status, set mfa) -------------------------------------------------------


@pytest.mark.parametrize(
    "body, fields",
    [
        ({"publish_requires_tfa": True, "automation_token_overrides_tfa": False}, (True, False)),
        ({"publish_requires_tfa": True, "automation_token_overrides_tfa": True}, (True, True)),
        ({"publish_requires_tfa": False}, (False, False)),
    ],
    ids=["mfa=publish", "mfa=automation", "mfa=none"],
)
def test_npm_access_set_mfa(client, alice_codes, alice_token, body, fields):
    publish(client, alice_token, "mfa-set", "1.0.0")
    Package.objects.filter(name="mfa-set").update(publish_requires_tfa=not fields[0])

    response = access(client, alice_token, "mfa-set", body, otp=alice_codes())

    assert response.status_code == 200, response.content
    package = Package.objects.get(name="mfa-set")
    assert (package.publish_requires_tfa, package.automation_token_overrides_tfa) == fields


def test_npm_access_set_asks_a_person_with_a_second_factor_for_a_fresh_one(
    client, alice, alice_token
):
    publish(client, alice_token, "mfa-otp", "1.0.0")
    device, _ = enroll_app(alice, mode="auth-only")
    body = {"publish_requires_tfa": True, "automation_token_overrides_tfa": False}

    challenge = access(client, alice_token, "mfa-otp", body)
    assert challenge.status_code == 401
    assert challenge["WWW-Authenticate"] == "OTP"
    assert Package.objects.get(name="mfa-otp").publish_requires_tfa is False

    response = access(client, alice_token, "mfa-otp", body, otp=app_code(device, steps_ahead=1))

    assert response.status_code == 200
    assert Package.objects.get(name="mfa-otp").publish_requires_tfa is True
    assert settings_events("mfa-otp") == [{"publish_requires_tfa": {"from": False, "to": True}}]


def test_npm_access_status_of_a_scoped_package(client, alice_codes, alice_token, carol_token):
    publish(client, alice_token, "@alice/lib", "1.0.0", access="public")
    assert visibility(client, "@alice/lib").json() == {"public": True}

    private = access(client, alice_token, "@alice/lib", {"access": "restricted"}, alice_codes())

    assert private.status_code == 200
    assert visibility(client, "@alice/lib", alice_token).json() == {"public": False}
    assert Packument.objects.get(name="@alice/lib").restricted is True
    # Now it is hidden: to an outsider exactly like a missing package.
    assert visibility(client, "@alice/lib", carol_token).status_code == 404
    assert client.get("/@alice/lib").status_code == 404
    assert access(client, carol_token, "@alice/lib", {"access": "public"}).status_code == 404

    access(client, alice_token, "@alice/lib", {"access": "public"}, alice_codes())
    assert visibility(client, "@alice/lib", carol_token).json() == {"public": True}
    assert [list(e) for e in settings_events("@alice/lib")] == [["access"], ["access"]]


@pytest.mark.parametrize(
    "body, message",
    [
        ({"access": "restricted"}, "Only scoped packages can be restricted."),
        ({"require_staged": True}, "Send access, publish_requires_tfa or"),
        ({}, "Send access, publish_requires_tfa or"),
        (["publish_requires_tfa"], "Send access, publish_requires_tfa or"),
        ({"publish_requires_tfa": "yes"}, '"publish_requires_tfa" must be true or false.'),
    ],
)
def test_npm_access_set_refuses_what_it_cannot_apply(
    client, alice_codes, alice_token, body, message
):
    publish(client, alice_token, "unscoped", "1.0.0")

    response = access(client, alice_token, "unscoped", body)

    assert response.status_code == 400
    assert message in error_of(response)
    assert settings_events("unscoped") == []


def test_npm_access_set_is_for_maintainers_with_a_write_token(
    client, alice, alice_token, carol_token
):
    publish(client, alice_token, "mine", "1.0.0")
    read_only = issue_token(alice)
    Token.objects.filter(pk=Token.objects.filter(user=alice).latest("pk").pk).update(readonly=True)
    body = {"publish_requires_tfa": True}

    outsider = access(client, carol_token, "mine", body)
    reader = access(client, read_only, "mine", body)
    anonymous = client.post(
        "/-/package/mine/access", data=json.dumps(body), content_type="application/json"
    )

    assert outsider.status_code == 403
    assert "You are not a maintainer of mine" in error_of(outsider)
    assert reader.status_code == 403
    assert "This token is read-only" in error_of(reader)
    assert anonymous.status_code == 401
    assert Package.objects.get(name="mine").publish_requires_tfa is False
