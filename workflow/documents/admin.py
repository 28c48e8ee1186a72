"""Admin for document configuration (types, review rules) and read-only views of
documents and registers. Documents change only through the services; the lists
show what :mod:`workflow.access` lets the person see."""

from __future__ import annotations

from django.contrib import admin

from workflow import access

from .models import Document, DocumentType, OutgoingRegister, RegisterEntry, ReviewRule


@admin.register(DocumentType)
class DocumentTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "abbreviation", "code", "series", "is_active")
    list_filter = ("series", "is_active")
    search_fields = ("name", "abbreviation", "code")

    def has_delete_permission(self, request, obj=None) -> bool:
        # Issued documents keep their type; retire a type by unticking "active".
        return False


@admin.register(ReviewRule)
class ReviewRuleAdmin(admin.ModelAdmin):
    list_display = ("document_type", "unit", "steps")
    list_filter = ("document_type",)
    autocomplete_fields = ("unit",)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ("symbol", "subject", "document_type", "unit", "state", "issued_at",
                    "updated_at")
    list_filter = ("state", "document_type", "confidential", "priority")
    search_fields = ("subject", "symbol")
    date_hierarchy = "created_at"
    list_select_related = ("document_type", "unit")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(access.visible_documents_q(request.user))


class RegisterEntryInline(admin.TabularInline):
    model = RegisterEntry
    fields = ("number", "symbol", "document", "issued_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).filter(
            document__in=access.visible_documents(request.user).values("pk")
        )


@admin.register(OutgoingRegister)
class OutgoingRegisterAdmin(ReadOnlyAdmin):
    list_display = ("unit", "year", "series", "last_number")
    list_filter = ("year", "series")
    search_fields = ("unit__name",)
    list_select_related = ("unit",)
    inlines = [RegisterEntryInline]

    def get_queryset(self, request):
        # Numbers reveal what was issued: show registers of units the person may read.
        visible = access.visible_documents(request.user).values("unit_id")
        return super().get_queryset(request).filter(unit_id__in=visible).distinct()
