"""Admin for signing delegations; changes made here are not audited, the page
(/signing/delegations/) and its service are the everyday way."""

from django.contrib import admin

from .models import SigningDelegation


@admin.register(SigningDelegation)
class SigningDelegationAdmin(admin.ModelAdmin):
    list_display = ("unit", "capacity", "grantee", "grantor", "valid_from", "valid_to",
                    "ended_at")
    list_filter = ("capacity",)
    search_fields = ("grantee__username", "grantee__full_name", "unit__name", "note")
    autocomplete_fields = ("unit", "grantor", "grantee")
    filter_horizontal = ("document_types",)
    readonly_fields = ("created_by", "created_at", "ended_by")
