"""Delivering an issued document to its recipient units, inside the system.

:func:`deliver` is what the Celery task runs. It is idempotent and resumable:
recipients are handled in chunks, each chunk in its own transaction that first
locks the outgoing document (so two runs never interleave) and skips units that
already have their :class:`Delivery`. A worker killed between chunks leaves the
committed chunks in place; the redelivered message (late acknowledgement) or the
reconcile beat task finishes the rest, and the unique (document, unit)
constraint makes a duplicate impossible whatever happens.

What arrives is the issued PDF and its signed attachments, byte for byte: the
bytes are read from the issuer's storage, their SHA-256 checked against the
recorded one, and stored once per hash (:class:`IncomingFile`), however many
units receive them.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from django.apps import apps
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from workflow.audit.services import record
from workflow.documents.models import PUBLISHED_STATES, Document, FileKind
from workflow.organisation.models import Membership, Role

from . import verification
from .models import (
    Delivery,
    DeliveryState,
    IncomingAttachment,
    IncomingDocument,
    IncomingFile,
    Source,
    Verdict,
)

log = logging.getLogger(__name__)

def chunk_size() -> int:
    """Recipients per transaction (``INCOMING_DELIVERY_CHUNK``): what a killed worker redoes."""
    from django.conf import settings

    return max(1, int(getattr(settings, "INCOMING_DELIVERY_CHUNK", 250)))
PDF = "application/pdf"


@dataclass
class Outgoing:
    """One file as issued: where its bytes are and what they must hash to."""

    name: str
    main: bool
    sha256: str
    content_type: str
    field: object  # a FieldFile
    page_count: int | None = None


def issued_files(document: Document) -> list[Outgoing]:
    """The issued PDF and signed attachments when the signing app made them, else the
    document's current files (documents issued without the signing pipeline)."""
    files: list[Outgoing] = []
    signed_attachment_sources: set[int] = set()
    if apps.is_installed("signing"):
        from signing.models import PdfStage

        issued = document.pdf_versions.filter(stage=PdfStage.ISSUED,
                                              source_file__isnull=True).order_by(
            "-created_at", "-pk").first()
        if issued is not None:
            symbol = (document.symbol or "van-ban").replace("/", "-")
            files.append(Outgoing(f"{symbol}.pdf", True, issued.sha256, PDF, issued.blob,
                                  issued.page_count))
            seen: set[int] = set()
            for pdf in document.pdf_versions.filter(stage=PdfStage.ATTACHMENT).select_related(
                    "source_file").order_by("-created_at", "-pk"):
                if pdf.source_file_id in seen:
                    continue
                seen.add(pdf.source_file_id)
                signed_attachment_sources.add(pdf.source_file_id)
                name = pdf.source_file.name if pdf.source_file else "dinh-kem.pdf"
                files.append(Outgoing(name, False, pdf.sha256, PDF, pdf.blob, pdf.page_count))
    have_main = any(f.main for f in files)
    for file in document.files.select_related("current_version").order_by("kind", "pk"):
        version = file.current_version
        if version is None or file.pk in signed_attachment_sources:
            continue
        if file.kind == FileKind.MAIN and have_main:
            continue  # the issued PDF replaces the draft's main file
        files.append(Outgoing(file.name, file.kind == FileKind.MAIN, version.sha256,
                              version.content_type, version.blob, version.page_count))
    return files


def store(data: bytes, content_type: str) -> IncomingFile:
    """Keep ``data`` once under its SHA-256; a concurrent store of the same bytes wins."""
    digest = hashlib.sha256(data).hexdigest()
    existing = IncomingFile.objects.filter(sha256=digest).first()
    if existing is not None:
        return existing
    item = IncomingFile(sha256=digest, size=len(data), content_type=content_type)
    item.blob.save(digest, ContentFile(data), save=False)
    try:
        with transaction.atomic():
            item.save()
    except IntegrityError:
        return IncomingFile.objects.get(sha256=digest)
    return item


def _stored(document: Document) -> list[tuple[Outgoing, IncomingFile]]:
    pairs = []
    for out in issued_files(document):
        existing = IncomingFile.objects.filter(sha256=out.sha256).first()
        if existing is None:
            with out.field.open("rb") as handle:
                data = handle.read()
            if hashlib.sha256(data).hexdigest() != out.sha256:
                # Never deliver bytes that differ from what was issued.
                raise ValueError(f"stored file {out.name} of document {document.pk} "
                                 "does not match its SHA-256")
            existing = store(data, out.content_type)
        pairs.append((out, existing))
    return pairs


def _signer(document: Document) -> tuple[str, str]:
    if not document.signer_id:
        return "", ""
    title = (Membership.objects.filter(user_id=document.signer_id, unit_id=document.unit_id,
                                       role=Role.LEADER).values_list("title", flat=True)
             .first() or "")
    return str(document.signer), title


