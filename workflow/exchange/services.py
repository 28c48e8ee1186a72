"""edXML exchange: export issued documents, import packages, status messages.

* :func:`export_document`: the edXML package of an issued document (signed PDF and signed
  attachments, byte for byte, from :func:`workflow.incoming.delivery.issued_files`), and a
  :class:`PartnerDelivery` row per addressee so their statuses show on the sender's page.
* :func:`import_package`: a package addressed to units of this installation becomes their
  incoming document (:class:`IncomingDocument`, source "from another agency's system"),
  files stored once per SHA-256 and verified like in-system deliveries. Status messages
  update the sender's rows. Invalid packages raise before anything is written; importing
  the same document twice into a unit creates nothing twice.
* :func:`emit_status`: the receiving side answers an imported document's sender with
  status messages (written to ``EDXML_OUTBOX_DIR`` after commit, kept as :class:`Package`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.translation import gettext as _

from workflow import access
from workflow.audit.services import record
from workflow.documents.errors import NotAllowed
from workflow.documents.models import Document, Series
from workflow.incoming import delivery as delivery_ops
from workflow.incoming.models import (
    Delivery,
    DeliveryState,
    IncomingAttachment,
    IncomingDocument,
    Source,
)
from workflow.incoming.models import State as InState
from workflow.incoming.signals import incoming_changed_many
from workflow.organisation.models import Unit

from . import edxml
from .edxml import PackageError
from .models import Direction, Kind, Package, PartnerDelivery, Recall, Replacement

log = logging.getLogger(__name__)

STATUS_NAMES = {
    edxml.STATUS_RECEIVED: "received", edxml.STATUS_RETURNED: "returned",
    edxml.STATUS_REGISTERED: "registered", edxml.STATUS_ASSIGNED: "assigned",
    edxml.STATUS_IN_HANDLING: "in_handling", edxml.STATUS_DONE: "done",
    edxml.STATUS_RECALL_ACK: "recall_acknowledged",
}
STATE_TO_STATUS = {
    InState.RETURNED: edxml.STATUS_RETURNED, InState.REGISTERED: edxml.STATUS_REGISTERED,
    InState.ASSIGNED: edxml.STATUS_ASSIGNED, InState.IN_HANDLING: edxml.STATUS_IN_HANDLING,
    InState.DONE: edxml.STATUS_DONE,
}


def organ_of(unit: Unit) -> edxml.Organ:
    """A unit as an edXML organisation; without a national code, its internal code."""
    parent = unit.parent_name or (unit.parent.name if unit.parent_id else "")
    return edxml.Organ(unit.organ_id or unit.code, unit.name, parent)


def _key(document: Document) -> str:
    issued = timezone.localtime(document.issued_at).date()
    return edxml.document_id(organ_of(document.unit).organ_id, issued, document.symbol)


def _parse_targets(to: list[str] | None, document: Document) -> list[edxml.Organ]:
    """``to`` items are national codes of local units or ``CODE|Name`` of outside partners;
    none given: the document's recipient units (those with a code)."""
    if not to:
        return [organ_of(r.unit) for r in document.recipients.select_related(
            "unit", "unit__parent").order_by("unit__path", "unit_id") if r.unit.organ_id]
    out = []
    for item in to:
        code, _sep, name = (item or "").partition("|")
        code = code.strip()
        if not code:
            continue
        unit = Unit.objects.filter(organ_id=code).first()
        out.append(organ_of(unit) if unit else edxml.Organ(code[:40], name.strip()[:255]))
    return out


