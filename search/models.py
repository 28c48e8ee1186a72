"""Extracted text, kept so that re-indexing never re-reads or re-OCRs a file."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ExtractedText(models.Model):
    """The pages of text of one stored file version (files never change once stored)."""

    file_version = models.OneToOneField(
        "documents.FileVersion", on_delete=models.CASCADE, related_name="extracted_text"
    )
    pages = models.JSONField(default=list)
    method = models.CharField(max_length=30)
    encoding = models.CharField(
        _("text encoding"), max_length=20, default="unicode",
        help_text=_("tcvn3/vni when legacy text was converted; legacy? when it was only flagged."),
    )
    ocr_pages = models.JSONField(default=list, help_text=_("Pages read by OCR (1-based)."))
    ocr_pending = models.BooleanField(default=False)
    error = models.CharField(max_length=300, blank=True)
    # Characters past SEARCH_MAX_PAGE_CHARS / SEARCH_MAX_FILE_CHARS, left out of the index.
    truncated_chars = models.PositiveBigIntegerField(
        _("characters not indexed"), default=0,
        help_text=_("Text past the indexing limits; the document page says it was left out."))
    ocr_attempts = models.PositiveSmallIntegerField(_("OCR attempts"), default=0)
    # Every retry failed: the document shows it and a clerk can ask for another attempt.
    ocr_failed = models.BooleanField(_("OCR failed"), default=False)
    extracted_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("extracted text")
        verbose_name_plural = _("extracted texts")

    def __str__(self) -> str:
        return f"{self.file_version_id}: {len(self.pages)} pages ({self.method})"


class IndexedAcl(models.Model):
    """A digest of the ACL tokens a document was last indexed with.

    Readers change without the document changing (memberships, merges, moves, meeting
    seats): ``reconcile_index`` compares this digest with the tokens computed now and
    re-indexes the documents whose ACL drifted, not only those whose version did.
    """

    document_id = models.BigIntegerField(primary_key=True)
    digest = models.CharField(max_length=40)

    def __str__(self) -> str:
        return f"{self.document_id}: {self.digest}"
