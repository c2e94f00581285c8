"""Portal pages for second factors: the security page, enrollment, sudo mode, and the
second step of signing in. Security-key ceremonies talk JSON to `key_*` endpoints."""

from base64 import b32encode
from functools import wraps

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from accounts.actors import Actor
from accounts.events import event_record
from accounts.models import SecurityEvent, User
from accounts.second_factor import otp_challenge_approve, otp_challenge_pending
from accounts.services import two_factor
from accounts.services.login import (
    login_code_step,
    login_key_step,
    login_pending_user,
    session_reconfirmed,
)
from accounts.services.users import password_verify
from accounts.sudo import session_mark_verified, sudo_is_fresh, sudo_required
from accounts.views.common import next_url, portal_actor
from accounts.webauthn import (
    KeyCeremonyFailed,
    key_assertion_begin,
    key_assertion_complete,
    key_registration_begin,
    key_registration_complete,
)
from portal.errors import DomainError
from portal.json_input import json_parse

PENDING_ENROLL = "gatehouse_enroll_pending"


# The security page -------------------------------------------------------------------


@login_required
def security(request):
    user = request.user
    context = {
        "factors": [(two_factor.factor_label(d), d, _kind(d)) for d in two_factor.factors_of(user)],
        "codes_left": two_factor.recovery_codes_left(user) if user.has_two_factor else None,
        "events": SecurityEvent.objects.filter(user=user)[:20],
        "modes": User.TwoFactorMode,
        "sudo_fresh": sudo_is_fresh(request),
    }
    return render(request, "accounts/security.html", context)


def _kind(device) -> str:
    return "totp" if isinstance(device, TOTPDevice) else "key"


# Authenticator app enrollment --------------------------------------------------------