def build_package(document: Document, targets: list[edxml.Organ],
                  package_id: str | None = None) -> edxml.DocumentPackage:
    files = [(out, None) for out in delivery_ops.issued_files(document)]
    fields = delivery_ops.incoming_fields(document, files)
    attachments = []
    for out, _f in files:
        with out.field.open("rb") as handle:
            data = handle.read()
        if hashlib.sha256(data).hexdigest() != out.sha256:
            raise ValueError(f"stored file {out.name} of document {document.pk} does not "
                             "match its SHA-256")
        attachments.append(edxml.Attachment(out.name, out.content_type, data, out.main))
    issued = timezone.localtime(document.issued_at).date()
    response_for = []
    for inc in IncomingDocument.objects.filter(reply=document).order_by("pk"):
        response_for.append(edxml.ResponseFor(
            _incoming_sender_code(inc), inc.number_symbol, inc.issued_on,
            _incoming_document_key(inc)))
    link = Replacement.objects.select_related("old", "old__unit").filter(new=document).first()
    recall = Recall.objects.filter(document=document).first()
    business_type, reason, replaces = edxml.BUSINESS_NEW, "", []
    if recall is not None:
        business_type, reason = edxml.BUSINESS_RECALL, recall.reason
    elif link is not None and link.old.issued_at:
        business_type, replaces = edxml.BUSINESS_REPLACE, [_key(link.old)]
    dtype = document.document_type
    return edxml.DocumentPackage(
        package_id=package_id or str(uuid.uuid4()), document_id=_key(document),
        sender=organ_of(document.unit), to=targets,
        code_number=str(document.number or ""), code_notation=document.symbol,
        place=document.unit.place_name, promulgation_date=issued,
        type_code="1" if dtype.series == Series.LEGAL else "2", type_detail=dtype.code,
        type_name=dtype.name, subject=document.subject,
        content=strip_tags(document.body or "").strip()[:4000],
        competence=document.unit.name, position=fields["signer_position"],
        signer=fields["signer_name"], due_date=document.due_date,
        to_places=_places(document), priority=document.priority,
        page_amount=fields["page_count"], confidential=document.confidential,
        steering_type="0", response_for=response_for, business_type=business_type,
        business_reason=reason, replaces=replaces, attachments=attachments)


def _places(document: Document) -> list[str]:
    """"Nơi nhận": recipient units in tree order, then the outside recipients as typed."""
    names = list(document.recipients.order_by("unit__path", "unit_id")
                 .values_list("unit__name", flat=True))
    return names + [line.strip() for line in document.external_recipients.splitlines()
                    if line.strip()]


def _incoming_package(incoming: IncomingDocument) -> Package | None:
    return (Package.objects.filter(direction=Direction.IN, kind=Kind.DOCUMENT,
                                   incoming=incoming).first())


def _incoming_document_key(incoming: IncomingDocument) -> str:
    pkg = _incoming_package(incoming)
    if pkg:
        return pkg.document_key
    if incoming.origin_id and incoming.origin.issued_at:
        return _key(incoming.origin)
    return ""


def _incoming_sender_code(incoming: IncomingDocument) -> str:
    pkg = _incoming_package(incoming)
    if pkg:
        return pkg.from_organ
    return organ_of(incoming.origin.unit).organ_id if incoming.origin_id else ""


def export_document(user, document: Document, *, to: list[str] | None = None,
                    source: str = "download") -> tuple[bytes, Package]:
    """The edXML package of an issued document; records it and the partners' rows."""
    if user is not None and not access.can_export_edxml(user, document):
        raise NotAllowed(_("Only the issuing unit can export an issued document."))
    if document.state not in ("issued", "archived"):
        raise NotAllowed(_("Only an issued document can be exported."))
    targets = _parse_targets(to, document)
    if not targets:
        raise PackageError(_("Name at least one addressee with a national organisation "
                             "code (mã định danh)."))
    package = build_package(document, targets)
    data = edxml.write_document(package)
    with transaction.atomic():
        item = Package.objects.create(
            package_id=package.package_id, document_key=package.document_id,
            direction=Direction.OUT, kind=Kind.DOCUMENT, document=document, unit=document.unit,
            from_organ=package.sender.organ_id, to_organ=",".join(t.organ_id for t in targets)[:40],
            sha256=hashlib.sha256(data).hexdigest(), size=len(data), source=source)
        for organ in targets:
            PartnerDelivery.objects.update_or_create(
                document=document, organ_id=organ.organ_id,
                defaults={"organ_name": organ.name, "package_id": package.package_id,
                          "document_key": package.document_id, "status": "sent"})
        record(document, "document.edxml_exported", actor=user, from_state=document.state,
               to_state=document.state,
               comment=f"{package.package_id} → {', '.join(t.organ_id for t in targets)}")
    return data, item


# --- import ----------------------------------------------------------------------------------


