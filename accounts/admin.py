"""The admin's pages for accounts. Staff reach them only with a verified second factor
(accounts.admin_site), never see a factor's secret (OTP_ADMIN_HIDE_SENSITIVE_DATA), and
remove factors through the account service, as the person would."""

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin as OTPTOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.admin import WebAuthnCredentialAdmin as OTPWebAuthnCredentialAdmin
from django_otp_webauthn.models import WebAuthnCredential

from accounts.actors import Actor
from accounts.models import SecurityEvent, Token, User
from accounts.services import two_factor
from portal.errors import DomainError


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        ("Gatehouse", {"fields": ("email_verified", "pending_email", "fullname", "tfa_mode")}),
    )
    # 2FA is on exactly when the person holds a factor, and a pending address waits for its
    # link: only the services change them.
    readonly_fields = ("pending_email", "tfa_mode")


@admin.register(Token)
class TokenAdmin(admin.ModelAdmin):
    list_display = (
        "display_prefix",
        "user",
        "kind",
        "name",
        "created_at",
        "last_used_at",
        "last_used_ip",
    )
    readonly_fields = (
        "key",
        "token_hash",
        "display_prefix",
        "created_at",
        "last_used_at",
        "last_used_ip",
    )
    search_fields = ("user__username", "name")


@admin.register(SecurityEvent)
class SecurityEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "action", "actor", "user", "package_name", "ip")
    list_filter = ("action",)
    search_fields = ("user__username", "package_name")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


# Second factors ----------------------------------------------------------------------


@admin.action(permissions=["delete"], description="Delete selected %(verbose_name_plural)s")
def delete_selected(modeladmin, request, queryset):
    """Django's bulk delete (with its confirmation page), all or nothing: a refusal from
    the account service undoes the removals before it."""
    try:
        with transaction.atomic():
            return django_delete_selected(modeladmin, request, queryset)
    except DomainError as exc:
        modeladmin.message_user(request, exc.message, messages.ERROR)
        return None


class FactorAdmin(admin.ModelAdmin):
    """Factors are enrolled by their owner in the portal; here they can be looked at and
    removed. Removing one goes through `two_factor.factor_remove` (single and bulk): the
    last one turns 2FA off, and the removal is recorded and the person told."""

    actions = [delete_selected]

    def has_add_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "user", "confirmed")

    def delete_model(self, request, obj):
        two_factor.factor_remove(actor=Actor.for_request(request, request.user), device=obj)

    def delete_queryset(self, request, queryset):
        actor = Actor.for_request(request, request.user)
        for device in queryset.select_related("user"):
            two_factor.factor_remove(actor=actor, device=device)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            opts = self.opts
            return redirect(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[object_id])
            )


class TOTPDeviceAdmin(FactorAdmin, OTPTOTPDeviceAdmin):
    pass


class WebAuthnCredentialAdmin(FactorAdmin, OTPWebAuthnCredentialAdmin):
    pass


admin.site.unregister(TOTPDevice)
admin.site.register(TOTPDevice, TOTPDeviceAdmin)
admin.site.register(WebAuthnCredential, WebAuthnCredentialAdmin)
