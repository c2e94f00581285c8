"""A package's settings page (behind sudo mode) and its history page."""

import time

import pytest

from accounts.models import SecurityEvent
from accounts.sudo import FACTOR_KEY
from accounts.sudo import SESSION_KEY as SUDO_SESSION_KEY
from registry.models import Maintainer, Package
from tests.accounts.factors import enroll_app
from tests.registry.helpers import publish

pytestmark = pytest.mark.django_db

SAVE_ALL = {
    "access": "restricted",
    "mfa": "automation",
    "require_staged": "on",
    "approvals_required": "2",
    "exclude_stager": "on",
}


def sudo_stamp(client, age: int = 0) -> None:
    """As right after a second factor (signing in, or sudo mode) `age` seconds ago."""
    session = client.session
    session[SUDO_SESSION_KEY] = session[FACTOR_KEY] = int(time.time()) - age
    session.save()


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


@pytest.fixture
def scoped(client, alice_token):
    publish(client, alice_token, "@alice/settled", "1.0.0", access="public")
    return Package.objects.get(name="@alice/settled")


def test_settings_need_a_fresh_second_factor_from_people_with_one(client, alice, scoped):
    url = "/package/@alice/settled/settings/"
    enroll_app(alice)
    client.force_login(alice)

    for age in (None, 3600):  # never stamped (force_login), then stamped an hour ago
        if age is not None:
            sudo_stamp(client, age)
        for response in (client.get(url), client.post(url, SAVE_ALL)):
            assert response.status_code == 302
            assert (
                response["Location"]
                == "/account/sudo/?next=%2Fpackage%2F%40alice%2Fsettled%2Fsettings%2F"
            )
    scoped.refresh_from_db()
    assert not scoped.require_staged

    sudo_stamp(client)
    assert client.get(url).status_code == 200


def test_settings_save_every_policy(client, alice, scoped):
    enroll_app(alice)
    client.force_login(alice)
    sudo_stamp(client)

    response = client.post("/package/@alice/settled/settings/", SAVE_ALL, follow=True)

    assert "Saved the package settings." in messages_of(response)
    scoped.refresh_from_db()
    assert scoped.access == Package.Access.RESTRICTED
    assert scoped.publish_requires_tfa and scoped.automation_token_overrides_tfa
    assert scoped.require_staged and scoped.exclude_stager
    assert scoped.approvals_required == 2
    event = SecurityEvent.objects.get(action="package:settings")
    assert event.details["approvals_required"] == {"from": 1, "to": 2}
    assert event.details["access"] == {"from": "public", "to": "restricted"}
    # The page shows what was saved.
    form = response.context["form"]
    assert form["mfa"].value() == "automation" and form["approvals_required"].value() == 2
    assert form["require_staged"].value() and form["exclude_stager"].value()
    assert form["access"].value() == "restricted"


@pytest.mark.parametrize(
    ("mfa", "requires", "overrides"),
    [("none", False, False), ("publish", True, False), ("automation", True, True)],
)
def test_mfa_choices_map_to_the_policy(client, alice, scoped, mfa, requires, overrides):
    scoped.publish_requires_tfa = scoped.automation_token_overrides_tfa = not requires
    scoped.save()
    enroll_app(alice, mode="auth-only")  # changing settings takes a second factor
    client.force_login(alice)
    sudo_stamp(client)  # as right after signing in

    data = {**SAVE_ALL, "mfa": mfa, "access": "public"}
    client.post("/package/@alice/settled/settings/", data)

    scoped.refresh_from_db()
    assert (scoped.publish_requires_tfa, scoped.automation_token_overrides_tfa) == (
        requires,
        overrides,
    )


def test_unchecked_boxes_turn_policies_off(client, alice, scoped):
    scoped.require_staged = scoped.exclude_stager = True
    scoped.save()
    enroll_app(alice, mode="auth-only")  # changing settings takes a second factor
    client.force_login(alice)
    sudo_stamp(client)

    client.post(
        "/package/@alice/settled/settings/",
        {"access": "public", "mfa": "none", "approvals_required": "1"},
    )

    scoped.refresh_from_db()
    assert not scoped.require_staged and not scoped.exclude_stager


