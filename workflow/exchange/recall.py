"""Recall (thu hồi) and replacement (thay thế) of issued documents.

Recall: a leader of the issuing unit recalls an issued document with a reason, in one
transaction: every delivery is marked recalled, every recipient's incoming record is
closed as recalled whatever stage its handling reached (its arrival number stays:
numbers are never reused), and a :class:`RecallNotice` goes to each recipient unit as a
message of its own that the unit's clerk acknowledges. Search re-indexes the incoming
records and the document after commit.

Replacement: the issuing unit drafts a new document "thay thế văn bản số …" that copies
the old one's type, subject and recipients; when the new one is issued the old one is
marked replaced. Both pages link to each other, and recipients of both see the link.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow import access
from workflow.audit.services import record
from workflow.documents import services as doc_services
from workflow.documents.errors import Conflict, InvalidInput, NotAllowed, NotFound
from workflow.documents.models import Document
from workflow.incoming.models import Delivery, DeliveryState, IncomingDocument
from workflow.incoming.models import State as InState
from workflow.incoming.signals import incoming_changed_many

from .models import Recall, RecallNotice, Replacement


def recall(user, document_id, *, reason: str) -> Recall:
    """Recall an issued document from every recipient unit."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give a reason."))
    with transaction.atomic():
        document = doc_services.get_for(user, document_id, lock=True)
        if Recall.objects.filter(document=document).exists():
            raise Conflict(_("This document was recalled already."))
        if not access.can_recall(user, document):
            raise NotAllowed(_("Only a leader of the issuing unit can recall an issued "
                               "document."))
        now = timezone.now()
        item = Recall.objects.create(document=document, reason=reason, recalled_by=user,
                                     recalled_at=now)
        deliveries = list(Delivery.objects.select_for_update().filter(document=document))
        latest: dict[int, IncomingDocument] = {}
        for inc in IncomingDocument.objects.select_for_update().filter(
                delivery__document=document).order_by("pk"):
            latest[inc.delivery_id] = inc  # a re-sent delivery: its newest record
        changed = []
        notices = []
        for d in deliveries:
            inc = latest.get(d.pk)
            before = inc.state if inc else ""
            if inc is not None and inc.state not in (InState.RETURNED, InState.RECALLED):
                inc.recall()
                inc.save()
                record(inc, "incoming.recalled", actor=user, from_state=before,
                       to_state=inc.state, comment=reason)
                changed.append(inc.pk)
            notices.append(RecallNotice(recall=item, unit_id=d.unit_id, delivery=d,
                                        incoming=inc, state_before=before, sent_at=now))
        Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
            state=DeliveryState.RECALLED)
        RecallNotice.objects.bulk_create(notices)
        record(document, "document.recalled", actor=user, from_state=document.state,
               to_state=document.state, comment=reason)
        # A newer version, so search re-indexes it with the state "recalled".
        Document.objects.filter(pk=document.pk).update(updated_at=now)
        incoming_changed_many(changed)
        doc_services._changed(document, "recall")
    from .signals import queue_recall_packages

    queue_recall_packages(item)
    return item


def acknowledge(user, notice_id) -> RecallNotice:
    """The recipient's clerk (or leader) confirms the recall reached them."""
    with transaction.atomic():
        notice = RecallNotice.objects.select_for_update().select_related("recall").filter(
            pk=notice_id).first()
        if notice is None or not (access.actor_for(user).any_role_in(notice.unit_id)):
            raise NotFound()
        if notice.acknowledged_at is not None:
            raise Conflict(_("The recall was acknowledged already."))
        if not access.can_acknowledge_recall(user, notice):
            raise NotAllowed(_("Only the clerk or a leader of the receiving unit "
                               "acknowledges a recall."))
        notice.acknowledged_at = timezone.now()
        notice.acknowledged_by = user
        notice.save(update_fields=["acknowledged_at", "acknowledged_by"])
        target = notice.incoming or notice.recall.document
        record(target, "incoming.recall_acknowledged", actor=user,
               comment=str(notice.unit))
        if notice.incoming_id:
            from .services import emit_status

            # The acknowledgement as an edXML status message too (code 15).
            emit_status(notice.incoming, "15", staff=str(user))
            incoming_changed_many([notice.incoming_id])
    return notice


def notice_for(incoming: IncomingDocument) -> RecallNotice | None:
    return (RecallNotice.objects.select_related("recall", "acknowledged_by")
            .filter(incoming=incoming).first())


# --- replacement ----------------------------------------------------------------------------


def replacement_subject(old: Document) -> str:
    issued = timezone.localtime(old.issued_at).strftime("%d/%m/%Y") if old.issued_at else ""
    return _("%(subject)s (replaces document no. %(symbol)s of %(date)s)") % {
        "subject": old.subject, "symbol": old.symbol, "date": issued}


def draft_replacement(user, old_id) -> Document:
    """A new draft that will replace ``old_id`` once issued: same type, recipients."""
    with transaction.atomic():
        old = doc_services.get_for(user, old_id, lock=True)
        if Replacement.objects.filter(old=old).exists():
            raise Conflict(_("A replacement of this document exists already."))
        if not access.can_replace(user, old):
            raise NotAllowed(_("Only the issuing unit can replace an issued document."))
        new = doc_services.create_document(
            user, unit=old.unit,
            data={"document_type": old.document_type, "subject": replacement_subject(old)[:500],
                  "body": old.body, "priority": old.priority,
                  "confidential": old.confidential, "due_date": old.due_date,
                  "external_recipients": old.external_recipients},
            recipient_unit_ids=list(old.recipients.values_list("unit_id", flat=True)))
        Replacement.objects.create(new=new, old=old, created_by=user)
        record(old, "document.replacement_drafted", actor=user, from_state=old.state,
               to_state=old.state, comment=str(new.pk))
    return new


def mark_replaced(document_id: int) -> bool:
    """After the replacement is issued: the old document is marked replaced (idempotent)."""
    with transaction.atomic():
        link = (Replacement.objects.select_for_update().select_related("new", "old")
                .filter(new_id=document_id, replaced_at__isnull=True).first())
        if link is None or not link.new.issued_at:
            return False
        link.replaced_at = link.new.issued_at
        link.save(update_fields=["replaced_at"])
        record(link.old, "document.replaced", from_state=link.old.state,
               to_state=link.old.state, comment=link.new.symbol)
        doc_services._changed(link.old, "replaced")
        incoming_changed_many(IncomingDocument.objects.filter(
            delivery__document=link.old).values_list("pk", flat=True))
    return True


def links_for_document(document: Document) -> dict:
    """Replacement links on the outgoing page: what it replaces and what replaced it."""
    out = {"replaces": None, "replaced_by": None}
    link = Replacement.objects.select_related("old").filter(new=document).first()
    if link:
        out["replaces"] = link.old
    link = Replacement.objects.select_related("new").filter(
        old=document, replaced_at__isnull=False).first()
    if link:
        out["replaced_by"] = link.new
    return out


def links_for_incoming(incoming: IncomingDocument) -> dict:
    """The same links for a recipient: to its own record of the other document if it has
    one, else the other document's number and symbol only."""
    out: dict = {"replaces": None, "replaced_by": None}
    if not incoming.origin_id:
        return out
    links = links_for_document(incoming.origin)
    for key, other in links.items():
        if other is None:
            continue
        mine = (IncomingDocument.objects.filter(unit_id=incoming.unit_id, origin=other)
                .order_by("-pk").first())
        out[key] = {"symbol": other.symbol, "subject": other.subject, "incoming": mine}
    return out
