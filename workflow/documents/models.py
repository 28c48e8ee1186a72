"""Outgoing documents (văn bản đi), their files, recipients, comments and registers."""

from __future__ import annotations

import hashlib
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from workflow.organisation.models import Department, Unit


class Series(models.TextChoices):
    """Number series that Decree 30 Art. 15 keeps apart."""

    GENERAL = "general", _("General documents")
    LEGAL = "legal", _("Legal normative documents")
    CONFIDENTIAL = "confidential", _("Confidential documents")


class DocumentType(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    abbreviation = models.CharField(
        _("abbreviation"), max_length=20, blank=True, help_text=_("Empty for Công văn.")
    )
    series = models.CharField(
        _("series"), max_length=20, choices=Series.choices, default=Series.GENERAL
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("document type")
        verbose_name_plural = _("document types")

    def __str__(self) -> str:
        return self.name


class ReviewRule(models.Model):
    """Which reviews a document needs before a leader approves it.

    The most specific rule wins: (type, unit), then (type, any ancestor unit),
    then (type, any unit), then (any type, unit/ancestor), then the built-in default.
    """

    document_type = models.ForeignKey(
        DocumentType, null=True, blank=True, on_delete=models.CASCADE, verbose_name=_("type")
    )
    unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.CASCADE, verbose_name=_("unit")
    )
    steps = models.JSONField(
        _("review steps"),
        default=list,
        help_text=_('Ordered roles that must forward the draft, e.g. ["head", "leader"].'),
    )

    class Meta:
        verbose_name = _("review rule")
        verbose_name_plural = _("review rules")
        constraints = [
            models.UniqueConstraint(
                fields=["document_type", "unit"],
                name="review_rule_unique",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.document_type or '*'} @ {self.unit or '*'}: {self.steps}"


class Priority(models.TextChoices):
    NORMAL = "normal", _("Normal")
    URGENT = "urgent", _("Urgent")
    EXPRESS = "express", _("Express")
    FLASH = "flash", _("Flash")


class Secrecy(models.TextChoices):
    """Levels of the confidentiality mark (dấu chỉ độ mật, Decree 30 Appendix I §III.2a)."""

    NONE = "", _("Not confidential")
    MAT = "mat", _("Confidential (Mật)")
    TOI_MAT = "toi_mat", _("Secret (Tối mật)")
    TUYET_MAT = "tuyet_mat", _("Top secret (Tuyệt mật)")


class State(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Under review")
    REVIEWED = "reviewed", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    SIGNED = "signed", _("Signed")
    ISSUED = "issued", _("Issued")
    ARCHIVED = "archived", _("Archived")
    RETURNED = "returned", _("Returned")
    WITHDRAWN = "withdrawn", _("Withdrawn")


def _allowed(action: str):
    """Permission callable for django-fsm that defers to the one access module."""

    def check(instance: Document, user) -> bool:
        from workflow import access

        return access.can(user, action, instance)

    check.__name__ = f"can_{action}"
    return check


OPEN_STATES = [State.DRAFT, State.RETURNED]
PUBLISHED_STATES = [State.ISSUED, State.ARCHIVED]


class Document(ConcurrentTransitionMixin, models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="documents", verbose_name=_("issuing unit")
    )
    document_type = models.ForeignKey(
        DocumentType, on_delete=models.PROTECT, verbose_name=_("document type")
    )
    subject = models.CharField(_("subject"), max_length=500)
    body = models.TextField(_("body"), blank=True)
    drafter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="drafted_documents",
        verbose_name=_("drafter"),
    )
    drafting_department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="documents",
        verbose_name=_("drafting department"),
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    confidential = models.BooleanField(_("confidential"), default=False)
    # The printed level; any level makes the document confidential (restricted readers).
    secrecy = models.CharField(_("confidentiality level"), max_length=10, blank=True,
                               default="", choices=Secrecy.choices)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    external_recipients = models.TextField(
        _("other recipients"), blank=True, help_text=_("One recipient outside the system per line.")
    )

    # Not ``protected``: django-fsm's protection breaks refresh_from_db(); services
    # are the only writers of state and go through the transitions below.
    state = FSMField(_("state"), default=State.DRAFT, choices=State.choices, db_index=True)
    review_steps = models.JSONField(default=list, editable=False)
    review_step = models.PositiveSmallIntegerField(default=0, editable=False)
    awaiting_role = models.CharField(max_length=20, blank=True, editable=False, db_index=True)
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_hash = models.CharField(max_length=64, blank=True, editable=False)
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("signer"),
    )
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    number = models.PositiveIntegerField(_("number"), null=True, blank=True)
    symbol = models.CharField(_("number and symbol"), max_length=80, blank=True, db_index=True)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    issuer_name = models.CharField(_("issuing body name at issue"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    edit_version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        verbose_name = _("outgoing document")
        verbose_name_plural = _("outgoing documents")
        indexes = [
            models.Index(fields=["unit", "state"]),
            models.Index(fields=["drafter", "state"]),
        ]


    def __str__(self) -> str:
        return f"{self.symbol or self.document_type} {self.subject}"

    # The approval flow. Transition bodies only move state and bookkeeping; the
    # services lock the row, check permission and expected state, write the audit
    # record and enqueue follow-up work.

    @transition(field=state, source=OPEN_STATES,
                target=RETURN_VALUE(State.SUBMITTED, State.REVIEWED),
                permission=_allowed("submit"))
    def submit(self, steps: list[str]) -> str:
        self.review_steps = steps
        self.review_step = 0
        self.awaiting_role = steps[0] if steps else ""
        # With no review step left the draft goes straight to the approver.
        return State.SUBMITTED if steps else State.REVIEWED

    @transition(field=state, source=State.SUBMITTED,
                target=RETURN_VALUE(State.SUBMITTED, State.REVIEWED),
                permission=_allowed("forward"))
    def forward(self) -> str:
        self.review_step += 1
        if self.review_step < len(self.review_steps):
            self.awaiting_role = self.review_steps[self.review_step]
            return State.SUBMITTED
        self.awaiting_role = ""
        return State.REVIEWED

    @transition(field=state, source=[State.SUBMITTED, State.REVIEWED],
                target=State.RETURNED, permission=_allowed("return"))
    def send_back(self) -> None:
        self.awaiting_role = ""
        self.review_step = 0

    @transition(field=state, source=State.REVIEWED, target=State.APPROVED,
                permission=_allowed("approve"))
    def approve(self, user) -> None:
        self.approver = user
        self.signer = user
        self.approved_hash = self.content_hash()

    @transition(field=state, source=State.APPROVED, target=State.SIGNED,
                permission=_allowed("sign"))
    def sign(self, at) -> None:
        self.signed_at = at

    @transition(field=state, source=State.SIGNED, target=State.ISSUED,
                permission=_allowed("issue"))
    def issue(self, *, number: int, symbol: str, at) -> None:
        self.number = number
        self.symbol = symbol
        self.issued_at = at
        self.issuer_name = self.unit.name

    @transition(field=state, source=State.ISSUED, target=State.ARCHIVED,
                permission=_allowed("archive"))
    def archive(self) -> None:
        pass

    @transition(field=state,
                source=[State.DRAFT, State.SUBMITTED, State.REVIEWED, State.RETURNED],
                target=State.WITHDRAWN, permission=_allowed("withdraw"))
    def withdraw(self) -> None:
        self.awaiting_role = ""


    @property
    def year(self) -> int | None:
        from django.utils import timezone

        return timezone.localtime(self.issued_at).year if self.issued_at else None

    @property
    def issuing_unit_name(self) -> str:
        """The issuer's name as it was on the day of issue (units are renamed and merged)."""
        return self.issuer_name or self.unit.name

    @property
    def recipient_names(self) -> list[str]:
        names = [r.unit.name for r in self.recipients.select_related("unit")]
        names += [line.strip() for line in self.external_recipients.splitlines() if line.strip()]
        return names

    def content_hash(self) -> str:
        """SHA-256 over what an approver sees: type, subject, body, current files."""
        digest = hashlib.sha256()
        for part in (str(self.document_type_id), self.subject, self.body):
            digest.update(part.encode("utf-8"))
            digest.update(b"\x00")
        for file in self.files.order_by("pk"):
            current = file.current_version
            digest.update(f"{file.kind}:{file.pk}:".encode())
            digest.update((current.sha256 if current else "").encode())
            digest.update(b"\x00")
        return digest.hexdigest()


class DocumentRecipient(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="recipients")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="received_documents")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["document", "unit"], name="recipient_unique"),
        ]

    def __str__(self) -> str:
        return str(self.unit)


