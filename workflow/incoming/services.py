"""Domain operations on incoming documents (Decree 30 Art. 20–24).

Views, the REST API and tasks call these and nothing else changes incoming
documents. Each runs in one transaction, asks :mod:`workflow.access`
(``can_incoming``), writes an audit record, and refuses a double submission by
comparing the state the person saw (``expected_state``), like the outgoing flow.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, TransitionNotAllowed, has_transition_perm

from workflow import access
from workflow.access import IncomingAction
from workflow.audit.services import record
from workflow.documents.errors import Conflict, InvalidInput, NotAllowed, NotFound
from workflow.documents.models import PUBLISHED_STATES, Document, DocumentType, Priority
from workflow.documents.numbering import locked_counter
from workflow.inputs import date_value as _date
from workflow.organisation.models import Membership, Role, Unit, User

from . import delivery as delivery_ops
from .models import (
    OPEN_HANDLING,
    URGENT_PRIORITIES,
    Delivery,
    DeliveryState,
    HandlingNote,
    IncomingDocument,
    IncomingParticipant,
    IncomingRegister,
    ParticipantRole,
    State,
)
from .signals import incoming_changed


class NotFoundIncoming(NotFound):
    default_message = _("The incoming document does not exist or you cannot see it.")


def get_for(user, pk, *, action: str = IncomingAction.VIEW, lock: bool = False
            ) -> IncomingDocument:
    qs = IncomingDocument.objects.select_related("unit", "origin", "reply", "delivery")
    if lock:
        qs = qs.select_for_update(of=("self",))
    try:
        incoming = qs.get(pk=pk)
    except (IncomingDocument.DoesNotExist, ValueError, TypeError):
        raise NotFoundIncoming() from None
    if not access.can_incoming(user, IncomingAction.VIEW, incoming):
        raise NotFoundIncoming()
    if action != IncomingAction.VIEW and not access.can_incoming(user, action, incoming):
        raise NotAllowed()
    return incoming


def visible(user) -> QuerySet[IncomingDocument]:
    return IncomingDocument.objects.filter(access.visible_incoming_q(user))


def urgent_first(qs: QuerySet[IncomingDocument]) -> QuerySet[IncomingDocument]:
    """Hỏa tốc, Thượng khẩn, Khẩn before the rest (Art. 22: registered at once)."""
    from django.db.models import Case, IntegerField, Value, When

    rank = Case(When(priority=Priority.FLASH, then=Value(0)),
                When(priority=Priority.EXPRESS, then=Value(1)),
                When(priority=Priority.URGENT, then=Value(2)), default=Value(3),
                output_field=IntegerField())
    return qs.annotate(urgency_rank=rank).order_by("urgency_rank", "-arrived_at", "-pk")


# --- fields -------------------------------------------------------------------------------




EDITABLE = ("issuer_name", "number_symbol", "issued_on", "type_name", "subject", "priority",
            "confidential", "page_count", "signer_name", "signer_position", "description",
            "deadline")


def clean_fields(data: dict) -> dict:
    """Appendix VI incoming fields from a form or API payload; clear errors."""
    cleaned: dict = {}
    for name in ("issuer_name", "subject"):
        if name in data:
            value = (data[name] or "").strip()
            if not value:
                raise InvalidInput(_("The issuing organisation and the subject are required."))
            cleaned[name] = value[:500 if name == "subject" else 255]
    for name, size in (("number_symbol", 80), ("type_name", 120), ("signer_name", 150),
                       ("signer_position", 100)):
        if name in data:
            cleaned[name] = (data[name] or "").strip()[:size]
    if "description" in data:
        cleaned["description"] = (data["description"] or "").strip()[:5000]
    if "issued_on" in data:
        cleaned["issued_on"] = _date(data["issued_on"], _("The document date"))
    if "deadline" in data:
        cleaned["deadline"] = _date(data["deadline"], _("The deadline"))
    if "priority" in data:
        if data["priority"] not in Priority.values:
            raise InvalidInput(_("Unknown priority."))
        cleaned["priority"] = data["priority"]
    if "confidential" in data:
        cleaned["confidential"] = bool(data["confidential"]) and data["confidential"] not in (
            "0", "false", "off")
    if "page_count" in data:
        pages = data["page_count"]
        if pages in (None, ""):
            cleaned["page_count"] = None
        else:
            try:
                cleaned["page_count"] = int(pages)
            except (TypeError, ValueError):
                raise InvalidInput(_("The number of pages must be a whole number.")) from None
            if cleaned["page_count"] < 0:
                raise InvalidInput(_("The number of pages must be a whole number."))
    return cleaned


def duplicates(unit: Unit, issuer_name: str, number_symbol: str,
               exclude: int | None = None) -> QuerySet[IncomingDocument]:
    """Registered documents of the unit with the same issuer and number/symbol (App. VI)."""
    if not number_symbol.strip():
        return IncomingDocument.objects.none()
    qs = IncomingDocument.objects.filter(
        unit=unit, issuer_name__iexact=issuer_name.strip(),
        number_symbol__iexact=number_symbol.strip()).exclude(state=State.RETURNED)
    if exclude:
        qs = qs.exclude(pk=exclude)
    return qs


class DuplicateWarning(Conflict):
    default_message = _("A document from the same issuer with the same number and symbol "
                        "is registered already. Confirm to register it again.")


# --- the flow -----------------------------------------------------------------------------


def _take_number(incoming: IncomingDocument, at: dt.datetime) -> tuple[int, int]:
    """Next arrival number (số đến) of the unit's year: from 1, consecutive, no gaps."""
    year = timezone.localtime(at).year
    register = locked_counter(IncomingRegister, unit_id=incoming.unit_id, year=year)
    register.last_number += 1
    register.save(update_fields=["last_number"])
    return register.last_number, year


