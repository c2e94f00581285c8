from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import SecurityEvent, Token, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        ("Gatehouse", {"fields": ("email_verified", "fullname")}),
    )


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
