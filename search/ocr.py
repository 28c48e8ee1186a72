"""Asking OCR to read a scan again, after every automatic retry failed."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from workflow import access
from workflow.audit import services as audit
from workflow.documents.errors import InvalidInput, NotAllowed, NotFound
from workflow.documents.models import FileVersion

from .models import ExtractedText
from .tasks import enqueue_ocr


@transaction.atomic
def retry_ocr(user, version_id: int) -> FileVersion:
    """Queue OCR of a file version again; the clerk's button on the document page.

    Permission: :func:`workflow.access.can_retry_ocr`. The attempt count starts again, the
    task runs after commit in the worker, and the request is audited on the document.
    """
    version = (FileVersion.objects.select_related("file__document")
               .filter(pk=version_id).first())
    if version is None or not access.can(user, access.Action.VIEW, version.file.document):
        raise NotFound()
    document = version.file.document
    if not access.can_retry_ocr(user, document):
        raise NotAllowed()
    record = ExtractedText.objects.select_for_update().filter(file_version=version).first()
    if record is None or not record.ocr_pages:
        raise InvalidInput(_("This file has no scanned pages to read."))
    if record.ocr_pending and not record.ocr_failed:
        return version  # already waiting for the worker: one queued task is enough
    ExtractedText.objects.filter(pk=record.pk).update(ocr_pending=True, ocr_failed=False,
                                                      ocr_attempts=0)
    audit.record(document, "search.ocr_retry", actor=user, comment=version.file.name)
    enqueue_ocr(version.pk)
    return version