def _act(user, pk, action: str, expected_state: str | None,
         body: Callable[[IncomingDocument], None], *, comment: str = "") -> IncomingDocument:
    try:
        with transaction.atomic():
            incoming = get_for(user, pk, lock=True)
            if expected_state and incoming.state != expected_state:
                raise Conflict(
                    _("This incoming document is already “%(state)s”; your action was not "
                      "applied again.") % {"state": incoming.get_state_display()})
            if not access.can_incoming(user, action, incoming):
                raise NotAllowed(_("You cannot do this with this incoming document in its "
                                   "current state."))
            before = incoming.state
            body(incoming)
            incoming.save()
            record(incoming, f"incoming.{action}", actor=user, from_state=before,
                   to_state=incoming.state, comment=comment)
            incoming_changed(incoming)
            return incoming
    except (TransitionNotAllowed, ConcurrentTransition):
        raise Conflict() from None


def _check(method, user) -> None:
    if not has_transition_perm(method, user):
        raise NotAllowed(_("You cannot do this with this incoming document in its current "
                           "state."))


def register(user, pk, *, data: dict | None = None, expected_state: str | None = None,
             confirm_duplicate: bool = False) -> IncomingDocument:
    """The clerk registers what arrived: arrival number, Appendix VI fields checked."""
    cleaned = clean_fields(data or {})

    def body(incoming: IncomingDocument) -> None:
        for name, value in cleaned.items():
            setattr(incoming, name, value)
        if not confirm_duplicate and duplicates(incoming.unit, incoming.issuer_name,
                                                incoming.number_symbol,
                                                exclude=incoming.pk).exists():
            raise DuplicateWarning()
        _check(incoming.register, user)
        now = timezone.now()
        number, year = _take_number(incoming, now)
        incoming.register(number=number, year=year, at=now, user=user)
        if incoming.delivery_id:
            Delivery.objects.filter(pk=incoming.delivery_id).update(
                state=DeliveryState.RECEIVED, received_at=now)

    return _act(user, pk, IncomingAction.REGISTER, expected_state, body)


