"""Recall and replacement of issued documents; edXML packages exchanged with other agencies.

* :class:`Recall`: the issuing unit's leader recalled an issued document (one per document).
* :class:`RecallNotice`: the recall as a message of its own to one recipient unit, which
  that unit's clerk acknowledges.
* :class:`Replacement`: a new document issued "thay thế văn bản số …" an older one.
* :class:`Package`: every edXML package produced or read (documents and status messages),
  so an import is idempotent and the sender's view can show partners' statuses.
* :class:`PartnerDelivery`: the sender's delivery row for an organisation reached by edXML
  (in or outside this installation), updated by the partner's status messages.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from workflow.documents.models import Document
from workflow.incoming.models import Delivery, IncomingDocument
from workflow.organisation.models import Unit


class Recall(models.Model):
    """A recall by a unit here (``document``) or by another agency through an edXML recall
    package (``document`` empty, ``document_key`` the package's DocumentId)."""

    document = models.OneToOneField(Document, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="recall")
    document_key = models.CharField(max_length=200, blank=True, db_index=True)
    reason = models.TextField(_("reason for recall"))
    recalled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    recalled_at = models.DateTimeField(_("recalled at"))

    class Meta:
        verbose_name = _("recall")
        verbose_name_plural = _("recalls")

    def __str__(self) -> str:
        return f"{self.document} ({self.recalled_at:%Y-%m-%d})"


class RecallNotice(models.Model):
    """The recall delivered to one recipient unit; its clerk acknowledges it."""

    recall = models.ForeignKey(Recall, on_delete=models.CASCADE, related_name="notices")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="recall_notices")
    delivery = models.OneToOneField(Delivery, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="recall_notice")
    incoming = models.ForeignKey(IncomingDocument, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="recall_notices")
    state_before = models.CharField(max_length=20, blank=True)
    sent_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["recall", "unit__path"]
        constraints = [
            models.UniqueConstraint(fields=["recall", "unit"], name="recall_notice_once"),
        ]

    def __str__(self) -> str:
        return f"{self.recall_id} → {self.unit_id}"


class Replacement(models.Model):
    """``new`` replaces ``old``; a document is replaced at most once."""

    new = models.OneToOneField(Document, on_delete=models.CASCADE, related_name="replaces_link")
    old = models.OneToOneField(Document, on_delete=models.PROTECT,
                               related_name="replaced_by_link")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    replaced_at = models.DateTimeField(_("replaced at"), null=True, blank=True)

    class Meta:
        verbose_name = _("replacement")
        verbose_name_plural = _("replacements")

    def __str__(self) -> str:
        return f"{self.new_id} replaces {self.old_id}"


class Direction(models.TextChoices):
    OUT = "out", _("Sent")
    IN = "in", _("Received")


class Kind(models.TextChoices):
    DOCUMENT = "document", _("Document")
    STATUS = "status", _("Status message")
    RECALL = "recall", _("Recall")


class Package(models.Model):
    package_id = models.CharField(_("package identifier"), max_length=80, db_index=True)
    # edXML DocumentId ("OrganId,yyyy/mm/dd,CodeNotation"): the document's identity across
    # packages; status messages name it in ResponseFor.
    document_key = models.CharField(max_length=200, blank=True, db_index=True)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    document = models.ForeignKey(Document, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="edxml_packages")
    incoming = models.ForeignKey(IncomingDocument, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="edxml_packages")
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+", help_text="the local unit it came to or from")
    from_organ = models.CharField(max_length=40, blank=True)
    to_organ = models.CharField(max_length=40, blank=True)
    response_for = models.CharField(max_length=80, blank=True, db_index=True)
    status_code = models.CharField(max_length=4, blank=True)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(default=0)
    source = models.CharField(max_length=20, blank=True)  # upload, api, folder, command
    content = models.BinaryField(blank=True, default=b"")  # status messages only (small)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Importing the same package for the same unit twice creates nothing twice.
            models.UniqueConstraint(fields=["document_key", "unit"],
                                    condition=models.Q(direction="in", kind="document"),
                                    name="package_in_once_per_unit"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.kind} {self.package_id}"


class PartnerDelivery(models.Model):
    """The sender's row for one partner organisation reached by an edXML package."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE,
                                 related_name="partner_deliveries")
    organ_id = models.CharField(_("organisation code"), max_length=40)
    organ_name = models.CharField(_("organisation"), max_length=255, blank=True)
    package_id = models.CharField(max_length=80)
    document_key = models.CharField(max_length=200, blank=True)
    status_code = models.CharField(max_length=4, blank=True)
    status = models.CharField(_("status"), max_length=20, blank=True)
    description = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["document", "organ_id"]
        constraints = [
            models.UniqueConstraint(fields=["document", "organ_id"],
                                    name="partner_delivery_once"),
        ]

    def __str__(self) -> str:
        return f"{self.document_id} → {self.organ_id} ({self.status})"