@dataclass
class ImportResult:
    kind: str
    incoming: list[IncomingDocument] = field(default_factory=list)
    duplicates: list[IncomingDocument] = field(default_factory=list)
    updated: int = 0


def import_package(data: bytes, *, user=None, unit: Unit | None = None,
                   source: str = "upload") -> ImportResult:
    """Read one package. ``user``/``unit``: an upload by that unit's clerk (the package
    must be addressed to it); without them (drop folder, command) every addressed unit."""
    if unit is not None and user is not None and not access.can_import_edxml(user, unit):
        raise NotAllowed(_("Only the clerk of a unit imports edXML packages for it."))
    parsed = edxml.parse(data, max_bytes=settings.EDXML_MAX_BYTES)
    digest = hashlib.sha256(data).hexdigest()
    if isinstance(parsed, edxml.StatusPackage):
        return apply_status(parsed, digest=digest, size=len(data), source=source)
    codes = [t.organ_id for t in parsed.to]
    units = list(Unit.objects.filter(organ_id__in=[c for c in codes if c], is_active=True))
    if unit is not None:
        if unit.pk not in {u.pk for u in units}:
            raise PackageError(_("The package is not addressed to %(unit)s (its national "
                                 "organisation code is %(code)s).")
                               % {"unit": unit.name, "code": unit.organ_id or "—"})
        units = [unit]
    if not units:
        raise PackageError(_("The package is addressed to no unit of this installation: "
                             "%(codes)s.") % {"codes": ", ".join(codes)})
    if parsed.business_type == edxml.BUSINESS_RECALL:
        return apply_recall(parsed, units, digest=digest, size=len(data), source=source)
    result = ImportResult(kind=Kind.DOCUMENT)
    with transaction.atomic():
        origin = _local_origin(parsed)
        stored = [(att, delivery_ops.store(att.data, att.content_type))
                  for att in parsed.attachments]
        now = timezone.now()
        for target in units:
            existing = Package.objects.filter(direction=Direction.IN, kind=Kind.DOCUMENT,
                                              document_key=parsed.document_id,
                                              unit=target).first()
            if existing is not None:
                if existing.incoming_id:
                    result.duplicates.append(existing.incoming)
                continue
            main = next((a for a in parsed.attachments if a.main), None)
            incoming = IncomingDocument.objects.create(
                unit=target, source=Source.OTHER_SYSTEM, origin=origin,
                issuer_name=parsed.sender.name, number_symbol=parsed.code_notation[:80],
                issued_on=parsed.promulgation_date, type_name=parsed.type_name[:120],
                subject=parsed.subject[:500], priority=parsed.priority,
                confidential=parsed.confidential,
                page_count=parsed.page_amount if main else None,
                signer_name=parsed.signer[:150], signer_position=parsed.position[:100],
                deadline=parsed.due_date, arrived_at=now,
                description=_("Received as edXML package %(id)s.") % {"id": parsed.package_id})
            IncomingAttachment.objects.bulk_create([
                IncomingAttachment(incoming=incoming, file=f, name=att.name, main=att.main)
                for att, f in stored])
            try:
                with transaction.atomic():
                    Package.objects.create(
                        package_id=parsed.package_id or digest[:32],
                        document_key=parsed.document_id, direction=Direction.IN,
                        kind=Kind.DOCUMENT, incoming=incoming, unit=target,
                        from_organ=parsed.sender.organ_id[:40], to_organ=target.organ_id,
                        sha256=digest, size=len(data), source=source)
            except IntegrityError:  # a concurrent import of the same package won
                raise PackageError(_("This package is being imported already.")) from None
            record(incoming, "incoming.edxml_imported", actor=user, to_state=incoming.state,
                   comment=f"{parsed.package_id} {parsed.document_id} SHA-256 {digest}")
            emit_status(incoming, edxml.STATUS_RECEIVED)
            result.incoming.append(incoming)
        delivery_ops.queue_verification([f for _a, f in stored])
        incoming_changed_many([i.pk for i in result.incoming])
    return result


