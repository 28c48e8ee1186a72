"""Stored files match the SHA-256 recorded when they were written (issue 23 #10).

A signed or issued PDF is checked on every download or view (:func:`open_checked`): a file
whose bytes changed on disk is refused, and administrators are alerted once per altered
content (an audit entry on the document, ``mail_admins`` and the error log). The beat task
``signing.tasks.scan_stored_files`` walks every stored PDF and uploaded file version in
chunks and reports mismatches the same way, so an altered file nobody opens is found too.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.core.mail import mail_admins
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from workflow.audit.models import AuditEntry
from workflow.audit.services import record
from workflow.documents.errors import WorkflowError
from workflow.documents.models import Document, FileVersion

from .models import SignedPdf

logger = logging.getLogger(__name__)

ALTERED = "signing.file_altered"
MISSING = "signing.file_missing"
_CHUNK = 1024 * 1024


class FileAltered(WorkflowError):
    status = 409
    code = "file_altered"
    default_message = _("This file was altered after it was stored: its content no longer "
                        "matches the recorded checksum. It is not served; the administrators "
                        "were alerted.")


def _digest(blob) -> str:
    digest = hashlib.sha256()
    with blob.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _label(item) -> str:
    if isinstance(item, SignedPdf):
        return f"PDF {item.get_stage_display()} #{item.pk} ({item.blob.name})"
    return f"file version {item.number} #{item.pk} ({item.blob.name})"


def _document_of(item) -> Document:
    return item.document if isinstance(item, SignedPdf) else item.file.document


def report_mismatch(item, observed: str, *, actor=None, where: str = "") -> bool:
    """Audit and alert once per (document, observed content); True if this was new.

    Idempotent: a second download of the same altered bytes, or the next scan, finds the
    audit entry naming that content and stays quiet.
    """
    document = _document_of(item)
    action = MISSING if not observed else ALTERED
    comment = (f"{_label(item)}: expected SHA-256 {item.sha256}, "
               f"found {observed or 'no file'}{f'; {where}' if where else ''}")
    with transaction.atomic():
        # The document row lock serialises two detections of the same content.
        Document.objects.select_for_update().filter(pk=document.pk).first()
        seen = AuditEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Document),
            object_id=str(document.pk), action=action, version_hash=observed or item.sha256,
            comment__startswith=_label(item)).exists()
        if seen:
            return False
        record(document, action, actor=actor, to_state=document.state, comment=comment,
               version_hash=observed or item.sha256)
    logger.error("stored file altered: document %s, %s", document.pk, comment)
    transaction.on_commit(lambda: mail_admins(
        f"[MTTQ] Stored file altered: document {document.pk}",
        f"{comment}\n\nThe file is refused on download until it is restored from backup.",
        fail_silently=True))
    return True


def open_checked(pdf: SignedPdf, *, actor=None, where: str = ""):
    """The PDF's file, opened, after its SHA-256 matched the recorded one.

    Raises :class:`FileAltered` (reported to administrators) on a mismatch and
    ``FileNotFoundError`` when the file is gone (also reported).
    """
    try:
        observed = _digest(pdf.blob)
    except (FileNotFoundError, ValueError):
        report_mismatch(pdf, "", actor=actor, where=where)
        raise FileNotFoundError(pdf.blob.name) from None
    if observed != pdf.sha256:
        report_mismatch(pdf, observed, actor=actor, where=where)
        raise FileAltered()
    return pdf.blob.open("rb")


@dataclass
class ScanResult:
    checked: int = 0
    altered: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    reported: int = 0

    def as_dict(self) -> dict:
        return {"checked": self.checked, "altered": len(self.altered),
                "missing": len(self.missing), "reported": self.reported}


def _scan(queryset, result: ScanResult, chunk: int) -> None:
    last = 0
    while True:
        # Keyset pagination: memory stays flat however many files there are.
        items = list(queryset.filter(pk__gt=last).order_by("pk")[:chunk])
        if not items:
            return
        for item in items:
            last = item.pk
            result.checked += 1
            try:
                observed = _digest(item.blob)
            except (FileNotFoundError, ValueError):
                observed = ""
            if observed == item.sha256:
                continue
            (result.missing if not observed else result.altered).append(_label(item))
            if report_mismatch(item, observed, where="periodic scan"):
                result.reported += 1


def scan_stored_files(chunk: int = 200) -> ScanResult:
    """Check every stored PDF and uploaded file version against its recorded SHA-256."""
    result = ScanResult()
    _scan(SignedPdf.objects.select_related("document"), result, chunk)
    _scan(FileVersion.objects.select_related("file__document"), result, chunk)
    return result
