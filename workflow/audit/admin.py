"""The audit log in the admin: read-only, as the log itself is append-only."""

from __future__ import annotations

from django.contrib import admin

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "action", "actor", "content_type", "object_id", "from_state",
                    "to_state")
    list_filter = ("action", "content_type")
    search_fields = ("object_id", "comment", "actor__username", "actor__full_name")
    date_hierarchy = "at"
    list_select_related = ("actor", "content_type")
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
