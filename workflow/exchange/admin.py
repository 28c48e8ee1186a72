"""Read-only admin views of recalls, replacements, exchanged packages and partner rows."""

from django.contrib import admin

from .models import Package, PartnerDelivery, Recall, RecallNotice, Replacement


class ReadOnly(admin.ModelAdmin):
    # Written by the services only (audited); the admin shows them.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Recall)
class RecallAdmin(ReadOnly):
    list_display = ("document", "document_key", "recalled_by", "recalled_at")


@admin.register(RecallNotice)
class RecallNoticeAdmin(ReadOnly):
    list_display = ("recall", "unit", "sent_at", "acknowledged_at", "acknowledged_by")


@admin.register(Replacement)
class ReplacementAdmin(ReadOnly):
    list_display = ("new", "old", "created_at", "replaced_at")


@admin.register(Package)
class PackageAdmin(ReadOnly):
    list_display = ("package_id", "direction", "kind", "document_key", "from_organ",
                    "to_organ", "status_code", "source", "created_at")
    list_filter = ("direction", "kind", "source")
    search_fields = ("package_id", "document_key", "from_organ", "to_organ")
    exclude = ("content",)


@admin.register(PartnerDelivery)
class PartnerDeliveryAdmin(ReadOnly):
    list_display = ("document", "organ_id", "organ_name", "status_code", "status", "updated_at")