def return_to_sender(user, pk, *, reason: str, expected_state: str | None = None
                     ) -> IncomingDocument:
    """Art. 21.2.b: a document not authentic, not intact or sent to the wrong place."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give a reason."))

    def body(incoming: IncomingDocument) -> None:
        _check(incoming.send_back, user)
        incoming.send_back(reason)
        if incoming.delivery_id:
            Delivery.objects.filter(pk=incoming.delivery_id).update(
                state=DeliveryState.RETURNED, returned_at=timezone.now(),
                return_reason=reason)
            _tell_sender(incoming, reason)

    return _act(user, pk, IncomingAction.RETURN, expected_state, body, comment=reason)


def _tell_sender(incoming: IncomingDocument, reason: str) -> None:
    """Art. 21.2: the sender learns at once; its clerks get a notice with the reason."""
    from workflow.notifications.models import Kind
    from workflow.notifications.services import notify

    origin = incoming.origin
    if origin is None:
        return
    text = _("%(unit)s returned %(symbol)s: %(reason)s") % {
        "unit": incoming.unit.name, "symbol": origin.symbol, "reason": reason[:300]}
    url = reverse("documents:detail", args=[origin.pk])
    clerks = User.objects.filter(memberships__unit_id=origin.unit_id,
                                 memberships__role=Role.CLERK,
                                 memberships__is_active=True).distinct()
    notify(clerks, "incoming.returned", origin, text=text, url=url, kind=Kind.INCOMING,
           key=f"incoming:{incoming.pk}:returned")


def _member(unit_id: int, user_id, *, roles: Iterable[str] | None = None) -> User:
    try:
        uid = int(user_id)
    except (TypeError, ValueError):
        raise InvalidInput(_("Choose a person of this unit.")) from None
    qs = Membership.objects.filter(unit_id=unit_id, user_id=uid, is_active=True,
                                   user__is_active=True)
    if roles is not None:
        qs = qs.filter(role__in=list(roles))
    membership = qs.select_related("user").first()
    if membership is None:
        raise InvalidInput(_("Choose a person of this unit."))
    return membership.user


def present(user, pk, *, leader_id=None, expected_state: str | None = None
            ) -> IncomingDocument:
    def body(incoming: IncomingDocument) -> None:
        leader = _member(incoming.unit_id, leader_id, roles=[Role.LEADER]) if leader_id else None
        _check(incoming.present, user)
        incoming.present(leader)

    return _act(user, pk, IncomingAction.PRESENT, expected_state, body)


def assign(user, pk, *, direction: str, lead_id, co_ids: Iterable = (), info_ids: Iterable = (),
           deadline=None, expected_state: str | None = None) -> IncomingDocument:
    """The leader's direction (bút phê): lead handler, co-handlers, for information, deadline."""
    direction = (direction or "").strip()
    if not direction:
        raise InvalidInput(_("Write the direction (ý kiến chỉ đạo)."))
    due = _date(deadline, _("The deadline"))

    def body(incoming: IncomingDocument) -> None:
        lead = _member(incoming.unit_id, lead_id)
        co = [_member(incoming.unit_id, u) for u in co_ids if str(u).strip()]
        info = [_member(incoming.unit_id, u) for u in info_ids if str(u).strip()]
        _check(incoming.assign, user)
        incoming.assign(user=user, direction=direction[:5000], deadline=due or incoming.deadline,
                        at=timezone.now())
        dept = Membership.objects.filter(unit_id=incoming.unit_id, user=lead,
                                         department__isnull=False).values_list(
            "department_id", flat=True).first()
        incoming.lead_department_id = dept
        rows = [(lead, ParticipantRole.LEAD)]
        rows += [(p, ParticipantRole.CO) for p in co if p.pk != lead.pk]
        rows += [(p, ParticipantRole.INFO) for p in info if p.pk != lead.pk]
        IncomingParticipant.objects.bulk_create(
            [IncomingParticipant(incoming=incoming, user=p, role=r) for p, r in rows],
            ignore_conflicts=True)
        incoming.__dict__.pop("_roles_cache", None)

    return _act(user, pk, IncomingAction.ASSIGN, expected_state, body, comment=direction)