def incoming_fields(document: Document, files) -> dict:
    """Appendix VI incoming fields, copied from the issued document."""
    signer, position = _signer(document)
    main = next((out for out, _f in files if out.main), None)
    issued = timezone.localtime(document.issued_at).date() if document.issued_at else None
    return {
        "source": Source.SYSTEM, "origin": document,
        "issuer_name": document.issuer_name or document.unit.name,
        "number_symbol": document.symbol, "issued_on": issued,
        "type_name": document.document_type.name, "subject": document.subject,
        "priority": document.priority, "confidential": document.confidential,
        "page_count": main.page_count if main else None,
        "signer_name": signer, "signer_position": position, "deadline": document.due_date,
    }


def _create_incoming(deliveries: list[Delivery], fields: dict, files, now) -> None:
    incoming = IncomingDocument.objects.bulk_create([
        IncomingDocument(unit_id=d.unit_id, delivery=d, arrived_at=now, **fields)
        for d in deliveries
    ])
    IncomingAttachment.objects.bulk_create([
        IncomingAttachment(incoming=i, file=f, name=out.name[:255], main=out.main)
        for i in incoming for out, f in files
    ])


def deliver(document_id: int, chunk: int | None = None) -> dict:
    """Deliver ``document_id`` to every recipient unit that has no delivery yet."""
    document = Document.objects.select_related("unit", "document_type").filter(
        pk=document_id).first()
    if document is None or document.state not in PUBLISHED_STATES:
        return {"created": 0}
    chunk = chunk or chunk_size()
    files = _stored(document)
    # The check needs only the bytes: queued before the deliveries, so it does not wait
    # behind the search indexing their commits queue.
    queue_verification([f for _o, f in files])
    fields = incoming_fields(document, files)
    recipients = list(document.recipients.order_by("unit_id").values_list("unit_id", flat=True))
    done = set(Delivery.objects.filter(document=document).values_list("unit_id", flat=True))
    todo = [u for u in recipients if u not in done]
    created = 0
    for start in range(0, len(todo), chunk):
        part = todo[start:start + chunk]
        with transaction.atomic():
            Document.objects.select_for_update().filter(pk=document_id).first()
            taken = set(Delivery.objects.filter(document_id=document_id, unit_id__in=part)
                        .values_list("unit_id", flat=True))
            now = timezone.now()
            new = Delivery.objects.bulk_create([
                Delivery(document_id=document_id, unit_id=u, sent_at=now)
                for u in part if u not in taken
            ])
            if not new:
                continue
            _create_incoming(new, fields, files, now)
            record(document, "document.delivered", from_state=document.state,
                   to_state=document.state,
                   comment=f"{len(new)} units; SHA-256 " + ", ".join(
                       f.sha256 for _o, f in files))
            created += len(new)
            from . import signals

            signals.incoming_changed_many(IncomingDocument.objects.filter(
                delivery__in=new).values_list("pk", flat=True))
    return {"created": created, "files": len(files)}


def queue_verification(files: list[IncomingFile]) -> None:
    from .tasks import verify_file

    for item in {f.pk: f for f in files}.values():
        if item.verdict == Verdict.PENDING:
            transaction.on_commit(lambda pk=item.pk: verify_file.delay(pk))


def verify(file_id: int) -> str:
    """Check one received file's signatures once per SHA-256; returns the verdict."""
    item = IncomingFile.objects.filter(pk=file_id).first()
    if item is None:
        return ""
    if item.verdict != Verdict.PENDING:
        return item.verdict
    data = item.read()
    if hashlib.sha256(data).hexdigest() != item.sha256:
        check = verification.SignatureCheck(verification.FAILED,
                                            message="stored bytes do not match their SHA-256")
    elif item.content_type != PDF:
        check = verification.SignatureCheck(verification.INDETERMINATE,
                                            message="not a PDF: no signature to check")
    else:
        check = verification.check_signature(data)
    IncomingFile.objects.filter(pk=item.pk, verdict=Verdict.PENDING).update(
        verdict=check.verdict, signers=check.signers, level=check.level[:40],
        signing_time=check.time[:40], verification_message=check.message,
        verified_at=timezone.now())
    return check.verdict


def resend(delivery: Delivery, now) -> IncomingDocument:
    """A returned delivery goes out again: a fresh incoming record at the unit."""
    document = delivery.document
    files = _stored(document)
    delivery.state = DeliveryState.SENT
    delivery.sent_at = now
    delivery.attempts += 1
    delivery.returned_at = None
    delivery.save(update_fields=["state", "sent_at", "attempts", "returned_at"])
    _create_incoming([delivery], incoming_fields(document, files), files, now)
    queue_verification([f for _o, f in files])
    return IncomingDocument.objects.filter(delivery=delivery).order_by("-pk").first()


def missing_deliveries() -> list[int]:
    """Issued documents with a recipient unit that has no delivery yet."""
    from django.db.models import Count, F

    return list(Document.objects.filter(state__in=PUBLISHED_STATES)
                .annotate(r=Count("recipients", distinct=True),
                          d=Count("deliveries", distinct=True))
                .filter(r__gt=F("d")).values_list("pk", flat=True))
