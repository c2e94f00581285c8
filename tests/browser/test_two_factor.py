"""Enrolling, using and removing second factors in a real browser, under the CSP."""

from dataclasses import replace

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential
from playwright.sync_api import expect

from accounts.actors import Actor
from accounts.models import OTPChallenge, RecoveryCode, Token, User
from accounts.recovery_codes import recovery_code_hash
from accounts.second_factor import (
    OTPRefused,
    otp_challenge_approve,
    otp_challenge_create,
    second_factor_require,
)
from tests.browser.conftest import app_enable, totp_code
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_authenticator_app_enrollment_ends_with_a_recovery_code(portal, alice):
    portal.login("alice")
    assert portal.path == "/account/packages/"
    portal.goto("/account/security/")
    assert "Off." in portal.text()
    portal.follow("Add an authenticator app")

    qr = portal.page.locator(".qr svg").bounding_box()
    assert qr is not None and qr["width"] >= 200 and qr["height"] >= 200
    key = portal.totp_key()
    assert len(key) == 20
    portal.enter_code(totp_code(key))
    codes = portal.recovery_codes()
    assert len(codes) == 10 and len(set(codes)) == 10

    portal.enter_code("aaaa-bbbb-cccc")
    assert "not one of the recovery codes" in portal.messages()
    assert "Your codes were replaced" in portal.messages()
    replaced = portal.recovery_codes()
    assert len(replaced) == 10 and not set(replaced) & set(codes)
    portal.enter_code(codes[0])  # the first set is void now
    assert "not one of the recovery codes" in portal.messages()
    replaced = portal.recovery_codes()

    portal.enter_code(replaced[3])
    assert portal.path == "/account/security/"
    assert "Two-factor authentication is on" in portal.messages()
    assert "On: your second factor is needed" in portal.text()
    assert portal.page.input_value("select[name=mode]") == "auth-and-writes"
    assert "authenticator app" in portal.text("table.list")
    assert "9 unused recovery codes left" in portal.text()
    alice.refresh_from_db()
    assert alice.tfa_mode == User.TwoFactorMode.AUTH_AND_WRITES
    assert TOTPDevice.objects.get(user=alice).confirmed
    burned = RecoveryCode.objects.get(user=alice, used_at__isnull=False)
    assert burned.code_hash == recovery_code_hash(replaced[3])
    assert [m.subject for m in mail.outbox] == [
        "Gatehouse: a second factor was added to your account"
    ]
    assert mail.outbox[0].to == ["alice@example.com"]
    banner = portal.page.locator("ul.messages li.success")
    assert banner.evaluate("li => getComputedStyle(li).backgroundColor") != "rgba(0, 0, 0, 0)"

    portal.page.select_option("select[name=mode]", "auth-only")
    portal.submit("form:has(select[name=mode])")
    assert "Saved your two-factor mode." in portal.messages()
    assert "needed to sign-in and account changes." in portal.text()


def test_security_key_as_first_factor_then_a_second_key(portal, alice):
    authenticator = portal.add_authenticator()
    portal.login("alice")
    portal.goto("/account/security/")
    portal.follow("Add a security key or passkey")
    portal.page.fill("#key-name", "Laptop")
    portal.click_and_wait("[data-key-register]")
    assert portal.path.endswith("/enrolled/")
    codes = portal.recovery_codes()
    assert len(codes) == 10
    assert not WebAuthnCredential.objects.get(user=alice).confirmed  # until a code is entered

    portal.enter_code(codes[4])
    assert portal.path == "/account/security/"
    assert "On: your second factor is needed" in portal.text()
    assert 'security key "Laptop"' in portal.text("table.list")
    assert RecoveryCode.objects.get(user=alice, used_at__isnull=False).code_hash == (
        recovery_code_hash(codes[4])
    )

    # A second, different key: sudo mode is fresh right after enrollment.
    authenticator["cdp"].send(
        "WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator["id"]}
    )
    portal.add_authenticator()
    portal.follow("Add a security key or passkey")
    assert portal.path == "/account/security/keys/add/"
    portal.page.fill("#key-name", "Phone")
    portal.click_and_wait("[data-key-register]")
    assert portal.path == "/account/security/"
    assert 'Added your security key "Phone"' in portal.messages()
    names = WebAuthnCredential.objects.filter(user=alice, confirmed=True).values_list("name")
    assert sorted(n for (n,) in names) == ["Laptop", "Phone"]
    assert "9 unused recovery codes left" in portal.text()  # no new set for a second factor