class FileKind(models.TextChoices):
    MAIN = "main", _("Main document")
    ATTACHMENT = "attachment", _("Attachment")


class DocumentFile(models.Model):
    """A logical file of a document; every upload adds a :class:`FileVersion`."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="files")
    kind = models.CharField(_("kind"), max_length=20, choices=FileKind.choices)
    name = models.CharField(_("name"), max_length=255)
    current_version = models.ForeignKey(
        "FileVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["kind", "pk"]

    def __str__(self) -> str:
        return self.name


def version_upload_to(instance: FileVersion, filename: str) -> str:
    return f"documents/{instance.file.document.uuid}/{instance.sha256[:16]}-{filename}"


class FileVersion(models.Model):
    file = models.ForeignKey(DocumentFile, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    blob = models.FileField(upload_to=version_upload_to, max_length=400)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=120)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["file", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["file", "number"], name="file_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} v{self.number}"


class Comment(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    text = models.TextField(_("comment"))
    state = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.author}: {self.text[:40]}"


class OutgoingRegister(models.Model):
    """The outgoing register (sổ đăng ký văn bản đi) of one unit, series and year."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="registers")
    year = models.PositiveSmallIntegerField()
    series = models.CharField(max_length=60)
    last_number = models.PositiveIntegerField(default=0)
    # Set when the unit was merged away by a reorganisation: the register is kept
    # (readable, nothing renumbered) but takes no further numbers.
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "year", "series"], name="register_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.unit} {self.year} {self.series}"


class RegisterEntry(models.Model):
    register = models.ForeignKey(OutgoingRegister, on_delete=models.PROTECT, related_name="entries")
    number = models.PositiveIntegerField()
    symbol = models.CharField(max_length=80)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    document = models.OneToOneField(
        Document, on_delete=models.PROTECT, related_name="register_entry"
    )
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["register", "number"]
        constraints = [
            models.UniqueConstraint(fields=["register", "number"], name="register_number_unique"),
            models.UniqueConstraint(fields=["register", "symbol"], name="register_symbol_unique"),
        ]

    def __str__(self) -> str:
        return self.symbol

