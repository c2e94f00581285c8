from django.contrib import admin

from registry.models import Package, Version


class VersionInline(admin.TabularInline):
    model = Version
    fields = ("version", "state", "published_at", "publisher")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Package)
class PackageAdmin(admin.ModelAdmin):
    # Read-only here: every change goes through a service so packuments and events follow.
    list_display = ("name", "access", "latest_version", "modified_at")
    search_fields = ("name",)
    readonly_fields = (
        "name",
        "scope",
        "access",
        "revision",
        "latest_version",
        "created_at",
        "modified_at",
    )
    exclude = ("description", "keywords", "unpublished_at")
    inlines = [VersionInline]

    def has_add_permission(self, request):
        return False
