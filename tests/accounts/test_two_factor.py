"""Second factors as services: enrollment, recovery codes, verification, modes, removal."""

import pytest
from django.core import mail
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.actors import Actor
from accounts.exceptions import InvalidAccountData, SecondFactorInvalid
from accounts.models import RecoveryCode, SecurityEvent, User
from accounts.services import two_factor
from portal.errors import RateLimited
from tests.accounts.factors import app_code, enroll_app

pytestmark = pytest.mark.django_db


def _actor(user):
    return Actor(user=user, ip="192.0.2.7")


def test_first_factor_waits_for_a_recovery_code_before_it_counts(
    alice, django_capture_on_commit_callbacks
):
    device = two_factor.totp_enroll_start(user=alice)
    two_factor.totp_enroll_verify(actor=_actor(alice), device=device, code=app_code(device))

    codes = two_factor.factor_enroll_verified(actor=_actor(alice), device=device)

    assert len(codes) == 10 and len(set(codes)) == 10
    device.refresh_from_db()
    assert not device.confirmed and not alice.has_two_factor
    with pytest.raises(SecondFactorInvalid):
        two_factor.factor_enroll_complete(
            actor=_actor(alice), device=device, recovery_code="aaaa-bbbb-cccc"
        )
    assert SecurityEvent.objects.filter(user=alice, action="2fa:verify-failed").exists()
    with django_capture_on_commit_callbacks(execute=True):
        two_factor.factor_enroll_complete(
            actor=_actor(alice), device=device, recovery_code=codes[3]
        )

    alice.refresh_from_db()
    device.refresh_from_db()
    assert device.confirmed
    assert alice.tfa_mode == User.TwoFactorMode.AUTH_AND_WRITES
    assert RecoveryCode.objects.filter(user=alice, used_at__isnull=False).count() == 1
    assert two_factor.recovery_codes_left(alice) == 9
    assert {"2fa:factor-add", "2fa:enable"} <= set(
        SecurityEvent.objects.filter(user=alice).values_list("action", flat=True)
    )
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert "second factor" in mail.outbox[0].subject


def test_recovery_codes_are_stored_hashed(alice):
    _, codes = enroll_app(alice)
    stored = set(RecoveryCode.objects.filter(user=alice).values_list("code_hash", flat=True))
    assert not stored & set(codes)
    assert all(len(value) == 64 for value in stored)


def test_wrong_first_code_is_refused_and_recorded(alice):
    device = two_factor.totp_enroll_start(user=alice)
    with pytest.raises(SecondFactorInvalid, match="does not match"):
        two_factor.totp_enroll_verify(
            actor=_actor(alice),
            device=device,
            code="000000" if app_code(device) != "000000" else "111111",
        )
    assert SecurityEvent.objects.filter(user=alice, action="2fa:verify-failed").exists()


def test_second_factor_added_with_2fa_on_counts_at_once(alice):
    enroll_app(alice)
    device = two_factor.totp_enroll_start(user=alice)
    two_factor.totp_enroll_verify(actor=_actor(alice), device=device, code=app_code(device))

    assert two_factor.factor_enroll_verified(actor=_actor(alice), device=device) is None
    device.refresh_from_db()
    assert device.confirmed


def test_app_code_works_once_then_replay_is_refused(alice):
    device, _ = enroll_app(alice)
    code = app_code(device, steps_ahead=1)

    assert two_factor.second_factor_verify(actor=_actor(alice), user=alice, code=code) == device
    with pytest.raises(SecondFactorInvalid):
        two_factor.second_factor_verify(actor=_actor(alice), user=alice, code=code)


def test_recovery_code_is_burned_and_reuse_says_so(alice):
    _, codes = enroll_app(alice)

    assert (
        two_factor.second_factor_verify(actor=_actor(alice), user=alice, code=codes[0].upper())
        == "recovery-code"
    )
    with pytest.raises(SecondFactorInvalid, match="already used"):
        two_factor.second_factor_verify(actor=_actor(alice), user=alice, code=codes[0])
    assert RecoveryCode.objects.filter(user=alice).count() == 10  # burned, not deleted


def test_malformed_codes_are_refused(alice):
    enroll_app(alice)
    for code in ("", "12345", "abcdef", "1234567890123", "ñ" * 6):
        with pytest.raises(SecondFactorInvalid):
            two_factor.second_factor_verify(actor=_actor(alice), user=alice, code=code)


def test_failures_are_rate_limited_per_account_even_for_a_right_code(alice):
    device, _ = enroll_app(alice)
    for _ in range(10):
        with pytest.raises(SecondFactorInvalid):
            two_factor.second_factor_verify(
                actor=Actor(user=alice, ip=None), user=alice, code="zzzz-zzzz-zzzz"
            )
    with pytest.raises(RateLimited) as refused:
        two_factor.second_factor_verify(
            actor=_actor(alice), user=alice, code=app_code(device, steps_ahead=1)
        )
    assert refused.value.status == 429


def test_regenerating_codes_voids_the_old_unused_set(alice):
    _, old = enroll_app(alice)
    new = two_factor.recovery_codes_regenerate(actor=_actor(alice), user=alice)

    assert two_factor.recovery_codes_left(alice) == 10
    with pytest.raises(SecondFactorInvalid):
        two_factor.second_factor_verify(actor=_actor(alice), user=alice, code=old[0])
    assert (
        two_factor.second_factor_verify(actor=_actor(alice), user=alice, code=new[0])
        == "recovery-code"
    )


def test_mode_changes_never_switch_2fa_off(alice):
    enroll_app(alice)
    two_factor.tfa_mode_set(actor=_actor(alice), user=alice, mode="auth-only")
    assert User.objects.get(pk=alice.pk).tfa_mode == "auth-only"
    for bad in ("disabled", "", "none"):
        with pytest.raises(InvalidAccountData):
            two_factor.tfa_mode_set(actor=_actor(alice), user=alice, mode=bad)
    assert User.objects.get(pk=alice.pk).tfa_mode == "auth-only"


def test_mode_needs_a_factor(bob):
    with pytest.raises(InvalidAccountData):
        two_factor.tfa_mode_set(actor=_actor(bob), user=bob, mode="auth-only")


def test_removing_the_last_factor_turns_2fa_off_and_drops_codes(alice):
    device, _ = enroll_app(alice)
    two_factor.factor_remove(actor=_actor(alice), device=device)

    alice.refresh_from_db()
    assert not alice.has_two_factor
    assert not RecoveryCode.objects.filter(user=alice).exists()
    assert not TOTPDevice.objects.filter(user=alice).exists()
    assert SecurityEvent.objects.filter(user=alice, action="2fa:disable").exists()