def start(user, pk, *, expected_state: str | None = None) -> IncomingDocument:
    def body(incoming: IncomingDocument) -> None:
        _check(incoming.start, user)
        incoming.start()

    return _act(user, pk, IncomingAction.START, expected_state, body)


def forward(user, pk, *, to_id, note: str = "", expected_state: str | None = None
            ) -> IncomingDocument:
    """The lead handler hands it to a colleague of the same department, who becomes lead."""

    def body(incoming: IncomingDocument) -> None:
        target = _member(incoming.unit_id, to_id)
        mine = set(Membership.objects.filter(unit_id=incoming.unit_id, user=user,
                                             department__isnull=False, is_active=True)
                   .values_list("department_id", flat=True))
        theirs = set(Membership.objects.filter(unit_id=incoming.unit_id, user=target,
                                               department__isnull=False, is_active=True)
                     .values_list("department_id", flat=True))
        if not mine & theirs or target.pk == user.pk:
            raise InvalidInput(_("Forward only to a colleague of your department."))
        IncomingParticipant.objects.filter(incoming=incoming, user=user,
                                           role=ParticipantRole.LEAD).update(
            role=ParticipantRole.FORWARDED)
        IncomingParticipant.objects.filter(incoming=incoming, user=target).exclude(
            role=ParticipantRole.FORWARDED).delete()
        IncomingParticipant.objects.create(incoming=incoming, user=target,
                                           role=ParticipantRole.LEAD)
        if note.strip():
            HandlingNote.objects.create(incoming=incoming, author=user, text=note.strip()[:5000])

    return _act(user, pk, IncomingAction.FORWARD, expected_state, body,
                comment=(note or "").strip()[:5000])


def add_note(user, pk, *, text: str) -> HandlingNote:
    text = (text or "").strip()
    if not text:
        raise InvalidInput(_("Write a note first."))
    with transaction.atomic():
        incoming = get_for(user, pk, action=IncomingAction.NOTE)
        note = HandlingNote.objects.create(incoming=incoming, author=user, text=text[:5000])
        record(incoming, "incoming.note", actor=user, from_state=incoming.state,
               to_state=incoming.state, comment=text[:5000])
        incoming_changed(incoming)
        return note


def complete(user, pk, *, result: str, expected_state: str | None = None) -> IncomingDocument:
    result = (result or "").strip()
    if not result:
        raise InvalidInput(_("Write the result of the handling."))

    def body(incoming: IncomingDocument) -> None:
        _check(incoming.complete, user)
        incoming.complete(result=result[:5000], at=timezone.now())

    return _act(user, pk, IncomingAction.COMPLETE, expected_state, body, comment=result)


def file(user, pk, *, expected_state: str | None = None) -> IncomingDocument:
    def body(incoming: IncomingDocument) -> None:
        _check(incoming.file, user)
        incoming.file()

    return _act(user, pk, IncomingAction.FILE, expected_state, body)


def edit(user, pk, *, data: dict) -> IncomingDocument:
    cleaned = clean_fields({k: v for k, v in data.items() if k in EDITABLE})
    with transaction.atomic():
        incoming = get_for(user, pk, action=IncomingAction.EDIT, lock=True)
        for name, value in cleaned.items():
            setattr(incoming, name, value)
        incoming.save()
        record(incoming, "incoming.edit", actor=user, from_state=incoming.state,
               to_state=incoming.state)
        incoming_changed(incoming)
        return incoming


# --- replies ------------------------------------------------------------------------------