def test_recovery_codes_copy_and_download(portal, alice):
    portal.context.grant_permissions(["clipboard-read", "clipboard-write"])
    portal.login("alice")
    portal.goto("/account/security/app/")
    portal.enter_code(totp_code(portal.totp_key()))
    codes = portal.recovery_codes()

    portal.page.click("[data-copy=recovery-codes]")
    # A locator assertion polls from outside the page; a string predicate would be
    # evaluated inside it, which the page's CSP (no eval) refuses.
    expect(portal.page.locator("[data-copy=recovery-codes]")).to_have_text("Copied")
    assert portal.page.evaluate("navigator.clipboard.readText()").split() == codes

    with portal.page.expect_download() as download:
        portal.page.click("[data-download=recovery-codes]")
    assert download.value.suggested_filename == "gatehouse-recovery-codes.txt"
    with open(download.value.path()) as saved:
        assert saved.read() == "\n".join(codes) + "\n"


def test_sudo_detour_accepts_a_security_key(portal, alice):
    portal.add_authenticator()
    portal.login("alice")
    portal.enroll_key()
    portal.age_sudo()

    portal.goto("/account/security/app/")
    assert portal.path == "/account/sudo/?next=%2Faccount%2Fsecurity%2Fapp%2F"
    portal.click_and_wait("[data-key-assert][data-purpose=sudo]")
    assert portal.path == "/account/security/app/"
    assert portal.page.locator("#totp-secret").is_visible()


def test_a_first_key_is_added_in_sudo_mode_which_takes_the_password(portal, alice):
    portal.add_authenticator()
    portal.login("alice")
    portal.age_sudo()  # a session signed in a day ago

    portal.goto("/account/security/keys/add/")
    assert portal.path == "/account/sudo/?next=%2Faccount%2Fsecurity%2Fkeys%2Fadd%2F"
    portal.page.fill("input[name=password]", PASSWORD)
    portal.submit("main form")
    assert portal.path == "/account/security/keys/add/"
    portal.age_sudo()  # the page was left open too long

    portal.expect_console_error("status of 403")
    portal.page.click("[data-key-register]")
    portal.page.wait_for_selector("#key-status.error")
    assert portal.text("#key-status") == "Confirm it is you first: reload the page."
    assert not WebAuthnCredential.objects.filter(user=alice).exists()


def test_sudo_detour_accepts_an_app_code(portal, alice):
    key, _ = app_enable(alice)
    portal.login("alice")
    portal.enter_code(totp_code(key))
    device = TOTPDevice.objects.get(user=alice)
    remove = f"/account/security/totp/{device.pk}/remove/"
    portal.age_sudo()

    portal.goto(remove)
    assert portal.path.startswith("/account/sudo/?next=")
    assert portal.page.locator("[data-key-assert]").count() == 0  # no key to offer
    portal.enter_code(totp_code(key, steps_ahead=1))
    assert portal.path == remove
    assert "Remove your authenticator app?" in portal.text()


def test_sudo_refuses_a_wrong_code_and_stays(portal, alice):
    key, codes = app_enable(alice)
    portal.login("alice")
    portal.enter_code(totp_code(key))
    portal.age_sudo()

    portal.goto("/account/security/recovery-codes/")
    portal.enter_code("aaaa-bbbb-cccc")
    assert "That code is not valid" in portal.messages()
    assert portal.path.startswith("/account/sudo/")
    portal.enter_code(codes[0])
    assert portal.path == "/account/security/recovery-codes/"
    portal.submit("main form")
    fresh = portal.recovery_codes()
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    portal.follow("Back to account security")
    assert "10 unused recovery codes left" in portal.text()