def apply_recall(parsed: edxml.DocumentPackage, units: list[Unit], *, digest: str, size: int,
                 source: str) -> ImportResult:
    """Another agency recalls a document it sent us: our records of it close as recalled
    and the clerk sees the banner and acknowledges (status 15 goes back)."""
    from .models import RecallNotice

    result = ImportResult(kind=Kind.RECALL)
    with transaction.atomic():
        targets = []
        for target in units:
            pkg = (Package.objects.select_related("incoming")
                   .filter(direction=Direction.IN, kind=Kind.DOCUMENT,
                           document_key=parsed.document_id, unit=target).first())
            if pkg is not None and pkg.incoming_id:
                targets.append(pkg.incoming)
        if not targets:
            raise PackageError(_("The recall names a document that did not arrive here: "
                                 "%(id)s.") % {"id": parsed.document_id[:120]})
        item = (Recall.objects.filter(document__isnull=True, document_key=parsed.document_id)
                .first())
        now = timezone.now()
        if item is None:
            item = Recall.objects.create(document_key=parsed.document_id, recalled_at=now,
                                         reason=parsed.business_reason or "—")
        for incoming in targets:
            incoming = IncomingDocument.objects.select_for_update().get(pk=incoming.pk)
            if RecallNotice.objects.filter(recall=item, unit_id=incoming.unit_id).exists():
                result.duplicates.append(incoming)
                continue
            before = incoming.state
            if incoming.state not in (InState.RETURNED, InState.RECALLED):
                incoming.recall()
                incoming.save()
            RecallNotice.objects.create(recall=item, unit_id=incoming.unit_id,
                                        incoming=incoming, state_before=before, sent_at=now)
            record(incoming, "incoming.recalled", from_state=before, to_state=incoming.state,
                   comment=f"{parsed.sender.organ_id}: {item.reason}")
            Package.objects.create(
                package_id=parsed.package_id or digest[:32], document_key=parsed.document_id,
                direction=Direction.IN, kind=Kind.RECALL, incoming=incoming,
                unit_id=incoming.unit_id, from_organ=parsed.sender.organ_id[:40],
                sha256=digest, size=size, source=source)
            result.incoming.append(incoming)
        incoming_changed_many([i.pk for i in result.incoming])
    return result


def _local_origin(parsed: edxml.DocumentPackage) -> Document | None:
    """The sender is a unit of this installation: link the record to its document."""
    sender = Unit.objects.filter(organ_id=parsed.sender.organ_id).first() \
        if parsed.sender.organ_id else None
    if sender is None:
        return None
    return Document.objects.filter(unit=sender, symbol=parsed.code_notation,
                                   state__in=["issued", "archived"]).first()


def apply_status(status: edxml.StatusPackage, *, digest: str, size: int,
                 source: str) -> ImportResult:
    """A partner's status message updates the sender's delivery rows."""
    result = ImportResult(kind=Kind.STATUS)
    key = status.response_for.document_id
    with transaction.atomic():
        docs = list(Document.objects.filter(
            pk__in=Package.objects.filter(direction=Direction.OUT, kind=Kind.DOCUMENT,
                                          document_key=key).values("document_id")))
        if not docs:
            raise PackageError(_("The status message answers a document this installation "
                                 "did not send: %(id)s.") % {"id": key[:120]})
        name = STATUS_NAMES[status.status_code]
        for document in docs:
            row, _c = PartnerDelivery.objects.select_for_update().get_or_create(
                document=document, organ_id=status.sender.organ_id[:40],
                defaults={"organ_name": status.sender.name[:255], "package_id": "",
                          "document_key": key})
            row.status_code, row.status = status.status_code, name
            row.description = status.description
            row.save()
            result.updated += 1
            _update_local_delivery(document, status)
            Package.objects.create(
                package_id=status.package_id or digest[:32], document_key=key,
                direction=Direction.IN, kind=Kind.STATUS, document=document,
                from_organ=status.sender.organ_id[:40], status_code=status.status_code,
                sha256=digest, size=size, source=source)
            record(document, "document.edxml_status", from_state=document.state,
                   to_state=document.state,
                   comment=f"{status.sender.organ_id}: {status.status_code} {name}")
    return result