def reply_subject(incoming: IncomingDocument) -> str:
    """"V/v trả lời Công văn số 05/MTTQ-BTT ngày 04/12/2026 của …" (legal text: Vietnamese)."""
    kind = incoming.type_name or "Công văn"
    parts = [f"V/v trả lời {kind}"]
    if incoming.number_symbol:
        parts.append(f"số {incoming.number_symbol}")
    if incoming.issued_on:
        parts.append(f"ngày {incoming.issued_on:%d/%m/%Y}")
    parts.append(f"của {incoming.issuer_name}")
    return " ".join(parts)[:500]


def draft_reply(user, pk, *, document_type=None) -> Document:
    """A handler drafts the reply: an ordinary outgoing draft linked to the incoming one."""
    from workflow.documents import services as doc_services

    with transaction.atomic():
        incoming = get_for(user, pk, action=IncomingAction.REPLY, lock=True)
        if incoming.reply_id and incoming.reply.state not in ("withdrawn",):
            raise Conflict(_("A reply is drafted already."))
        dtype = document_type or DocumentType.objects.filter(
            code="cong-van", is_active=True).first() or DocumentType.objects.filter(
            is_active=True, abbreviation="").first()
        if dtype is None:
            raise InvalidInput(_("Choose a document type."))
        recipients = [incoming.origin.unit_id] if incoming.origin_id else []
        external = "" if incoming.origin_id else incoming.issuer_name
        document = doc_services.create_document(
            user, unit=incoming.unit,
            data={"subject": reply_subject(incoming), "document_type": dtype,
                  "body": "<p>" + reply_subject(incoming).replace("V/v t", "T", 1) + ".</p>",
                  "external_recipients": external},
            recipient_unit_ids=recipients)
        incoming.reply = document
        incoming.save(update_fields=["reply", "updated_at"])
        record(incoming, "incoming.reply_drafted", actor=user, from_state=incoming.state,
               to_state=incoming.state, comment=str(document.pk))
        return document


def complete_replied(document_id: int) -> int:
    """Issuing a reply completes the handling of the incoming documents it answers."""
    done = 0
    for pk in IncomingDocument.objects.filter(reply_id=document_id, state__in=OPEN_HANDLING
                                              ).values_list("pk", flat=True):
        with transaction.atomic():
            incoming = IncomingDocument.objects.select_for_update(of=("self",)).select_related(
                "reply").get(pk=pk)
            reply = incoming.reply
            if incoming.state not in OPEN_HANDLING or reply is None or \
                    reply.state not in PUBLISHED_STATES:
                continue
            before = incoming.state
            incoming.complete(result=_("Answered by %(symbol)s") % {"symbol": reply.symbol},
                              at=reply.issued_at or timezone.now())
            incoming.save()
            record(incoming, "incoming.complete", from_state=before, to_state=incoming.state,
                   comment=reply.symbol)
            incoming_changed(incoming)
            done += 1
    return done


# --- sender's side ------------------------------------------------------------------------


def deliveries_for(user, document: Document) -> list[dict]:
    """Each recipient's delivery state with arrival number/time, return reason, answer."""
    if not access.can_see_deliveries(user, document):
        return []
    rows = []
    latest: dict[int, IncomingDocument] = {}
    for inc in IncomingDocument.objects.filter(delivery__document=document).select_related(
            "reply").order_by("pk"):
        latest[inc.delivery_id] = inc
    for d in Delivery.objects.filter(document=document).select_related("unit").order_by(
            "unit__path"):
        inc = latest.get(d.pk)
        answered = inc.reply if inc and inc.reply_id and inc.reply.state in PUBLISHED_STATES \
            else None
        rows.append({"delivery": d, "incoming": inc, "answered_by": answered})
    return rows