def test_removing_factors_down_to_none_turns_two_factor_off(portal, alice):
    portal.add_authenticator()
    portal.login("alice")
    portal.enroll_key("Laptop")
    portal.goto("/account/security/app/")
    portal.enter_code(totp_code(portal.totp_key()))
    assert "Added your authenticator app" in portal.messages()
    mail.outbox.clear()

    portal.page.locator("tr", has_text="Laptop").get_by_role("link", name="Remove").click()
    portal.page.wait_for_url("**/remove/")
    assert 'Remove your security key "Laptop"?' in portal.text()
    assert "last factor" not in portal.text()
    portal.submit("main form")
    assert 'Removed your security key "Laptop"' in portal.messages()
    assert not WebAuthnCredential.objects.filter(user=alice).exists()
    assert "On: your second factor is needed" in portal.text()

    portal.page.locator("tr", has_text="authenticator app").get_by_role("link").click()
    portal.page.wait_for_url("**/remove/")
    assert "This is your last factor" in portal.text()
    portal.submit("main form")
    assert "Removed your authenticator app" in portal.messages()
    assert "Off." in portal.text()
    assert "None yet." in portal.text()
    alice.refresh_from_db()
    assert not alice.has_two_factor
    assert not RecoveryCode.objects.filter(user=alice).exists()
    assert [m.subject for m in mail.outbox] == [
        "Gatehouse: a second factor was removed from your account"
    ] * 2
    assert "Two-factor authentication is now off" in mail.outbox[1].body


def test_web_otp_approval_with_a_security_key(portal, alice, alice_token):
    portal.add_authenticator()
    portal.login("alice")
    portal.enroll_key()
    actor = Actor(
        user=alice, token=Token.objects.get(user=alice), ip="127.0.0.1", npm_command="whoami"
    )
    description = {
        "summary": "Point the beta tag of pkg at 1.2.3",
        "action": "dist-tag add",
        "package": "pkg",
        "version": "1.2.3",
        "tag": "beta",
    }
    operation = "dist-tag:pkg:beta=1.2.3"
    challenge, done_secret = otp_challenge_create(actor, operation, description)
    poll = Client()

    assert poll.get(f"/-/v1/otp/{done_secret}").status_code == 202
    portal.goto(f"/account/approve/{challenge.pk.hex}/")
    assert portal.text("[data-summary]") == "Point the beta tag of pkg at 1.2.3"
    facts = portal.text("dl.facts")
    for shown in ("dist-tag add", "pkg", "1.2.3", "beta", "test", "127.0.0.1"):
        assert shown in facts
    assert "Client said\nnpm whoami (reported by the npm CLI, not checked" in facts
    portal.click_and_wait("[data-key-assert]")
    assert portal.path == f"/account/approve/{challenge.pk.hex}/"
    assert "Approved." in portal.text()
    challenge.refresh_from_db()
    assert challenge.approved_at is not None

    answer = poll.get(f"/-/v1/otp/{done_secret}")
    assert answer.status_code == 200
    code = answer.json()["token"]
    assert code.startswith("wotp_")
    assert poll.get(f"/-/v1/otp/{done_secret}").status_code == 404  # handed out once
    assert OTPChallenge.objects.get(pk=challenge.pk).code_hash
    # The code approves exactly what the page showed.
    with_code = replace(actor, otp=code)
    with pytest.raises(OTPRefused):
        second_factor_require(with_code, operation="publish:pkg@1.2.3", description={})
    assert second_factor_require(with_code, operation=operation, description={}) == "security-key"


