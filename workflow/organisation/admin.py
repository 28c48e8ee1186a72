"""Admin for the organisation tree. Changes go through the organisation services,
so paths stay right and every change leaves an audit record."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from knox.models import AuthToken

from workflow.audit.services import record

from . import services
from .models import Department, Level, Membership, Unit, User


@admin.register(Level)
class LevelAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "rank")
    ordering = ("rank",)


class UnitAdminForm(forms.ModelForm):
    class Meta:
        model = Unit
        fields = (
            "name", "parent_name", "abbreviation", "place_name", "code", "organ_id", "level",
            "parent", "is_active",
        )

    def clean_parent(self):
        parent = self.cleaned_data.get("parent")
        instance = self.instance
        if parent is not None and instance.pk and parent.path.startswith(instance.path):
            raise forms.ValidationError(
                _("A unit cannot be placed under itself or one of its sub-units.")
            )
        return parent


class DepartmentInline(admin.TabularInline):
    model = Department
    extra = 0
    fields = ("name", "abbreviation", "own_series", "is_active")
    show_change_link = True


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    form = UnitAdminForm
    list_display = ("name", "code", "level", "parent", "abbreviation", "is_active")
    list_filter = ("level", "is_active")
    search_fields = ("name", "code", "organ_id")
    autocomplete_fields = ("parent",)
    readonly_fields = ("path", "retired_at", "merged_into")
    list_select_related = ("level", "parent")
    inlines = [DepartmentInline]
    actions = ["retire_selected"]
    change_list_template = "admin/organisation/unit_change_list.html"

    def get_urls(self):
        from django.urls import path

        return [
            path("reorganise/", self.admin_site.admin_view(self.reorganise_view),
                 name="organisation_unit_reorganise"),
            *super().get_urls(),
        ]

    def reorganise_view(self, request):
        """Upload a plan → preview (the dry run's report) → apply, in one transaction."""
        from django.shortcuts import redirect
        from django.template.response import TemplateResponse

        from .reorg import PlanError, apply_plan, load_plan, report_lines

        if not self.has_change_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": _("Apply a reorganisation plan")}
        if request.method == "POST":
            upload = request.FILES.get("plan")
            text = upload.read() if upload else request.POST.get("plan_text", "").encode()
            apply = request.POST.get("apply") == "1" and not upload
            try:
                if not text:
                    raise PlanError([_("Choose a plan file.")])
                plan = load_plan(text)
                report = apply_plan(plan, actor=request.user, dry_run=not apply)
            except PlanError as exc:
                context["errors"] = exc.errors
            else:
                if apply:
                    for line in report_lines(report):
                        self.message_user(request, line, messages.SUCCESS)
                    return redirect("admin:organisation_unit_changelist")
                context.update(report_lines=report_lines(report, detail=20),
                               plan_text=text.decode("utf-8", "replace"))
        return TemplateResponse(request, "admin/organisation/reorganise.html", context)

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            unit = services.create_unit(
                name=obj.name, code=obj.code, level=obj.level, abbreviation=obj.abbreviation,
                parent=obj.parent, parent_name=obj.parent_name, place_name=obj.place_name,
                actor=request.user,
            )
            if obj.organ_id:  # issue #15: the national code, set after creation
                Unit.objects.filter(pk=unit.pk).update(organ_id=obj.organ_id)
            obj.pk, obj.path = unit.pk, unit.path
            return
        with transaction.atomic():
            current = Unit.objects.select_for_update().get(pk=obj.pk)
            if obj.parent_id != current.parent_id:
                services.move_unit(current, new_parent=obj.parent, actor=request.user)
            if obj.name != current.name or obj.abbreviation != current.abbreviation:
                services.rename_unit(
                    current, name=obj.name, abbreviation=obj.abbreviation, actor=request.user
                )
            if current.is_active and not obj.is_active:
                services.retire_unit(current, actor=request.user)
            changed = [
                name for name in ("parent_name", "place_name", "code", "organ_id", "level_id")
                if getattr(obj, name) != getattr(current, name)
            ]
            if not current.is_active and obj.is_active:
                current.retired_at = None
                changed += ["is_active", "retired_at"]
            if changed:
                for name in changed:
                    if name != "retired_at":
                        setattr(current, name, getattr(obj, name))
                current.save(update_fields=["level" if n == "level_id" else n for n in changed])
                record(current, "unit.edit", actor=request.user, comment=", ".join(changed))
        obj.refresh_from_db()

    @admin.action(description=_("Retire the selected units"))
    def retire_selected(self, request, queryset) -> None:
        count = 0
        for unit in queryset.filter(is_active=True):
            services.retire_unit(unit, actor=request.user)
            count += 1
        self.message_user(
            request, _("%(count)d unit(s) retired.") % {"count": count}, messages.SUCCESS
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        # Units are retired or merged, never deleted: their documents must stay.
        return False


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "unit", "abbreviation", "own_series", "is_active")
    list_filter = ("own_series", "is_active")
    search_fields = ("name", "abbreviation", "unit__name")
    autocomplete_fields = ("unit",)
    list_select_related = ("unit",)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    fields = ("unit", "department", "role", "title", "is_active")
    autocomplete_fields = ("unit", "department")


def _record_membership_changes(request, formset) -> None:
    for obj in formset.new_objects:
        record(obj.user, "membership.add", actor=request.user, comment=str(obj))
    for obj, fields in formset.changed_objects:
        record(obj.user, "membership.change", actor=request.user,
               comment=f"{obj}: {', '.join(fields)}")
    for obj in formset.deleted_objects:
        record(obj.user, "membership.delete", actor=request.user, comment=str(obj))


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "full_name", "email", "is_active", "is_staff")
    search_fields = ("username", "full_name", "email")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("full_name", "first_name", "last_name", "email")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",),
                "fields": ("username", "full_name", "password1", "password2")}),
    )
    inlines = [MembershipInline]

    def save_formset(self, request, form, formset, change) -> None:
        # Role grants decide who sees what, so each one is audited.
        with transaction.atomic():
            super().save_formset(request, form, formset, change)
            if formset.model is Membership:
                _record_membership_changes(request, formset)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "unit", "department", "title", "is_active")
    list_filter = ("role", "is_active", "unit__level")
    search_fields = ("user__username", "user__full_name", "unit__name")
    autocomplete_fields = ("user", "unit", "department")
    list_select_related = ("user", "unit", "department")

    def save_model(self, request, obj, form, change) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            record(obj.user, "membership.change" if change else "membership.add",
                   actor=request.user, comment=str(obj))

    def delete_model(self, request, obj) -> None:
        with transaction.atomic():
            record(obj.user, "membership.delete", actor=request.user, comment=str(obj))
            super().delete_model(request, obj)


# API tokens (django-rest-knox): knox's own admin lists the digest and can mint a token in
# a message; this one shows only who holds which token until when, and can revoke.
admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "token_key", "created", "expiry")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__full_name")
    fields = ("user", "token_key", "created", "expiry")
    readonly_fields = fields
    ordering = ("-created",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
