"""Documents from outside the system: paper scans, e-mail, other agencies' systems.

The clerk uploads the scan or PDF; :func:`prefill` reads the first page's text
layer (number and symbol, date, issuer) to fill the form; scans without text
are read by OCR in the background (:func:`ocr`, Celery) for search. Registration
warns when the same issuer and number/symbol is registered already.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow import access
from workflow.audit.services import record
from workflow.documents.errors import InvalidInput, NotAllowed
from workflow.documents.uploads import check_upload
from workflow.organisation.models import Unit

from . import delivery, services
from .models import IncomingAttachment, IncomingDocument, IncomingFile, Source

log = logging.getLogger(__name__)

NUMBER_RE = re.compile(r"S[ốo]\s*[:.]?\s*([0-9]{1,5}\s*/\s*[0-9A-ZĐa-zđ/\-.]+)")
DATE_RE = re.compile(r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})", re.IGNORECASE)
MOTTO = re.compile(r"CỘNG\s+HÒA|CỘNG\s+HOÀ", re.IGNORECASE)


def first_page_text(item: IncomingFile) -> str:
    """The first page's text: OCR when it has run (a scan), else the PDF's text layer.

    Without a broker OCR runs right after the upload, so a scan is pre-filled too; with
    a worker the form is shown at once, pre-filled from the text layer when there is one.
    """
    item.refresh_from_db(fields=["ocr_text", "ocr_done"])
    if item.ocr_text.strip():
        return item.ocr_text.split("\f", 1)[0][:4000]
    if item.content_type != delivery.PDF:
        return ""
    from search import extract

    try:
        pages = extract.extract(item.read(), item.content_type).pages
    except Exception as exc:  # noqa: BLE001 - a form without pre-fill is still a form
        log.info("no text from %s: %s", item.sha256, exc)
        return ""
    return pages[0] if pages else ""


def prefill(text: str) -> dict:
    """Number/symbol, date and issuer read from a first page, where they can be read."""
    import datetime as dt

    found: dict = {}
    if m := NUMBER_RE.search(text):
        found["number_symbol"] = re.sub(r"\s+", "", m.group(1)).rstrip(".")
    if m := DATE_RE.search(text):
        with contextlib.suppress(ValueError):
            found["issued_on"] = dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    head = MOTTO.split(text, maxsplit=1)[0] if MOTTO.search(text) else ""
    lines = [ln.strip() for ln in head.splitlines() if ln.strip()]
    if lines:
        found["issuer_name"] = " ".join(lines[:3])[:255]
    return found


def upload(user, unit: Unit, uploaded) -> IncomingFile:
    """Keep the uploaded scan/PDF (checked like any upload) and start OCR when needed."""
    if not access.actor_for(user).has("clerk", unit.pk):
        raise NotAllowed(_("Only the unit's clerk registers incoming documents."))
    checked = check_upload(uploaded, main=True)
    uploaded.seek(0)
    item = delivery.store(uploaded.read(), checked.content_type)
    if not item.ocr_done:
        from .tasks import ocr_file

        transaction.on_commit(lambda: ocr_file.delay(item.pk))
    return item


def ocr(file_id: int) -> int:
    """Text of a scan for search and pre-fill: the text layer, else tesseract (vie)."""
    item = IncomingFile.objects.filter(pk=file_id, ocr_done=False).first()
    if item is None:
        return 0
    data = item.read()
    text = ""
    try:
        if item.content_type == delivery.PDF:
            from search import extract

            result = extract.extract(data, item.content_type)
            pages = list(result.pages)
            if result.pages_needing_ocr:
                for number, page in extract.ocr_pdf_pages(
                        data, result.pages_needing_ocr,
                        lang=getattr(settings, "SEARCH_OCR_LANG", "vie")).items():
                    pages[number - 1] = page
            text = "\n\f".join(pages)
        elif item.content_type.startswith("image/") and shutil.which("tesseract"):
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "scan"
                path.write_bytes(data)
                out = subprocess.run(["tesseract", str(path), "-", "-l",
                                      getattr(settings, "SEARCH_OCR_LANG", "vie")],
                                     capture_output=True, timeout=600, check=False)
                text = out.stdout.decode("utf-8", "replace")
    except Exception as exc:  # noqa: BLE001 - OCR failing leaves the scan without text
        log.warning("OCR of incoming file %s failed: %s", file_id, exc)
    IncomingFile.objects.filter(pk=file_id, ocr_done=False).update(ocr_text=text[:200000],
                                                                    ocr_done=True)
    from .signals import incoming_changed_many

    incoming_changed_many(IncomingAttachment.objects.filter(file_id=file_id)
                          .values_list("incoming_id", flat=True))
    return len(text)


def register_external(user, unit: Unit, *, data: dict, file_id=None, source: str = Source.PAPER,
                      confirm_duplicate: bool = False) -> IncomingDocument:
    """Create and register, in one transaction, a document received from outside."""
    if source not in Source.values or source == Source.SYSTEM:
        raise InvalidInput(_("Choose how the document was received."))
    cleaned = services.clean_fields({"issuer_name": data.get("issuer_name"),
                                     "subject": data.get("subject"),
                                     **{k: v for k, v in data.items() if k in services.EDITABLE}})
    item = IncomingFile.objects.filter(pk=file_id).first() if file_id else None
    if file_id and item is None:
        raise InvalidInput(_("Upload the scan or PDF again."))
    with transaction.atomic():
        if not access.actor_for(user).has("clerk", unit.pk):
            raise NotAllowed(_("Only the unit's clerk registers incoming documents."))
        incoming = IncomingDocument.objects.create(unit=unit, source=source,
                                                   arrived_at=timezone.now(), **cleaned)
        if item is not None:
            IncomingAttachment.objects.create(incoming=incoming, file=item, main=True,
                                              name=(data.get("file_name") or "scan")[:255])
        record(incoming, "incoming.receive", actor=user, to_state=incoming.state,
               comment=incoming.get_source_display())
        return services.register(user, incoming.pk, expected_state=incoming.state,
                                 confirm_duplicate=confirm_duplicate)