@login_required
@sudo_required
@require_http_methods(["GET", "POST"])
def totp_add(request):
    user = request.user
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if request.method == "GET" or device is None:
        device = two_factor.totp_enroll_start(user=user)
    elif request.method == "POST":
        try:
            two_factor.totp_enroll_verify(
                actor=portal_actor(request), device=device, code=request.POST.get("code", "")
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            return _enrolled(request, device, "totp")
    # A viewBox instead of a fixed size, so the CSS box scales the code rather than crop it.
    qr = segno.make(device.config_url, error="m").svg_inline(scale=4, omitsize=True)
    secret = _base32(device)
    return render(request, "accounts/totp_add.html", {"qr": qr, "secret": secret, "device": device})


def _base32(device: TOTPDevice) -> str:
    raw = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def _enrolled(request, device, kind: str):
    """After a new device proved itself: done, or the recovery-code step of a first factor."""
    codes = two_factor.factor_enroll_verified(actor=portal_actor(request), device=device)
    if codes is None:
        messages.success(request, f"Added your {two_factor.factor_label(device)}.")
        return redirect("accounts:security")
    request.session[PENDING_ENROLL] = {"kind": kind, "id": device.pk}
    return render(request, "accounts/recovery_codes.html", {"codes": codes, "confirm": True})


@login_required
@require_POST
def enroll_confirm(request):
    """The last step of a first factor: enter one of the recovery codes just shown."""
    pending = request.session.get(PENDING_ENROLL)
    device = _pending_device(request.user, pending)
    if device is None:
        messages.error(request, "That enrollment expired. Start again.")
        return redirect("accounts:security")
    try:
        two_factor.factor_enroll_complete(
            actor=portal_actor(request), device=device, recovery_code=request.POST.get("code", "")
        )
    except DomainError as exc:
        messages.error(request, exc.message + " Your codes were replaced; keep this new set.")
        return _enrolled(request, device, pending["kind"])
    del request.session[PENDING_ENROLL]
    session_mark_verified(request, by_factor=True)  # the new factor just proved itself
    messages.success(request, "Two-factor authentication is on. Keep your recovery codes safe.")
    return redirect("accounts:security")


def _pending_device(user, pending):
    if not pending:
        return None
    model = TOTPDevice if pending["kind"] == "totp" else WebAuthnCredential
    return model.objects.filter(user=user, pk=pending["id"], confirmed=False).first()


# Security keys -----------------------------------------------------------------------


@login_required
@sudo_required
def key_add(request):
    return render(request, "accounts/key_add.html")


def _json_body(request) -> dict:
    try:
        body = json_parse(request.body or b"{}")
    except ValueError:
        body = None
    return body if isinstance(body, dict) else {}


def _json_error(exc: DomainError, status: int = 400):
    return JsonResponse({"error": exc.message}, status=status)


def _sudo_required_json(view):
    """`sudo_required` for the key ceremony's JSON endpoints: a 403 the page shows, since a
    script cannot follow the detour. Everyone enrolls in sudo mode, people without a
    factor too (theirs is the password)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not sudo_is_fresh(request):
            return JsonResponse({"error": "Confirm it is you first: reload the page."}, status=403)
        return view(request, *args, **kwargs)

    return wrapped


@login_required
@require_POST
@_sudo_required_json
def key_register_begin(request):
    return JsonResponse(key_registration_begin(request, request.user))


@login_required
@require_POST
@_sudo_required_json
def key_register_complete(request):
    body = _json_body(request)
    first = not request.user.has_two_factor
    try:
        device = key_registration_complete(
            request, request.user, body.get("credential") or {}, str(body.get("name", ""))
        )
    except KeyCeremonyFailed as exc:
        return _json_error(exc)
    if first:
        device.confirmed = False  # confirmed once the recovery codes are confirmed
        device.save(update_fields=["confirmed"])
        return JsonResponse({"next": reverse("accounts:key-enrolled", args=[device.pk])})
    two_factor.factor_enroll_verified(actor=portal_actor(request), device=device)
    messages.success(request, f'Added your security key "{device.name}".')
    return JsonResponse({"next": reverse("accounts:security")})


@login_required
@sudo_required
def key_enrolled(request, device_id: int):
    device = WebAuthnCredential.objects.filter(
        user=request.user, pk=device_id, confirmed=False
    ).first()
    if device is None:
        raise Http404("No enrollment in progress.")
    return _enrolled(request, device, "key")


# Removing factors, recovery codes, the mode -----------------------------------------


@login_required
@sudo_required
@require_http_methods(["GET", "POST"])
def factor_remove(request, kind: str, device_id: str):
    model = TOTPDevice if kind == "totp" else WebAuthnCredential
    device = model.objects.filter(user=request.user, pk=device_id, confirmed=True).first()
    if device is None:
        raise Http404("No such factor.")
    label = two_factor.factor_label(device)
    if request.method == "POST":
        two_factor.factor_remove(actor=portal_actor(request), device=device)
        messages.success(request, f"Removed your {label}.")
        return redirect("accounts:security")
    last = len(two_factor.factors_of(request.user)) == 1
    return render(request, "accounts/factor_remove.html", {"label": label, "last": last})


@login_required
@sudo_required
@require_http_methods(["GET", "POST"])
def recovery_regenerate(request):
    if not request.user.has_two_factor:
        return redirect("accounts:security")
    if request.method == "POST":
        codes = two_factor.recovery_codes_regenerate(actor=portal_actor(request), user=request.user)
        return render(request, "accounts/recovery_codes.html", {"codes": codes, "confirm": False})
    return render(request, "accounts/recovery_regenerate.html")


@login_required
@sudo_required
@require_POST
def mode_set(request):
    try:
        two_factor.tfa_mode_set(
            actor=portal_actor(request), user=request.user, mode=request.POST.get("mode", "")
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Saved your two-factor mode.")
    return redirect("accounts:security")


# Sudo mode and the second step of signing in ----------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def sudo(request):
    user = request.user
    if not user.has_two_factor:
        return _sudo_with_password(request)
    if request.method == "POST":
        try:
            matched = two_factor.second_factor_verify(
                actor=portal_actor(request), user=user, code=request.POST.get("code", "")
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            _sudo_granted(request, "code", device=None if matched == "recovery-code" else matched)
            return redirect(next_url(request, "accounts:security"))
    return render(request, "accounts/sudo.html", _step_context(request, user, "sudo"))


def _sudo_with_password(request):
    """People without a second factor confirm with their password."""
    if request.method == "POST":
        try:
            password_verify(
                actor=portal_actor(request),
                username=request.user.username,
                password=request.POST.get("password", ""),
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            _sudo_granted(request, "password")
            return redirect(next_url(request, "accounts:security"))
    return render(request, "accounts/sudo_password.html", {"next": next_url(request, "")})


def _sudo_granted(request, factor: str, device=None) -> None:
    session_reconfirmed(request, device=device, by_factor=factor != "password")
    event_record("2fa:sudo", actor=portal_actor(request), details={"factor": factor})


def _step_context(request, user, purpose: str) -> dict:
    return {
        "has_keys": WebAuthnCredential.objects.filter(user=user, confirmed=True).exists(),
        "has_app": TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
        "purpose": purpose,
        "next": next_url(request, ""),
    }


@require_http_methods(["GET", "POST"])
def login_verify(request):
    """The second step of signing in (accounts.services.login)."""
    user = login_pending_user(request)
    if user is None:
        messages.error(request, "Your sign-in expired. Enter your password again.")
        return redirect("accounts:login")
    if request.method == "POST":
        try:
            login_code_step(request, code=request.POST.get("code", ""))
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            return redirect(next_url(request))
    return render(request, "accounts/login_verify.html", _step_context(request, user, "login"))


# Key assertions (sign-in, passkey sign-in, sudo, CLI approvals) ----------------------


def _assertion_subject(request, purpose: str):
    """Whose key may answer `purpose`; None for a passkey sign-in (any registered passkey)."""
    if purpose == "passkey":
        return None
    if purpose == "login":
        return login_pending_user(request)
    return request.user if request.user.is_authenticated else None


@require_POST
def key_assert_begin(request):
    purpose = str(_json_body(request).get("purpose", ""))
    if not _purpose_allowed(request, purpose):
        return JsonResponse({"error": "Sign in again."}, status=403)
    return JsonResponse(key_assertion_begin(request, _assertion_subject(request, purpose), purpose))


def _purpose_allowed(request, purpose: str) -> bool:
    if purpose == "passkey":
        return True
    if purpose == "login":
        return login_pending_user(request) is not None
    return request.user.is_authenticated and (purpose == "sudo" or purpose.startswith("otp:"))


@require_POST
def key_assert_complete(request):
    body = _json_body(request)
    purpose = str(body.get("purpose", ""))
    if not _purpose_allowed(request, purpose):
        return JsonResponse({"error": "Sign in again."}, status=403)
    subject = _assertion_subject(request, purpose)
    try:
        device = key_assertion_complete(request, subject, purpose, body.get("credential") or {})
    except KeyCeremonyFailed as exc:
        if subject is not None:
            event_record(
                "2fa:verify-failed",
                actor=Actor.for_request(request, subject),
                details={"factor": "key"},
            )
        return _json_error(exc)
    if purpose in ("login", "passkey"):
        login_key_step(request, device=device, passkey=purpose == "passkey")
        return JsonResponse({"next": next_url(request, reverse(settings.LOGIN_REDIRECT_URL))})
    if purpose == "sudo":
        _sudo_granted(request, "key", device=device)
        return JsonResponse({"next": next_url(request, reverse("accounts:security"))})
    challenge_id = purpose.removeprefix("otp:")
    try:
        challenge = otp_challenge_pending(user=request.user, challenge_id=challenge_id)
        otp_challenge_approve(actor=portal_actor(request), challenge=challenge, device=device)
    except DomainError as exc:  # expired, or approved meanwhile in another tab
        return _json_error(exc, exc.status)
    return JsonResponse({"next": reverse("accounts:web-otp", args=[challenge.pk.hex])})


# Approving a CLI write with a key (web OTP) -----------------------------------------


@login_required
def web_otp(request, challenge_id):
    try:
        challenge = otp_challenge_pending(user=request.user, challenge_id=challenge_id)
    except DomainError as exc:
        return render(request, "accounts/web_otp.html", {"error": exc.message}, status=404)
    return render(
        request, "accounts/web_otp.html", {"challenge": challenge, "purpose": f"otp:{challenge.pk}"}
    )
