"""Shapes of the REST API. Reading only: every change goes through the services."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from workflow import access, query
from workflow.access import Action
from workflow.audit.models import AuditEntry
from workflow.documents.models import (
    Comment,
    Document,
    DocumentFile,
    DocumentType,
    FileKind,
    FileVersion,
    Priority,
    Secrecy,
    State,
)
from workflow.organisation.models import Unit, User

# --- errors (for the schema) ---------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """Every failure: a stable code for programs and a translated message for people."""

    error = serializers.CharField(help_text=_("Stable error code, e.g. not_found, conflict."))
    message = serializers.CharField(help_text=_("Translated message to show to the user."))
    fields = serializers.DictField(
        required=False,
        child=serializers.ListField(child=serializers.CharField()),
        help_text=_("Per-field messages when the input was not valid."),
    )


# --- small nested shapes -------------------------------------------------------------------


class PersonSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "name"]


class UnitBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Unit
        fields = ["id", "code", "name", "abbreviation"]


class DocumentTypeSerializer(serializers.ModelSerializer):
    series_label = serializers.CharField(source="get_series_display", read_only=True)
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = DocumentType
        fields = ["id", "code", "name", "abbreviation", "series", "series_label", "active"]


class UnitSerializer(serializers.ModelSerializer):
    """One node of the organisation tree; the list comes in tree order (by path)."""

    level = serializers.SlugRelatedField(slug_field="code", read_only=True)
    level_name = serializers.CharField(source="level.name", read_only=True)
    level_rank = serializers.IntegerField(source="level.rank", read_only=True)
    depth = serializers.IntegerField(read_only=True)
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = Unit
        fields = [
            "id", "code", "name", "abbreviation", "parent_name", "place_name",
            "level", "level_name", "level_rank", "parent", "path", "depth",
            "active", "retired_at", "merged_into",
        ]


# --- documents -----------------------------------------------------------------------------


class DocumentSerializer(serializers.ModelSerializer):
    """A document as the requesting person may see it, with what they may do next."""

    unit = UnitBriefSerializer(read_only=True)
    document_type = DocumentTypeSerializer(read_only=True)
    drafter = PersonSerializer(read_only=True)
    approver = PersonSerializer(read_only=True)
    signer = PersonSerializer(read_only=True)
    drafting_department = serializers.SerializerMethodField()
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    priority_label = serializers.CharField(source="get_priority_display", read_only=True)
    recipients = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id", "uuid", "url", "unit", "document_type", "subject", "body", "drafter",
            "drafting_department", "priority", "priority_label", "confidential", "secrecy",
            "due_date", "recipients", "external_recipients", "state", "state_label",
            "awaiting_role", "approver", "signer", "signed_at", "number", "symbol", "issued_at",
            "created_at", "updated_at", "edit_version", "allowed_actions",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {"type": "object", "nullable": True,
         "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
    )
    def get_drafting_department(self, obj: Document) -> dict | None:
        dept = obj.drafting_department
        return {"id": dept.pk, "name": dept.name} if dept else None

    def get_recipients(self, obj: Document) -> list[int]:
        return [r.unit_id for r in obj.recipients.all()]

    @extend_schema_field(
        serializers.ListField(
            child=serializers.ChoiceField(choices=[a.value for a in Action if a != Action.CREATE])
        )
    )
    def get_allowed_actions(self, obj: Document) -> list[str]:
        request = self.context["request"]
        return sorted(access.allowed_actions(request.user, obj))

    def get_url(self, obj: Document) -> str:
        return self.context["request"].build_absolute_uri(
            reverse("api:document-detail", args=[obj.pk])
        )


class DocumentWriteSerializer(serializers.Serializer):
    """Fields a drafter sets; the services validate their meaning."""

    document_type = serializers.PrimaryKeyRelatedField(
        queryset=DocumentType.objects.filter(is_active=True),
        error_messages={"does_not_exist": _("This document type does not exist.")},
    )
    subject = serializers.CharField(max_length=500, allow_blank=True)
    body = serializers.CharField(required=False, allow_blank=True, help_text=_("HTML body."))
    drafting_department = serializers.IntegerField(required=False, allow_null=True)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    confidential = serializers.BooleanField(required=False)
    secrecy = serializers.ChoiceField(
        choices=Secrecy.choices, required=False, allow_blank=True,
        help_text=_("Printed as the confidentiality mark; any level makes the document "
                    "confidential."))
    due_date = serializers.DateField(required=False, allow_null=True)
    external_recipients = serializers.CharField(required=False, allow_blank=True)
    recipients = serializers.ListField(
        child=serializers.IntegerField(), required=False,
        help_text=_("Ids of recipient units inside the system."),
    )

    def service_data(self) -> tuple[dict, list[int] | None]:
        data = dict(self.validated_data)
        data.pop("edit_version", None)
        recipients = data.pop("recipients", None)
        return data, recipients


class DocumentCreateSerializer(DocumentWriteSerializer):
    unit = serializers.PrimaryKeyRelatedField(
        queryset=Unit.objects.all(),
        help_text=_("The issuing unit; you need a drafting role there."),
        error_messages={"does_not_exist": _("This unit does not exist.")},
    )

    def service_data(self) -> tuple[dict, list[int] | None]:
        data, recipients = super().service_data()
        data.pop("unit")
        return data, recipients


class DocumentUpdateSerializer(DocumentWriteSerializer):
    """PATCH: any subset of fields, plus the version the editor started from."""

    edit_version = serializers.IntegerField(
        min_value=1,
        help_text=_(
            "The edit_version you read. If someone changed the document since, the "
            "answer is 409 and nothing is saved."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name != "edit_version":
                field.required = False


# --- files ---------------------------------------------------------------------------------


class FileVersionSerializer(serializers.ModelSerializer):
    uploaded_by = PersonSerializer(read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = FileVersion
        fields = [
            "id", "number", "original_name", "content_type", "size", "sha256",
            "page_count", "uploaded_by", "uploaded_at", "download_url",
        ]

    def get_download_url(self, obj: FileVersion) -> str:
        document_id = obj.file.document_id
        return self.context["request"].build_absolute_uri(
            reverse("api:document-version-download", args=[document_id, obj.pk])
        )


class DocumentFileSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    current_version = serializers.PrimaryKeyRelatedField(read_only=True)
    versions = FileVersionSerializer(many=True, read_only=True)

    class Meta:
        model = DocumentFile
        fields = ["id", "kind", "kind_label", "name", "current_version", "versions"]


class FileUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, use_url=False)
    kind = serializers.ChoiceField(choices=FileKind.choices, default=FileKind.ATTACHMENT)
    file_id = serializers.IntegerField(
        required=False, allow_null=True,
        help_text=_("Give the id of an existing file to upload a new version of it."),
    )


# --- comments, transitions, history --------------------------------------------------------


class CommentSerializer(serializers.ModelSerializer):
    author = PersonSerializer(read_only=True)
    state_label = serializers.SerializerMethodField()

    class Meta:
        model = Comment
        fields = ["id", "author", "text", "state", "state_label", "created_at"]
        read_only_fields = ["id", "author", "state", "state_label", "created_at"]
        extra_kwargs = {"text": {"allow_blank": True}}

    def get_state_label(self, obj: Comment) -> str:
        return str(State(obj.state).label) if obj.state in State.values else obj.state


class TransitionSerializer(serializers.Serializer):
    capacity = serializers.ChoiceField(
        required=False, choices=["TM", "Q", "KT", "TUQ", "TL"], write_only=True,
        help_text=_("sign: the signing capacity (Decree 30 Art. 13), when you hold more "
                    "than one; by default the first you hold."),
    )
    otp = serializers.CharField(
        required=False, allow_blank=True, write_only=True,
        help_text=_("sign and issue: the current code of your authenticator app (or a "
                    "recovery code), unless you proved it within the last minutes "
                    "(POST /api/auth/second-factor/)."),
    )
    token_pin = serializers.CharField(
        required=False, allow_blank=True, write_only=True,
        help_text=_("sign and issue: instead of a code, the PIN of the PKCS#11 token "
                    "holding the key."),
    )
    comment = serializers.CharField(
        required=False, allow_blank=True, default="",
        help_text=_("Required to return or withdraw: the reason."),
    )
    expected_state = serializers.ChoiceField(
        choices=State.choices, required=False, allow_blank=True,
        help_text=_(
            "The state you saw. If the document has moved on, nothing happens and the "
            "answer is 409."
        ),
    )


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = PersonSerializer(read_only=True)

    class Meta:
        model = AuditEntry
        fields = ["id", "at", "actor", "action", "from_state", "to_state", "comment",
                  "version_hash"]


class DocumentFilterSerializer(serializers.Serializer):
    """Query parameters of the document list."""

    type = serializers.CharField(
        required=False, help_text=_("Document type id or code, e.g. ke-hoach.")
    )
    state = serializers.ChoiceField(choices=State.choices, required=False)
    unit = serializers.IntegerField(required=False, min_value=1, max_value=query.ID_MAX,
                                    help_text=_("Issuing unit id."))
    year = serializers.IntegerField(
        required=False, min_value=query.YEAR_MIN, max_value=query.YEAR_MAX,
        help_text=_("Year of issue (for documents not issued yet: year of creation)."),
    )
    q = serializers.CharField(
        required=False, allow_blank=True,
        help_text=_("Text contained in the subject or the number and symbol."),
    )

    def validate_type(self, value: str) -> str:
        value = value.strip()
        if value.isascii() and value.isdigit() and query.int_value(value) is None:
            raise serializers.ValidationError(_("No document type has this id."))
        return value[:100]

    def apply(self, queryset):
        """Narrow an already access-filtered queryset; never widens it."""
        params = self.validated_data
        if params.get("type"):
            value = params["type"].strip()
            if value.isascii() and value.isdigit():
                queryset = queryset.filter(document_type_id=int(value))
            else:
                queryset = queryset.filter(document_type__code=value)
        if params.get("state"):
            queryset = queryset.filter(state=params["state"])
        if params.get("unit") is not None:
            queryset = queryset.filter(unit_id=params["unit"])
        if params.get("year") is not None:
            year = params["year"]
            queryset = queryset.filter(
                Q(issued_at__year=year) | Q(issued_at__isnull=True, created_at__year=year)
            )
        if params.get("q"):
            text = params["q"].strip()
            queryset = queryset.filter(Q(subject__icontains=text) | Q(symbol__icontains=text))
        return queryset


class TokenInfoSerializer(serializers.Serializer):
    """One API token as its owner sees it: never the secret, only its first characters."""

    id = serializers.CharField(help_text=_("The token's first characters; use it to revoke."))
    created = serializers.DateTimeField()
    expiry = serializers.DateTimeField(allow_null=True)
    current = serializers.BooleanField(required=False,
                                       help_text=_("The token this request was sent with."))


class IssuedTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text=_("Shown once: it is stored only as a digest."))
    id = serializers.CharField()
    created = serializers.DateTimeField()
    expiry = serializers.DateTimeField(allow_null=True)