def test_unscoped_packages_cannot_be_restricted(client, alice, alice_token):
    publish(client, alice_token, "unscoped-settings", "1.0.0")
    enroll_app(alice, mode="auth-only")  # changing settings takes a second factor
    client.force_login(alice)
    sudo_stamp(client)

    response = client.post(
        "/package/unscoped-settings/settings/", {**SAVE_ALL, "access": "restricted"}, follow=True
    )

    assert response.status_code == 200
    assert "Only scoped packages can be restricted." in messages_of(response)
    package = Package.objects.get(name="unscoped-settings")
    assert package.access == Package.Access.PUBLIC and not package.require_staged
    assert not SecurityEvent.objects.filter(action="package:settings").exists()


def test_out_of_range_approvals_are_a_form_error(client, alice, scoped):
    client.force_login(alice)
    sudo_stamp(client)
    response = client.post(
        "/package/@alice/settled/settings/", {**SAVE_ALL, "approvals_required": "0"}
    )
    assert response.status_code == 200
    assert "greater than or equal to 1" in response.content.decode()
    scoped.refresh_from_db()
    assert scoped.approvals_required == 1 and not scoped.require_staged


def test_settings_are_404_for_others(client, alice_token, bob, carol, scoped):
    publish(client, alice_token, "public-settings", "1.0.0")
    client.force_login(carol)
    sudo_stamp(client)
    for name in ("public-settings", "@alice/settled", "no-such-package"):
        assert client.get(f"/package/{name}/settings/").status_code == 404
        assert client.post(f"/package/{name}/settings/", SAVE_ALL).status_code == 404
    scoped.refresh_from_db()
    assert not scoped.require_staged

    Maintainer.objects.create(package=scoped, user=bob)  # any maintainer sees them
    client.force_login(bob)
    sudo_stamp(client)
    assert client.get("/package/@alice/settled/settings/").status_code == 200


def test_a_maintainer_without_a_second_factor_sees_the_settings_but_cannot_save(
    client, alice, scoped
):
    client.force_login(alice)
    session = client.session
    session[SUDO_SESSION_KEY] = int(time.time())  # a password, just typed
    session.save()

    response = client.post("/package/@alice/settled/settings/", SAVE_ALL)

    assert response.status_code == 200
    assert "you need a second factor" in messages_of(response)
    assert b'type="submit">Save' not in response.content
    scoped.refresh_from_db()
    assert not scoped.require_staged


def test_settings_need_a_login(client, scoped):
    response = client.get("/package/@alice/settled/settings/")
    assert response.status_code == 302 and response["Location"].startswith("/account/login/")


def test_history_lists_the_package_events_for_maintainers(client, alice, alice_token, scoped):
    publish(client, alice_token, "@alice/settled", "1.1.0")
    publish(client, alice_token, "other-history", "1.0.0")
    enroll_app(alice, mode="auth-only")  # changing settings takes a second factor
    client.force_login(alice)
    sudo_stamp(client)
    client.post("/package/@alice/settled/settings/", {**SAVE_ALL, "access": "public"})

    response = client.get("/package/@alice/settled/history/")

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("package:publish") == 2 and "package:settings" in html
    assert "version: 1.1.0" in html and "version: 1.0.0" in html
    assert "alice" in html
    assert "other-history" not in html
    assert html.index("package:settings") < html.index("version: 1.1.0")  # newest first


def test_history_is_404_for_others(client, alice_token, carol, scoped):
    publish(client, alice_token, "public-history", "1.0.0")
    client.force_login(carol)
    sudo_stamp(client)
    for name in ("public-history", "@alice/settled", "no-such-package"):
        assert client.get(f"/package/{name}/history/").status_code == 404
    client.logout()
    response = client.get("/package/public-history/history/")
    assert response.status_code == 302 and response["Location"].startswith("/account/login/")