def resend(user, delivery_id, *, expected_state: str = DeliveryState.RETURNED) -> Delivery:
    with transaction.atomic():
        d = Delivery.objects.select_for_update().select_related("document").filter(
            pk=delivery_id).first()
        if d is None or not access.can_view(access.actor_for(user), d.document):
            raise NotFound()
        if not access.can_resend(user, d.document):
            raise NotAllowed()
        if d.state != expected_state or d.state != DeliveryState.RETURNED:
            raise Conflict(_("Only a returned delivery can be sent again."))
        now = timezone.now()
        incoming = delivery_ops.resend(d, now)
        record(d.document, "document.resent", actor=user, from_state=d.document.state,
               to_state=d.document.state, comment=str(d.unit))
        incoming_changed(incoming)
        return d


# --- deadlines ----------------------------------------------------------------------------


def overdue(qs: QuerySet[IncomingDocument], today: dt.date | None = None
            ) -> QuerySet[IncomingDocument]:
    today = today or timezone.localdate()
    return qs.filter(state__in=[State.REGISTERED, State.PRESENTED, *OPEN_HANDLING],
                     deadline__lt=today)


def send_reminders(today: dt.date | None = None, days_before: int = 2) -> int:
    """Notices to handlers before and on the due date, and to leaders when overdue."""
    from workflow.notifications.models import Kind
    from workflow.notifications.services import notify

    today = today or timezone.localdate()
    sent = 0
    qs = IncomingDocument.objects.filter(state__in=OPEN_HANDLING, deadline__isnull=False,
                                         deadline__lte=today + dt.timedelta(days=days_before))
    for incoming in qs.select_related("unit"):
        url = reverse("incoming:detail", args=[incoming.pk])
        if incoming.deadline < today:
            key, text = "overdue", _("Overdue incoming document: %(s)s (deadline %(d)s)")
        elif incoming.deadline == today:
            key, text = "due", _("Incoming document due today: %(s)s")
        else:
            key, text = "soon", _("Incoming document due on %(d)s: %(s)s")
        text = text % {"s": incoming.subject[:200], "d": incoming.deadline.strftime("%d/%m/%Y")}
        people = list(User.objects.filter(incoming_roles__incoming=incoming,
                                          incoming_roles__role__in=[ParticipantRole.LEAD,
                                                                    ParticipantRole.CO]))
        if key == "overdue":
            people += list(User.objects.filter(memberships__unit_id=incoming.unit_id,
                                               memberships__role=Role.LEADER,
                                               memberships__is_active=True))
        sent += len(notify({p.pk: p for p in people}.values(), f"incoming.deadline.{key}",
                           incoming, text=text, url=url, kind=Kind.INCOMING,
                           key=f"incoming:{incoming.pk}:{key}:{incoming.deadline}"))
        IncomingDocument.objects.filter(pk=incoming.pk).update(reminded_on=today)
    return sent


def on_time_q(today: dt.date) -> tuple[Q, Q]:
    """(decidable, handled on time): documents with a deadline that are done, or past due."""
    decidable = Q(deadline__isnull=False) & (
        Q(done_at__isnull=False) | Q(deadline__lt=today))
    ok = Q(done_at__isnull=False, done_at__date__lte=F("deadline"))
    return decidable, ok


def urgent(incoming: IncomingDocument) -> bool:
    return incoming.priority in URGENT_PRIORITIES


# --- the inbox source for the unified inbox (#20) -----------------------------------------


def incoming_inbox_items(user) -> list[dict]:
    """Items waiting for ``user``: kind, title, deadline, url, state (pluggable source)."""
    qs = urgent_first(IncomingDocument.objects.filter(access.incoming_inbox_q(user)))
    return [{
        "kind": "incoming",
        "title": f"{i.number_symbol} {i.subject}".strip(),
        "deadline": i.deadline,
        "url": reverse("incoming:detail", args=[i.pk]),
        "state": i.state,
        "state_label": str(i.get_state_display()),
        "urgent": i.priority in URGENT_PRIORITIES,
    } for i in qs.select_related("unit")[:200]]