def test_the_harness_catches_csp_violations(portal):
    """A page that breaks the CSP must fail a test: prove the console listener sees it."""
    portal.page.route(
        portal.url("/csp-probe"),
        lambda route: route.fulfill(
            headers={"Content-Type": "text/html", "Content-Security-Policy": "default-src 'self'"},
            body='<!doctype html><script>document.title = "ran"</script><p style="color: red">',
        ),
    )
    portal.goto("/csp-probe")
    assert portal.page.title() != "ran"
    violations = [p for p in portal.problems if p.startswith("console error: CSP violation:")]
    assert violations == [
        "console error: CSP violation: script-src-elem blocked inline",
        "console error: CSP violation: style-src-attr blocked inline",
    ]
    portal.problems.clear()


def test_an_approval_given_meanwhile_is_refused_with_its_reason(portal, alice, alice_token):
    portal.add_authenticator()
    portal.login("alice")
    portal.enroll_key()
    actor = Actor(user=alice, token=Token.objects.get(user=alice), ip="127.0.0.1")
    challenge, _ = otp_challenge_create(actor, "publish:pkg", {"command": "publish"})
    portal.goto(f"/account/approve/{challenge.pk.hex}/")
    device = WebAuthnCredential.objects.get(user=alice)
    otp_challenge_approve(actor=actor, challenge=challenge, device=device)  # in another tab

    portal.expect_console_error("status of 404")
    portal.page.click("[data-key-assert]")
    portal.page.wait_for_selector("#key-status.error")
    assert portal.text("#key-status") == "This request was already approved."


def test_an_approval_page_left_open_too_long_says_so(portal, alice, alice_token):
    portal.add_authenticator()
    portal.login("alice")
    portal.enroll_key()
    actor = Actor(user=alice, token=Token.objects.get(user=alice), ip="127.0.0.1")
    challenge, _ = otp_challenge_create(actor, "publish:pkg", {"command": "publish"})
    portal.goto(f"/account/approve/{challenge.pk.hex}/")
    OTPChallenge.objects.filter(pk=challenge.pk).update(expires_at=timezone.now())

    portal.expect_console_error("status of 404")
    portal.page.click("[data-key-assert]")
    portal.page.wait_for_selector("#key-status.error")
    assert "expired" in portal.text("#key-status")
    assert OTPChallenge.objects.get(pk=challenge.pk).approved_at is None


def test_a_key_abandoned_at_the_recovery_codes_can_be_enrolled_again(portal, alice):
    portal.add_authenticator()
    portal.login("alice")
    portal.goto("/account/security/keys/add/")
    portal.click_and_wait("[data-key-register]")
    assert len(portal.recovery_codes()) == 10
    portal.goto("/account/security/")  # walked away without entering a code
    assert "Off." in portal.text()

    portal.goto("/account/security/keys/add/")
    portal.click_and_wait("[data-key-register]")
    portal.enter_code(portal.recovery_codes()[0])
    assert "Two-factor authentication is on" in portal.messages()
    assert WebAuthnCredential.objects.filter(user=alice).count() == 1


def test_the_qr_code_fits_its_box_for_a_long_username(portal, django_user_model):
    name = "a-maintainer-with-a-rather-long-user-name-for-the-qr-code"
    django_user_model.objects.create_user(username=name, email="m@example.com", password=PASSWORD)
    portal.login(name)
    portal.goto("/account/security/app/")
    box = portal.page.locator(".qr svg").bounding_box()
    drawn = portal.page.locator(".qr svg path").bounding_box()
    assert box and drawn
    assert drawn["x"] > box["x"] and drawn["x"] + drawn["width"] < box["x"] + box["width"]
    assert drawn["y"] > box["y"] and drawn["y"] + drawn["height"] < box["y"] + box["height"]
    first = portal.page.locator(".card > p").first  # no gap above a card's first line
    assert first.evaluate("p => getComputedStyle(p).marginTop") == "0px"
    # the quiet zone is as wide on the right as on the left
    left = drawn["x"] - box["x"]
    right = box["x"] + box["width"] - drawn["x"] - drawn["width"]
    assert abs(left - right) < 1
