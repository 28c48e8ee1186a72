"""Admin: read-mostly views of the records; reopening a closed file is the one admin act."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from workflow.documents.errors import WorkflowError

from . import services
from .models import CaseFile, CaseFileItem, CaseState, FilePlan, FilePlanEntry, Handover


class EntryInline(admin.TabularInline):
    model = FilePlanEntry
    extra = 0
    fields = ("order", "heading", "code", "title", "retention_years", "responsible", "notes")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FilePlan)
class FilePlanAdmin(admin.ModelAdmin):
    list_display = ("unit", "year", "approved_at")
    list_filter = ("year",)
    search_fields = ("unit__name",)
    readonly_fields = ("unit", "year", "notes", "approved_by", "approved_at", "copied_from",
                       "created_by")
    inlines = [EntryInline]

    def has_add_permission(self, request) -> bool:
        return False


class ItemInline(admin.TabularInline):
    model = CaseFileItem
    extra = 0
    fields = ("ordinal", "document", "incoming", "filed_by", "filed_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReopenForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea)


@admin.register(CaseFile)
class CaseFileAdmin(admin.ModelAdmin):
    list_display = ("code", "title", "unit", "year", "state", "retention_years")
    list_filter = ("state", "year")
    search_fields = ("code", "title", "unit__name")
    readonly_fields = [f.name for f in CaseFile._meta.fields]
    inlines = [ItemInline]
    actions = ["reopen"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Reopen the closed files (with a reason, audited)"))
    def reopen(self, request, queryset):
        files = list(queryset.filter(state=CaseState.CLOSED))
        if "apply" in request.POST:
            form = ReopenForm(request.POST)
            if form.is_valid():
                done = 0
                for case_file in files:
                    try:
                        services.reopen_case_file(request.user, case_file.pk,
                                                  reason=form.cleaned_data["reason"])
                        done += 1
                    except WorkflowError as exc:
                        self.message_user(request, f"{case_file.code}: {exc.message}",
                                          messages.ERROR)
                self.message_user(request, _("%(n)s files reopened.") % {"n": done})
                return redirect(request.get_full_path())
        else:
            form = ReopenForm()
        return render(request, "admin/records/reopen.html", {
            "files": files, "form": form, "opts": self.model._meta,
            "ids": [f.pk for f in files], "title": _("Reopen case files")})


@admin.register(Handover)
class HandoverAdmin(admin.ModelAdmin):
    list_display = ("unit", "created_at", "status", "package_sha256")
    readonly_fields = [f.name for f in Handover._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
