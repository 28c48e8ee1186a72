"""Incoming documents in the admin: read-only, since every change goes through the services."""

from django.contrib import admin

from .models import Delivery, IncomingDocument, IncomingFile, IncomingRegister


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(IncomingDocument)
class IncomingDocumentAdmin(ReadOnly):
    list_display = ("arrival_number", "unit", "issuer_name", "number_symbol", "subject",
                    "priority", "state", "deadline")
    list_filter = ("state", "priority", "source")
    search_fields = ("subject", "number_symbol", "issuer_name")


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly):
    list_display = ("document", "unit", "state", "sent_at", "received_at", "attempts")
    list_filter = ("state",)


@admin.register(IncomingFile)
class IncomingFileAdmin(ReadOnly):
    list_display = ("sha256", "size", "content_type", "verdict", "verified_at")
    list_filter = ("verdict",)


@admin.register(IncomingRegister)
class IncomingRegisterAdmin(ReadOnly):
    list_display = ("unit", "year", "last_number")