def _update_local_delivery(document: Document, status: edxml.StatusPackage) -> None:
    """The partner is a unit of this installation with a delivery row: keep it in step."""
    unit = Unit.objects.filter(organ_id=status.sender.organ_id).first() \
        if status.sender.organ_id else None
    if unit is None:
        return
    qs = Delivery.objects.filter(document=document, unit=unit).exclude(
        state=DeliveryState.RECALLED)
    if status.status_code in (edxml.STATUS_REGISTERED, edxml.STATUS_ASSIGNED,
                              edxml.STATUS_IN_HANDLING, edxml.STATUS_DONE):
        qs.filter(state=DeliveryState.SENT).update(state=DeliveryState.RECEIVED,
                                                   received_at=status.timestamp)
    elif status.status_code == edxml.STATUS_RETURNED:
        qs.update(state=DeliveryState.RETURNED, returned_at=status.timestamp,
                  return_reason=status.description)


# --- status messages from the receiving side -------------------------------------------------


def status_package(incoming: IncomingDocument, code: str, *, staff: str = "",
                   description: str = "") -> edxml.StatusPackage | None:
    key = _incoming_document_key(incoming)
    if not key:
        return None
    return edxml.StatusPackage(
        package_id=str(uuid.uuid4()),
        response_for=edxml.ResponseFor(_incoming_sender_code(incoming), incoming.number_symbol,
                                       incoming.issued_on, key),
        sender=organ_of(incoming.unit), status_code=code,
        description=description or STATUS_NAMES[code], timestamp=timezone.now(), staff=staff)


def emit_status(incoming: IncomingDocument, code: str, *, staff: str = "",
                description: str = "") -> Package | None:
    """Produce one status message for the sender of an edXML-imported document."""
    status = status_package(incoming, code, staff=staff, description=description)
    if status is None:
        return None
    data = edxml.write_status(status)
    item = Package.objects.create(
        package_id=status.package_id, document_key=status.response_for.document_id,
        direction=Direction.OUT, kind=Kind.STATUS, incoming=incoming, unit=incoming.unit,
        from_organ=status.sender.organ_id, to_organ=status.response_for.organ_id[:40],
        response_for=status.response_for.document_id[:80], status_code=code,
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), content=data)
    transaction.on_commit(lambda: write_outbox(item.to_organ, status.package_id, data))
    return item


def write_outbox(organ_id: str, package_id: str, data: bytes) -> Path | None:
    """Hand a package to the exchange platform's connector: one file per package."""
    try:
        folder = Path(settings.EDXML_OUTBOX_DIR) / (organ_id.replace("/", "_") or "unknown")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{package_id}.xml"
        path.write_bytes(data)
        return path
    except OSError:
        log.exception("could not write edXML package %s to the outbox", package_id)
        return None


def check_size(size: int) -> None:
    """Refuse an oversized package before reading it into memory."""
    if size > settings.EDXML_MAX_BYTES:
        raise PackageError(_("The edXML package is larger than the %(mb)s MB allowed.")
                           % {"mb": settings.EDXML_MAX_BYTES // (1024 * 1024)})


# --- the watched drop folder -----------------------------------------------------------------


def scan_inbox(folder: Path | None = None) -> dict:
    """Import every ``*.xml`` in the drop folder; move it to ``done/`` or ``failed/`` (with
    the error next to it). Safe to run twice: a moved file is not seen again and a
    package already imported creates nothing."""
    folder = Path(folder or settings.EDXML_INBOX_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    counts = {"imported": 0, "failed": 0}
    for path in sorted(folder.glob("*.xml")):
        try:
            check_size(path.stat().st_size)
            import_package(path.read_bytes(), source="folder")
            target, counts["imported"] = folder / "done", counts["imported"] + 1
        except PackageError as exc:
            target, counts["failed"] = folder / "failed", counts["failed"] + 1
            (folder / "failed").mkdir(exist_ok=True)
            (folder / "failed" / f"{path.name}.error.txt").write_text(str(exc.message))
        target.mkdir(exist_ok=True)
        path.replace(target / path.name)
    return counts


def partner_rows(user, document: Document) -> list[PartnerDelivery]:
    if not access.can_see_deliveries(user, document):
        return []
    return list(PartnerDelivery.objects.filter(document=document))


def stamp(value: dt.datetime | None) -> str:
    return timezone.localtime(value).strftime("%d/%m/%Y %H:%M") if value else ""
