"""Case files (hồ sơ), the yearly file plan and handovers to the archive (Decree 30 Art. 28–31).

A file plan (danh mục hồ sơ, Art. 28, Appendix V) lists per unit and year the files
expected to be kept: code, title, retention period and the person who keeps each. A case
file is opened from an entry of the plan (or on its own, Art. 29.2c), collects documents
of every kind (outgoing documents, incl. meeting minutes and critique conclusions, and
incoming documents), is closed with its contents list (Art. 29.4) and handed over to the
unit's archive (nộp lưu, Art. 30), after which the unit can no longer change it.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from workflow.documents.models import Document
from workflow.incoming.models import IncomingDocument
from workflow.organisation.models import Unit

# Appendix VI, part II.III: file notation at most 20 characters, title at most 500.
CODE_MAX = 20
TITLE_MAX = 500
NOTES_MAX = 500
RETENTION_MAX_YEARS = 100
# Art. 31.3c: files kept five years or more go to the unit's archive.
HANDOVER_MIN_YEARS = 5


def retention_label(years: int | None) -> str:
    """Appendix VI field "Maintenance": a number of years or "Vĩnh viễn" (permanent)."""
    from django.utils.translation import gettext as gettext_now

    if years is None:
        return gettext_now("Permanent")
    return gettext_now("%(years)s years") % {"years": years}


class FilePlan(models.Model):
    """The file plan (danh mục hồ sơ) of one unit for one year."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="file_plans",
                             verbose_name=_("unit"))
    year = models.PositiveSmallIntegerField(_("year"))
    notes = models.CharField(_("notes"), max_length=NOTES_MAX, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("approved by"))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    copied_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["unit", "-year"]
        verbose_name = _("file plan")
        verbose_name_plural = _("file plans")
        constraints = [models.UniqueConstraint(fields=["unit", "year"], name="file_plan_once")]

    def __str__(self) -> str:
        return f"{self.unit} {self.year}"


class FilePlanEntry(models.Model):
    """One expected file of the plan: the columns of Appendix V's form."""

    plan = models.ForeignKey(FilePlan, on_delete=models.CASCADE, related_name="entries")
    heading = models.CharField(_("heading"), max_length=200, blank=True,
                               help_text=_("The section of the plan (đề mục) it belongs to."))
    code = models.CharField(_("file number and symbol"), max_length=CODE_MAX)
    title = models.CharField(_("file title"), max_length=TITLE_MAX)
    retention_years = models.PositiveSmallIntegerField(
        _("retention (years)"), null=True, blank=True,
        help_text=_("Empty means permanent (vĩnh viễn)."))
    responsible = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("person keeping the file"))
    notes = models.CharField(_("notes"), max_length=NOTES_MAX, blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["plan", "order", "code"]
        verbose_name = _("file plan entry")
        verbose_name_plural = _("file plan entries")
        constraints = [
            models.UniqueConstraint(fields=["plan", "code"], name="file_plan_entry_code_once"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def retention(self) -> str:
        return retention_label(self.retention_years)


class CaseState(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    ARCHIVED = "archived", _("Handed over to the archive")


class CaseFile(models.Model):
    """A case file (hồ sơ): Appendix VI part II.III metadata plus its state."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="case_files",
                             verbose_name=_("unit"))
    year = models.PositiveSmallIntegerField(_("year"))
    code = models.CharField(_("file number and symbol"), max_length=CODE_MAX, db_index=True)
    title = models.CharField(_("file title"), max_length=TITLE_MAX)
    retention_years = models.PositiveSmallIntegerField(
        _("retention (years)"), null=True, blank=True,
        help_text=_("Empty means permanent (vĩnh viễn)."))
    plan_entry = models.ForeignKey(FilePlanEntry, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="case_files",
                                   verbose_name=_("file plan entry"))
    responsible = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("person keeping the file"))
    language = models.CharField(_("language"), max_length=50, default="Tiếng Việt")
    notes = models.CharField(_("notes"), max_length=NOTES_MAX, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=CaseState.choices,
                             default=CaseState.OPEN, db_index=True)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    handover = models.ForeignKey("Handover", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="files", verbose_name=_("handover"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-year", "unit", "code"]
        verbose_name = _("case file")
        verbose_name_plural = _("case files")
        constraints = [
            models.UniqueConstraint(fields=["unit", "year", "code"], name="case_file_code_once"),
        ]
        indexes = [models.Index(fields=["unit", "state"])]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def retention(self) -> str:
        return retention_label(self.retention_years)

    @property
    def file_code(self) -> str:
        """Appendix VI FileCode: organisation id . year . file notation."""
        organ = self.unit.organ_id or self.unit.code
        return f"{organ}.{self.year}.{self.code}"

    @property
    def appraisal_due(self) -> dt.date | None:
        """The day the retention period ends: counted from 1 January after the file ended."""
        if self.retention_years is None or self.end_date is None:
            return None
        return dt.date(self.end_date.year + 1 + self.retention_years, 1, 1)


class CaseFileItem(models.Model):
    """One document in a case file, in filing order (Appendix VI DocOrdinal).

    Explicit nullable keys, one per kind, so each kind's access filter applies as is:
    meeting minutes and critique conclusions are outgoing documents.
    """

    case_file = models.ForeignKey(CaseFile, on_delete=models.CASCADE, related_name="items")
    ordinal = models.PositiveIntegerField(_("ordinal"))
    document = models.ForeignKey(Document, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="case_file_items")
    incoming = models.ForeignKey(IncomingDocument, null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="case_file_items")
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    filed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case_file", "ordinal"]
        verbose_name = _("document in a case file")
        verbose_name_plural = _("documents in case files")
        constraints = [
            models.CheckConstraint(
                condition=(Q(document__isnull=False, incoming__isnull=True)
                           | Q(document__isnull=True, incoming__isnull=False)),
                name="case_file_item_one_kind"),
            models.UniqueConstraint(fields=["case_file", "document"],
                                    condition=Q(document__isnull=False),
                                    name="case_file_document_once"),
            models.UniqueConstraint(fields=["case_file", "incoming"],
                                    condition=Q(incoming__isnull=False),
                                    name="case_file_incoming_once"),
            models.UniqueConstraint(fields=["case_file", "ordinal"],
                                    name="case_file_ordinal_once"),
        ]

    def __str__(self) -> str:
        return f"{self.case_file_id} #{self.ordinal}"

    @property
    def target(self):
        return self.document if self.document_id else self.incoming


class PackageStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be built")
    BUILDING = "building", _("Being built")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


def package_upload_to(instance: Handover, filename: str) -> str:
    return f"records/handover-{instance.pk}/{filename}"


class Handover(models.Model):
    """One handover (nộp lưu) of closed files to the unit's archive (Art. 30)."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="handovers",
                             verbose_name=_("unit"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("handed over by"))
    created_at = models.DateTimeField(_("handed over at"), auto_now_add=True)
    notes = models.CharField(_("notes"), max_length=NOTES_MAX, blank=True)
    status = models.CharField(_("archive package"), max_length=10,
                              choices=PackageStatus.choices, default=PackageStatus.PENDING)
    package = models.FileField(upload_to=package_upload_to, max_length=300, blank=True)
    package_sha256 = models.CharField(max_length=64, blank=True)
    package_size = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    built_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("handover to the archive")
        verbose_name_plural = _("handovers to the archive")

    def __str__(self) -> str:
        return f"{self.unit} {self.created_at:%d/%m/%Y}"
