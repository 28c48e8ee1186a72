"""Browser forms for outgoing documents.

Forms only parse and shape input; the services in :mod:`workflow.documents.services`
validate it against the domain rules and save it.
"""

from __future__ import annotations

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from tinymce.widgets import TinyMCE

from workflow import access
from workflow.organisation.models import Department, Unit

from . import html_limits
from .errors import InvalidInput
from .models import Document, DocumentType, Priority, Secrecy, State

# Decree 30 drafts are printed in Times New Roman 13–14 pt; the editor shows them that way.
EDITOR_CONTENT_STYLE = (
    "body { font-family: 'Times New Roman', 'Liberation Serif', serif; font-size: 14pt; "
    "line-height: 1.5; margin: 1rem 1.5rem; }"
)


class UnitChoiceField(forms.ModelChoiceField):
    """Units labelled with their depth so the tree shows in a flat select."""

    def label_from_instance(self, obj: Unit) -> str:
        return "\u2003" * max(obj.depth - 1, 0) + obj.name


COMMITTEE_PREFIX = "Ủy ban MTTQ Việt Nam "


def short_unit_name(name: str) -> str:
    """"xã Kim Liên" for "Ủy ban MTTQ Việt Nam xã Kim Liên": the part that differs."""
    return name[len(COMMITTEE_PREFIX):] if name.startswith(COMMITTEE_PREFIX) else name


class UnitMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Recipients: whole names with their parent unit, so that communes of the same
    name in different districts can be told apart in the picker."""

    def label_from_instance(self, obj: Unit) -> str:
        label = obj.name
        parent = getattr(obj, "parent", None)
        if parent is not None and parent.depth > 1:
            label = f"{label} — {short_unit_name(parent.name)}"
        return "\u2003" * max(obj.depth - 1, 0) + label


class DepartmentSelect(forms.Select):
    """Tags each department option with its unit so app.js can hide the other units' ones."""

    def __init__(self, *args, unit_of: dict[int, int] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.unit_of = unit_of or {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        key = getattr(value, "value", value)
        if key in self.unit_of:
            option["attrs"]["data-unit"] = str(self.unit_of[key])
        return option


def editor_widget() -> TinyMCE:
    # The configured default language is Vietnamese; follow the page language instead.
    language = "en" if (get_language() or "vi").startswith("en") else "vi"
    return TinyMCE(
        attrs={"rows": 18},
        mce_attrs={"language": language, "content_style": EDITOR_CONTENT_STYLE},
    )


class DocumentForm(forms.Form):
    """Create and edit a draft. ``unit`` is chosen at creation only."""

    document_type = forms.ModelChoiceField(
        label=_("Document type"), queryset=DocumentType.objects.none(), empty_label=None
    )
    unit = UnitChoiceField(label=_("Issuing unit"), queryset=Unit.objects.none(), empty_label=None)
    drafting_department = forms.ModelChoiceField(
        label=_("Drafting department"),
        queryset=Department.objects.none(),
        required=False,
        empty_label=_("— none —"),
        widget=DepartmentSelect,
    )
    subject = forms.CharField(
        label=_("Subject (trích yếu)"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 500}),
    )
    body = forms.CharField(label=_("Body"), required=False)
    recipient_units = UnitMultipleChoiceField(
        label=_("Recipient units in the system"),
        queryset=Unit.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8, "data-filterable": "true"}),
    )
    external_recipients = forms.CharField(
        label=_("Other recipients"),
        required=False,
        help_text=_("Bodies outside the system, one per line."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    due_date = forms.DateField(
        label=_("Due date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    confidential = forms.BooleanField(label=_("Confidential"), required=False)
    secrecy = forms.ChoiceField(label=_("Confidentiality level"), choices=Secrecy.choices,
                                required=False,
                                help_text=_("Printed as the confidentiality mark; any level "
                                            "makes the document confidential."))
    edit_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, user, document: Document | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.document = document
        self.fields["body"].widget = editor_widget()
        self.fields["body"].widget.is_required = False

        types = DocumentType.objects.filter(is_active=True)
        if document is not None:
            # A type retired after the draft was made must stay selectable for it.
            types = DocumentType.objects.filter(Q(is_active=True) | Q(pk=document.document_type_id))
        self.fields["document_type"].queryset = types

        if document is None:
            units: QuerySet[Unit] = access.drafting_units(user).select_related("level")
            self.fields["unit"].queryset = units
        else:
            units = Unit.objects.filter(pk=document.unit_id)
            del self.fields["unit"]

        departments = Department.objects.filter(unit__in=units, is_active=True).select_related(
            "unit"
        )
        if document is not None and document.drafting_department_id:
            departments = Department.objects.filter(
                Q(pk__in=departments.values("pk")) | Q(pk=document.drafting_department_id)
            ).select_related("unit")
        self.fields["drafting_department"].queryset = departments
        self.fields["drafting_department"].widget.unit_of = {d.pk: d.unit_id for d in departments}

        recipients = Unit.objects.filter(is_active=True)
        if document is not None:
            current = document.recipients.values("unit_id")
            recipients = Unit.objects.filter(Q(is_active=True) | Q(pk__in=current))
        self.fields["recipient_units"].queryset = recipients.select_related("parent").order_by(
            "path")

        if document is None:
            self.fields.pop("edit_version")
            membership = (
                user.memberships.filter(is_active=True, unit__in=units, department__isnull=False)
                .order_by("pk")
                .first()
            )
            if membership and not self.is_bound:
                self.initial.setdefault("unit", membership.unit_id)
                self.initial.setdefault("drafting_department", membership.department_id)
            self.initial.setdefault("priority", Priority.NORMAL)
            # The everyday document is a Công văn (official letter), not the first type
            # in alphabetical order.
            if not self.is_bound and "document_type" not in self.initial:
                letter = types.filter(code="cong-van").values_list("pk", flat=True).first()
                if letter:
                    self.initial["document_type"] = letter

    @classmethod
    def initial_for(cls, document: Document) -> dict:
        return {
            "document_type": document.document_type_id,
            "drafting_department": document.drafting_department_id,
            "subject": document.subject,
            "body": document.body,
            "recipient_units": list(document.recipients.values_list("unit_id", flat=True)),
            "external_recipients": document.external_recipients,
            "priority": document.priority,
            "due_date": document.due_date,
            "confidential": document.confidential,
            "secrecy": document.secrecy,
            "edit_version": document.edit_version,
        }

    def clean_body(self) -> str:
        # The same bounds the service checks, shown on the field itself.
        body = self.cleaned_data.get("body") or ""
        try:
            html_limits.check_body(body)
        except InvalidInput as error:
            raise forms.ValidationError(str(error.message)) from None
        return body

    def clean(self):
        cleaned = super().clean()
        unit = cleaned.get("unit") if self.document is None else self.document.unit
        department = cleaned.get("drafting_department")
        if unit is not None and department is not None and department.unit_id != unit.pk:
            self.add_error(
                "drafting_department",
                _("The drafting department must belong to the issuing unit."),
            )
        return cleaned

    def service_data(self) -> dict:
        """The fields in the shape services.create_document/update_document expect."""
        data = self.cleaned_data
        return {
            "document_type": data["document_type"],
            "subject": data["subject"],
            "body": data.get("body") or "",
            "drafting_department": data.get("drafting_department"),
            "priority": data["priority"],
            "due_date": data.get("due_date"),
            "confidential": data.get("confidential", False),
            "secrecy": data.get("secrecy") or "",
            "external_recipients": data.get("external_recipients") or "",
        }

    def recipient_ids(self) -> list[int]:
        return [unit.pk for unit in self.cleaned_data.get("recipient_units") or []]


class UploadForm(forms.Form):
    """Upload fields other than the file itself.

    The file is taken from ``request.FILES`` as it is: the service's checks give
    the clearer messages (an empty file, a disguised PDF…). In the browser form the
    file comes last, so if the upload is cut off for size the fields before it
    still arrive.
    """

    kind = forms.CharField(required=False)
    file_id = forms.IntegerField(required=False, min_value=1)


class CommentForm(forms.Form):
    text = forms.CharField(
        label=_("Comment"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DocumentFilterForm(forms.Form):
    q = forms.CharField(label=_("Subject contains"), required=False, max_length=200)
    type = forms.ModelChoiceField(
        label=_("Type"),
        queryset=DocumentType.objects.all(),
        required=False,
        empty_label=_("All types"),
    )
    state = forms.ChoiceField(label=_("State"), required=False)
    unit = UnitChoiceField(
        label=_("Unit"), queryset=Unit.objects.none(), required=False, empty_label=_("All units")
    )
    year = forms.TypedChoiceField(label=_("Year"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, visible: QuerySet[Document], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", _("All states")), *State.choices]
        self.fields["unit"].queryset = Unit.objects.filter(
            pk__in=visible.values("unit_id")
        ).order_by("path")
        years = {d.year for d in visible.dates("created_at", "year")}
        issued = visible.filter(issued_at__isnull=False)
        years |= {d.year for d in issued.dates("issued_at", "year")}
        self.fields["year"].choices = [("", _("All years"))] + [
            (y, str(y)) for y in sorted(years, reverse=True)
        ]

    def filter(self, queryset: QuerySet[Document]) -> QuerySet[Document]:
        if not self.is_valid():
            return queryset
        data = self.cleaned_data
        if data.get("q"):
            text = data["q"].strip()
            queryset = queryset.filter(Q(subject__icontains=text) | Q(symbol__icontains=text))
        if data.get("type"):
            queryset = queryset.filter(document_type=data["type"])
        if data.get("state"):
            queryset = queryset.filter(state=data["state"])
        if data.get("unit"):
            queryset = queryset.filter(unit=data["unit"])
        if data.get("year"):
            # An issued document belongs to its issue year (its number series); a draft
            # to the year it was started.
            year = data["year"]
            queryset = queryset.filter(
                Q(issued_at__year=year) | Q(issued_at__isnull=True, created_at__year=year)
            )
        return queryset

    @property
    def active(self) -> bool:
        return self.is_bound and any(self.data.get(name) for name in self.fields)
