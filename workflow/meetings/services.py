"""Domain operations on meetings: preparation, the room, the record and the follow-up.

Views, the REST API and management commands call these functions only. Each one
runs in a transaction, checks :func:`workflow.access.can_meeting`, writes an audit
record and bumps the meeting's ``room_version`` when an open meeting room must
show the change (the room polls that number).

Lock order, to stay free of deadlocks on PostgreSQL: a vote row before its
meeting row; otherwise the meeting row alone.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import random
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.dateparse import parse_datetime, parse_time
from django.utils.html import escape, format_html, format_html_join
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django_fsm import can_proceed, has_transition_perm

from workflow import access
from workflow.access import MeetingAction as A
from workflow.audit.services import record
from workflow.documents import services as documents
from workflow.documents.errors import Conflict, InvalidInput, NotAllowed, NotFound
from workflow.documents.models import (
    OPEN_STATES,
    PUBLISHED_STATES,
    Document,
    DocumentFile,
    DocumentType,
    FileKind,
    FileVersion,
)
from workflow.documents.models import State as DocState
from workflow.organisation.models import Unit, User
from workflow.sqlrows import Converters, column_converters, from_row

from .models import (
    PUBLIC_STATES,
    VOTING_ROLES,
    AgendaItem,
    Attendance,
    Ballot,
    Choice,
    FollowUpTask,
    Kind,
    Meeting,
    MeetingState,
    Paper,
    PaperSource,
    Participant,
    ParticipantRole,
    PrivateNote,
    SpeakRequest,
    SpeakState,
    TaskState,
    Vote,
    VoteState,
)

APPROVED_ONWARDS = access.APPROVED_ONWARDS
MAX_NOTE_CHARS = 20000

# Paperless targets (DOMAIN §2) keyed by Level.code; override with the
# MEETINGS_PAPERLESS_TARGETS setting. "strict" means "over", otherwise "at least".
DEFAULT_PAPERLESS_TARGETS = {
    "tinh": {"percent": 100, "strict": False},
    "province": {"percent": 100, "strict": False},
    "huyen": {"percent": 90, "strict": True},
    "district": {"percent": 90, "strict": True},
    "xa": {"percent": 80, "strict": True},
    "commune": {"percent": 80, "strict": True},
}


def paperless_targets() -> dict:
    return getattr(settings, "MEETINGS_PAPERLESS_TARGETS", DEFAULT_PAPERLESS_TARGETS)


# --- loading and small helpers ----------------------------------------------------------------


def _not_found() -> NotFound:
    return NotFound(_("The meeting does not exist or you cannot see it."))


def get_meeting(user, pk, *, action: str = A.VIEW, lock: bool = False,
                loaded: Meeting | None = None) -> Meeting:
    """Load a meeting the person may see (404 otherwise), optionally locked; check ``action``.

    ``loaded`` is the meeting already read (see :func:`load_room`): only the checks run.
    """
    if loaded is not None and not lock:
        meeting = loaded
    else:
        qs = Meeting.objects.select_related("unit", "unit__level", "chair", "secretary")
        if lock:
            qs = qs.select_for_update(of=("self",))
        try:
            meeting = qs.get(pk=pk)
        except (Meeting.DoesNotExist, ValueError, TypeError):
            raise _not_found() from None
    if not access.can_meeting(user, A.VIEW, meeting):
        raise _not_found()
    if action != A.VIEW and not access.can_meeting(user, action, meeting):
        raise NotAllowed(_("You cannot do this in this meeting now (it is “%(state)s”).")
                         % {"state": meeting.get_state_display()})
    return meeting


def _bump(meeting: Meeting) -> None:
    """Tell every open room that something changed (the meeting row is already locked)."""
    meeting.room_version = F("room_version") + 1
    meeting.save(update_fields=["room_version", "updated_at"])
    meeting.refresh_from_db(fields=["room_version"])
    _room_changed(meeting.pk)


def _bump_id(meeting_id: int) -> None:
    Meeting.objects.filter(pk=meeting_id).update(room_version=F("room_version") + 1)
    _room_changed(meeting_id)


def bump_room_version(meeting_id: int) -> None:
    """Make every open room refetch its state (benchmarks, repairs)."""
    with transaction.atomic():
        _bump_id(meeting_id)


def meeting_url(meeting: Meeting) -> str:
    return reverse("meetings:detail", args=[meeting.pk])


def room_url(meeting: Meeting) -> str:
    return reverse("meetings:room", args=[meeting.pk])


def _user(value) -> User | None:
    if value in (None, ""):
        return None
    if isinstance(value, User):
        return value
    try:
        return User.objects.filter(pk=int(value), is_active=True).first()
    except (TypeError, ValueError):
        return None


def _required_user(value, message: str) -> User:
    person = _user(value)
    if person is None:
        raise InvalidInput(message)
    return person


def notify(users: Iterable[User], text: str, url: str = "", *, email_subject: str = "",
           event: str = "meeting.notice", obj=None, kind: str = "meeting") -> int:
    """In-app notices through the notification centre; e-mail (after commit) only when
    ``email_subject`` is given, as each person's preferences allow."""
    from workflow.notifications.services import notify as notify_centre

    people = [u for u in users if u is not None]
    notify_centre(people, event, obj, text=text, url=url, kind=kind,
                  email=bool(email_subject), subject=email_subject)
    return len({u.pk for u in people})


def _participant_users(meeting: Meeting) -> list[User]:
    return [p.user for p in meeting.participants.select_related("user") if p.user_id]


def _parse_dt(value, message: str, *, required: bool = True):
    if value in (None, ""):
        if required:
            raise InvalidInput(message)
        return None
    if isinstance(value, dt.datetime):
        result = value
    else:
        try:
            result = parse_datetime(str(value).strip())
        except ValueError:
            result = None
        if result is None:
            raise InvalidInput(message)
    if timezone.is_naive(result):
        result = timezone.make_aware(result)
    return result


def _parse_time(value, message: str):
    if value in (None, ""):
        return None
    if isinstance(value, dt.time):
        return value
    try:
        result = parse_time(str(value).strip())
    except ValueError:
        result = None
    if result is None:
        raise InvalidInput(message)
    return result


def _run_transition(user, pk, name: str, *args, expected_state: str | None = None,
                    comment: str = "", **kwargs) -> Meeting:
    """Apply one state change of the meeting exactly once, permission-checked and audited."""
    with transaction.atomic():
        meeting = get_meeting(user, pk, lock=True)
        if expected_state and meeting.state != expected_state:
            raise Conflict(_("This meeting is already “%(state)s”; your action was not applied "
                             "again.") % {"state": meeting.get_state_display()})
        method = getattr(meeting, name)
        if not can_proceed(method, check_conditions=False):
            raise Conflict(_("This is not possible while the meeting is “%(state)s”.")
                           % {"state": meeting.get_state_display()})
        if not has_transition_perm(method, user):
            raise NotAllowed(_("You cannot do this in this meeting now (it is “%(state)s”).")
                             % {"state": meeting.get_state_display()})
        before = meeting.state
        method(*args, **kwargs)
        meeting.room_version += 1
        meeting.save()
        _room_changed(meeting.pk)
        record(meeting, f"meeting.{name}", actor=user, from_state=before, to_state=meeting.state,
               comment=comment)
        return meeting


# --- preparation ------------------------------------------------------------------------------


def _clean_meeting_fields(data: dict, *, partial: bool) -> dict:
    cleaned: dict = {}
    if not partial or "title" in data:
        title = (data.get("title") or "").strip()
        if not title:
            raise InvalidInput(_("The meeting needs a title."))
        cleaned["title"] = title[:300]
    if not partial or "kind" in data:
        kind = data.get("kind") or Kind.PLENARY
        if kind not in Kind.values:
            raise InvalidInput(_("Unknown kind of meeting."))
        cleaned["kind"] = kind
    if not partial or "starts_at" in data:
        cleaned["starts_at"] = _parse_dt(data.get("starts_at"),
                                         _("Give a valid start date and time."))
    if "ends_at" in data:
        cleaned["ends_at"] = _parse_dt(data.get("ends_at"), _("Give a valid end date and time."),
                                       required=False)
    for name in ("place", "online_link"):
        if name in data:
            cleaned[name] = (data.get(name) or "").strip()[:255]
    if cleaned.get("online_link") and not cleaned["online_link"].startswith(("https://",
                                                                            "http://")):
        raise InvalidInput(_("The online link must start with https:// or http://."))
    if "wants_invitation" in data:
        cleaned["wants_invitation"] = bool(data.get("wants_invitation"))
    for name, message in (("chair", _("Choose the chair.")),
                          ("secretary", _("Choose the secretary."))):
        if not partial or name in data:
            cleaned[name] = _required_user(data.get(name), message)
    return cleaned


def _check_times(meeting_like: dict | Meeting) -> None:
    get = meeting_like.get if isinstance(meeting_like, dict) else (
        lambda k: getattr(meeting_like, k))
    starts, ends = get("starts_at"), get("ends_at")
    if starts and ends and ends <= starts:
        raise InvalidInput(_("The meeting must end after it starts."))


def _ensure_seat(meeting: Meeting, person: User, role: str) -> Participant:
    seat, created = Participant.objects.get_or_create(
        meeting=meeting, user=person, defaults={"role": role})
    if not created and role in (ParticipantRole.CHAIR, ParticipantRole.SECRETARY):
        seat.role = role
        seat.save(update_fields=["role"])
    return seat


@transaction.atomic
def schedule_meeting(user, *, unit: Unit, data: dict, participant_ids: Iterable = (),
                     guests: Iterable[str] = ()) -> Meeting:
    if not access.can_schedule_meeting(user, unit):
        raise NotAllowed(_("You cannot schedule meetings for this unit."))
    cleaned = _clean_meeting_fields(data, partial=False)
    _check_times(cleaned)
    meeting = Meeting.objects.create(unit=unit, created_by=user, **cleaned)
    _ensure_seat(meeting, meeting.chair, ParticipantRole.CHAIR)
    _ensure_seat(meeting, meeting.secretary, ParticipantRole.SECRETARY)
    for person_id in participant_ids:
        person = _required_user(person_id, _("One of the participants does not exist."))
        _ensure_seat(meeting, person, ParticipantRole.DELEGATE)
    for name in guests:
        if name.strip():
            Participant.objects.create(meeting=meeting, guest_name=name.strip()[:200],
                                       role=ParticipantRole.GUEST)
    record(meeting, "meeting.schedule", actor=user, to_state=meeting.state, comment=meeting.title)
    return meeting


@transaction.atomic
def update_meeting(user, pk, *, data: dict) -> Meeting:
    meeting = get_meeting(user, pk, action=A.EDIT, lock=True)
    cleaned = _clean_meeting_fields(data, partial=True)
    for name, value in cleaned.items():
        setattr(meeting, name, value)
    _check_times(meeting)
    meeting.save()
    for role in ("chair", "secretary"):
        if role in cleaned:
            _ensure_seat(meeting, cleaned[role], role)
    _bump(meeting)
    record(meeting, "meeting.edit", actor=user, from_state=meeting.state, to_state=meeting.state)
    if meeting.state == MeetingState.PUBLISHED and {"starts_at", "ends_at", "place",
                                                    "online_link"} & set(cleaned):
        notify(_participant_users(meeting),
               _("The time or place of “%(title)s” changed.") % {"title": meeting.title},
               meeting_url(meeting), email_subject=meeting.title,
               event="meeting.changed", obj=meeting)
    return meeting


@transaction.atomic
def add_participant(user, pk, *, person=None, guest_name: str = "",
                    role: str = ParticipantRole.DELEGATE) -> Participant:
    meeting = get_meeting(user, pk, action=A.EDIT, lock=True)
    if role not in ParticipantRole.values:
        raise InvalidInput(_("Unknown role in the meeting."))
    if person not in (None, ""):
        person = _required_user(person, _("This person does not exist."))
        if Participant.objects.filter(meeting=meeting, user=person).exists():
            raise InvalidInput(_("%(name)s is already a participant.") % {"name": person})
        seat = Participant.objects.create(meeting=meeting, user=person, role=role)
        if meeting.state == MeetingState.PUBLISHED:
            notify([person], _("You are invited to “%(title)s”.") % {"title": meeting.title},
                   meeting_url(meeting), email_subject=meeting.title,
                   event="meeting.invited", obj=meeting)
    else:
        name = (guest_name or "").strip()
        if not name:
            raise InvalidInput(_("Choose a person or write the guest's name."))
        seat = Participant.objects.create(meeting=meeting, guest_name=name[:200],
                                          role=ParticipantRole.GUEST)
    _bump(meeting)
    record(meeting, "meeting.participant.add", actor=user, from_state=meeting.state,
           to_state=meeting.state, comment=seat.name)
    return seat


@transaction.atomic
def remove_participant(user, participant_id) -> None:
    seat = Participant.objects.filter(pk=participant_id).first()
    if seat is None:
        raise NotFound(_("This participant does not exist."))
    meeting = get_meeting(user, seat.meeting_id, action=A.EDIT, lock=True)
    if seat.user_id in (meeting.chair_id, meeting.secretary_id):
        raise InvalidInput(_("The chair and the secretary cannot be removed."))
    seat.delete()
    _bump(meeting)
    record(meeting, "meeting.participant.remove", actor=user, from_state=meeting.state,
           to_state=meeting.state, comment=seat.name)


def _clean_item(data: dict) -> dict:
    cleaned: dict = {}
    if "title" in data:
        title = (data.get("title") or "").strip()
        if not title:
            raise InvalidInput(_("The agenda item needs a title."))
        cleaned["title"] = title[:500]
    if "presenter" in data:
        cleaned["presenter"] = _user(data.get("presenter"))
        if data.get("presenter") not in (None, "") and cleaned["presenter"] is None:
            raise InvalidInput(_("This person does not exist."))
    if "presenter_name" in data:
        cleaned["presenter_name"] = (data.get("presenter_name") or "").strip()[:200]
    for name in ("starts_at", "ends_at"):
        if name in data:
            cleaned[name] = _parse_time(data.get(name), _("Give the time as HH:MM."))
    if cleaned.get("starts_at") and cleaned.get("ends_at") and (
            cleaned["ends_at"] <= cleaned["starts_at"]):
        raise InvalidInput(_("An agenda item must end after it starts."))
    return cleaned


@transaction.atomic
def add_agenda_item(user, pk, *, data: dict) -> AgendaItem:
    meeting = get_meeting(user, pk, action=A.EDIT, lock=True)
    cleaned = _clean_item({"title": data.get("title"), **data})
    last = meeting.items.order_by("-order").values_list("order", flat=True).first() or 0
    item = AgendaItem.objects.create(meeting=meeting, order=last + 1, **cleaned)
    _bump(meeting)
    record(meeting, "meeting.agenda.add", actor=user, from_state=meeting.state,
           to_state=meeting.state, comment=item.title)
    return item


def _item_for(user, item_id, action: str = A.EDIT) -> tuple[AgendaItem, Meeting]:
    item = AgendaItem.objects.filter(pk=item_id).first() if str(item_id).isdigit() else None
    if item is None:
        raise NotFound(_("This agenda item does not exist."))
    meeting = get_meeting(user, item.meeting_id, action=action, lock=True)
    return item, meeting


@transaction.atomic
def update_agenda_item(user, item_id, *, data: dict) -> AgendaItem:
    item, meeting = _item_for(user, item_id)
    for name, value in _clean_item(data).items():
        setattr(item, name, value)
    item.save()
    _bump(meeting)
    record(meeting, "meeting.agenda.edit", actor=user, from_state=meeting.state,
           to_state=meeting.state, comment=item.title)
    return item


@transaction.atomic
def remove_agenda_item(user, item_id) -> None:
    item, meeting = _item_for(user, item_id)
    if item.papers.exists():
        raise InvalidInput(_("Detach the papers of this item first."))
    if meeting.current_item_id == item.pk:
        meeting.current_item = None
        meeting.save(update_fields=["current_item"])
    item.delete()
    _bump(meeting)
    record(meeting, "meeting.agenda.remove", actor=user, from_state=meeting.state,
           to_state=meeting.state, comment=item.title)


@transaction.atomic
def move_agenda_item(user, item_id, *, up: bool) -> None:
    item, meeting = _item_for(user, item_id)
    items = list(meeting.items.order_by("order", "pk"))
    index = next(i for i, it in enumerate(items) if it.pk == item.pk)
    other = index - 1 if up else index + 1
    if 0 <= other < len(items):
        items[index], items[other] = items[other], items[index]
    for position, it in enumerate(items, start=1):
        if it.order != position:
            it.order = position
            it.save(update_fields=["order"])
    _bump(meeting)
    record(meeting, "meeting.agenda.reorder", actor=user, from_state=meeting.state,
           to_state=meeting.state)


def _restrict(paper: Paper, meeting: Meeting, user_ids: Iterable) -> None:
    ids = {int(u) for u in user_ids if str(u).strip().isdigit()}
    seats = set(Participant.objects.filter(meeting=meeting, user_id__in=ids)
                .values_list("user_id", flat=True))
    if seats != ids:
        raise InvalidInput(_("A paper can only be restricted to participants of the meeting."))
    paper.restricted_to.set(ids)


@transaction.atomic
def attach_paper(user, item_id, *, document, restricted_to: Iterable = ()) -> Paper:
    """Attach a document to an agenda item: a draft going through approval, or an archived one."""
    item, meeting = _item_for(user, item_id)
    if not isinstance(document, Document):
        document = Document.objects.filter(pk=document).first() if str(document).isdigit() \
            else None
    if document is None or not access.can(user, "view", document):
        raise NotFound(_("The document does not exist or you cannot see it."))
    if document.state == DocState.WITHDRAWN:
        raise InvalidInput(_("A withdrawn document cannot be a meeting paper."))
    if document.confidential:
        # Participants read papers through the meeting; that must never widen who
        # reads a confidential document.
        raise InvalidInput(_("A confidential document cannot be a meeting paper."))
    if Paper.objects.filter(item=item, document=document).exists():
        raise InvalidInput(_("This document is already a paper of this item."))
    source = PaperSource.REFERENCE if document.state in PUBLISHED_STATES else PaperSource.DRAFTED
    last = item.papers.order_by("-order").values_list("order", flat=True).first() or 0
    paper = Paper.objects.create(meeting=meeting, item=item, document=document, source=source,
                                 order=last + 1)
    _restrict(paper, meeting, restricted_to)
    _bump(meeting)
    record(meeting, "meeting.paper.attach", actor=user, from_state=meeting.state,
           to_state=meeting.state, comment=f"{document.pk}: {document.subject}")
    if meeting.state == MeetingState.PUBLISHED:
        _notify_paper(meeting, paper, _("A paper was added to “%(title)s”: %(paper)s"))
    return paper


def draft_paper(user, item_id, *, subject: str, document_type=None, body: str = "",
                upload=None) -> Paper:
    """Draft a new paper in the system (it then goes through the document approval flow)."""
    item = AgendaItem.objects.filter(pk=item_id).select_related("meeting__unit").first() \
        if str(item_id).isdigit() else None
    if item is None:
        raise NotFound(_("This agenda item does not exist."))
    get_meeting(user, item.meeting_id, action=A.EDIT)
    dtype = document_type or _document_type("BC", "bao-cao", "Báo cáo")
    with transaction.atomic():
        document = documents.create_document(
            user, unit=item.meeting.unit,
            data={"subject": subject, "document_type": dtype, "body": body})
        paper = attach_paper(user, item.pk, document=document)
    if upload is not None:
        documents.add_file(user, document.pk, upload=upload, kind=FileKind.MAIN)
    return paper


@transaction.atomic
def replace_paper(user, paper_id, *, document) -> Paper:
    """Point a paper at a new document; the earlier one stays readable from the paper."""
    paper = Paper.objects.filter(pk=paper_id).first() if str(paper_id).isdigit() else None
    if paper is None:
        raise NotFound(_("This paper does not exist."))
    meeting = get_meeting(user, paper.meeting_id, action=A.EDIT, lock=True)
    if not isinstance(document, Document):
        document = Document.objects.filter(pk=document).first() if str(document).isdigit() \
            else None
    if document is None or not access.can(user, "view", document):
        raise NotFound(_("The document does not exist or you cannot see it."))
    if document.confidential:
        raise InvalidInput(_("A confidential document cannot be a meeting paper."))
    if document.pk == paper.document_id:
        return paper
    paper.previous_documents = [*paper.previous_documents, paper.document_id]
    paper.document = document
    paper.source = (PaperSource.REFERENCE if document.state in PUBLISHED_STATES
                    else PaperSource.DRAFTED)
    if meeting.state in PUBLIC_STATES:
        paper.changed_after_publication = True
    paper.save()
    _bump(meeting)
    record(meeting, "meeting.paper.replace", actor=user, from_state=meeting.state,
           to_state=meeting.state, comment=f"{paper.previous_documents[-1]} → {document.pk}")
    if meeting.state in PUBLIC_STATES:
        _notify_paper(meeting, paper, _("A paper of “%(title)s” changed: %(paper)s"))
    return paper


@transaction.atomic
def detach_paper(user, paper_id) -> None:
    paper = Paper.objects.filter(pk=paper_id).first() if str(paper_id).isdigit() else None
    if paper is None:
        raise NotFound(_("This paper does not exist."))
    meeting = get_meeting(user, paper.meeting_id, action=A.EDIT, lock=True)
    paper.delete()
    _bump(meeting)
    record(meeting, "meeting.paper.detach", actor=user, from_state=meeting.state,
           to_state=meeting.state, comment=f"{paper.document_id}")


@transaction.atomic
def restrict_paper(user, paper_id, *, user_ids: Iterable) -> Paper:
    paper = Paper.objects.filter(pk=paper_id).first() if str(paper_id).isdigit() else None
    if paper is None:
        raise NotFound(_("This paper does not exist."))
    meeting = get_meeting(user, paper.meeting_id, action=A.EDIT, lock=True)
    _restrict(paper, meeting, user_ids)
    _bump(meeting)
    record(meeting, "meeting.paper.restrict", actor=user, from_state=meeting.state,
           to_state=meeting.state, comment=f"{paper.pk}")
    return paper


def _paper_readers(meeting: Meeting, paper: Paper) -> list[User]:
    restricted = set(paper.restricted_to.values_list("pk", flat=True))
    return [u for u in _participant_users(meeting) if not restricted or u.pk in restricted]


def _notify_paper(meeting: Meeting, paper: Paper, template: str) -> None:
    text = template % {"title": meeting.title, "paper": paper.document.subject}
    notify(_paper_readers(meeting, paper), text, room_url(meeting), email_subject=meeting.title,
           event="meeting.paper", obj=meeting)


def notify_paper_changed(document_id: int, reason: str) -> None:
    """A paper's document changed: rooms refresh; after publication, readers are told.

    Any change counts for the room (a draft paper getting approved becomes
    readable); only a new file version or an edit is news for the participants.
    """
    papers = Paper.objects.filter(document_id=document_id).select_related("meeting", "document")
    for paper in papers:
        with transaction.atomic():
            _bump_id(paper.meeting_id)
            if reason not in ("edit", "file") or paper.meeting.state not in PUBLIC_STATES:
                continue
            Paper.objects.filter(pk=paper.pk).update(changed_after_publication=True)
            record(paper.meeting, "meeting.paper.changed", comment=f"{document_id}: {reason}")
            _notify_paper(paper.meeting, paper, _("A paper of “%(title)s” changed: %(paper)s"))


# --- approval and publication -----------------------------------------------------------------


@dataclass
class Readiness:
    papers: list[tuple[Paper, bool]]
    items: int

    @property
    def ready(self) -> bool:
        return self.items > 0 and all(ok for _p, ok in self.papers)

    @property
    def waiting(self) -> list[Paper]:
        return [p for p, ok in self.papers if not ok]


def readiness(meeting: Meeting) -> Readiness:
    papers = list(meeting.papers.select_related("document", "item"))
    return Readiness(papers=[(p, p.document.state in APPROVED_ONWARDS) for p in papers],
                     items=meeting.items.count())


def send_papers_for_approval(user, pk) -> Meeting:
    """Move to "papers under approval" and submit the caller's own drafted papers.

    Papers drafted by others are submitted by their drafters; the leader approves
    each one through the normal document flow.
    """
    with transaction.atomic():
        meeting = _run_transition(user, pk, "send_for_approval",
                                  expected_state=MeetingState.DRAFT)
        for paper in meeting.papers.select_related("document"):
            document = paper.document
            if document.drafter_id == user.pk and document.state in OPEN_STATES:
                documents.perform(user, document.pk, "submit")
    return meeting


def _document_type(abbreviation: str, code: str, name: str) -> DocumentType:
    found = DocumentType.objects.filter(abbreviation=abbreviation, is_active=True).first()
    if found:
        return found
    found, _created = DocumentType.objects.get_or_create(
        code=code, defaults={"name": name, "abbreviation": abbreviation})
    return found


def _drafter_for(meeting: Meeting, user) -> User | None:
    """Who drafts a generated document: the caller, else the secretary, if they may draft."""
    for person in (user, meeting.secretary):
        if access.can_create_in(person, meeting.unit):
            return person
    return None


def _fmt_when(meeting: Meeting) -> str:
    start = timezone.localtime(meeting.starts_at)
    text = start.strftime("%H:%M %d/%m/%Y")
    if meeting.ends_at:
        text += " – " + timezone.localtime(meeting.ends_at).strftime("%H:%M %d/%m/%Y")
    return text


def _invitation_body(meeting: Meeting) -> str:
    items = format_html_join("", "<li>{}</li>", ((i.title,) for i in meeting.items.all()))
    where = meeting.place or meeting.online_link
    return format_html(
        "<p>{}: {}</p><p>{}: {}</p><p>{}: {}</p><p>{}:</p><ol>{}</ol><p>{}</p>",
        _("Meeting"), meeting.title, _("Time"), _fmt_when(meeting), _("Place"), where,
        _("Agenda"), items,
        _("The papers are published in the system; please read them before the meeting."),
    )


def publish_meeting(user, pk, *, expected_state: str | None = None) -> Meeting:
    """The chair approves the meeting: every paper must be approved; participants are told."""
    with transaction.atomic():
        meeting = get_meeting(user, pk, lock=True)
        ready = readiness(meeting)
        if ready.items == 0:
            raise InvalidInput(_("Add at least one agenda item before publishing."))
        if ready.waiting:
            raise InvalidInput(
                _("These papers are not approved yet: %(papers)s")
                % {"papers": "; ".join(p.document.subject for p in ready.waiting)})
        meeting = _run_transition(user, pk, "publish", timezone.now(),
                                  expected_state=expected_state)
        if meeting.wants_invitation and meeting.invitation_id is None:
            drafter = _drafter_for(meeting, user)
            if drafter is not None:
                invitation = documents.create_document(
                    drafter, unit=meeting.unit,
                    data={"subject": _("Invitation: %(title)s") % {"title": meeting.title},
                          "document_type": _document_type("GM", "giay-moi", "Giấy mời"),
                          "body": _invitation_body(meeting)})
                meeting.invitation = invitation
                meeting.save(update_fields=["invitation"])
                record(meeting, "meeting.invitation", actor=user, comment=str(invitation.pk))
        notify(_participant_users(meeting),
               _("You are invited to “%(title)s” at %(when)s. The papers are ready to read.")
               % {"title": meeting.title, "when": _fmt_when(meeting)},
               meeting_url(meeting), email_subject=meeting.title,
               event="meeting.published", obj=meeting)
        return meeting


def cancel_meeting(user, pk, *, reason: str = "") -> Meeting:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give a reason."))
    with transaction.atomic():
        meeting = _run_transition(user, pk, "cancel", comment=reason)
        if meeting.published_at:
            notify(_participant_users(meeting),
                   _("“%(title)s” is cancelled: %(reason)s") % {"title": meeting.title,
                                                                "reason": reason},
                   meeting_url(meeting), email_subject=meeting.title,
                   event="meeting.cancelled", obj=meeting)
        return meeting


def postpone_meeting(user, pk, *, reason: str = "") -> Meeting:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give a reason."))
    with transaction.atomic():
        meeting = _run_transition(user, pk, "postpone", comment=reason)
        if meeting.published_at:
            notify(_participant_users(meeting),
                   _("“%(title)s” is postponed: %(reason)s") % {"title": meeting.title,
                                                                "reason": reason},
                   meeting_url(meeting), email_subject=meeting.title,
                   event="meeting.postponed", obj=meeting)
        return meeting


def reschedule_meeting(user, pk, *, starts_at, ends_at=None) -> Meeting:
    starts = _parse_dt(starts_at, _("Give a valid start date and time."))
    ends = _parse_dt(ends_at, _("Give a valid end date and time."), required=False)
    if ends and ends <= starts:
        raise InvalidInput(_("The meeting must end after it starts."))
    return _run_transition(user, pk, "reschedule", starts_at=starts, ends_at=ends)


# --- attendance ---------------------------------------------------------------------------------


def _seat_delegate(meeting: Meeting, seat: Participant, person: User) -> None:
    """``person`` takes ``seat``'s place: a seat of their own, never with more rights."""
    if Participant.objects.filter(meeting=meeting, user=person).exists():
        raise InvalidInput(_("%(name)s is already a participant.") % {"name": person})
    seat.attendance = Attendance.DELEGATED
    seat.delegated_to = person
    seat.delegation_requested = None
    Participant.objects.create(meeting=meeting, user=person,
                               role=access.delegate_seat_role(seat.role),
                               attendance=Attendance.CONFIRMED, delegate_of=seat)
    # The delegate reads what the person they stand in for could read.
    for paper in meeting.papers.filter(restricted_to=seat.user):
        paper.restricted_to.add(person)
    notify([person], _("%(name)s asked you to attend “%(title)s” in their place.")
           % {"name": seat.user, "title": meeting.title}, meeting_url(meeting),
           email_subject=meeting.title, event="meeting.delegated", obj=meeting)


def _organisers(meeting: Meeting) -> list[User]:
    ids = {meeting.secretary_id, meeting.created_by_id} - {None}
    return list(User.objects.filter(pk__in=ids, is_active=True))


@transaction.atomic
def respond(user, pk, *, answer: str, delegate_to=None) -> Participant:
    """Confirm, decline, or send a delegate (who gets a seat of their own).

    Delegation follows ``access.delegation_rule``: someone of the participant's own unit
    or a listed deputy takes the seat at once; anyone else waits for the organiser
    (:func:`decide_delegation`). The delegate never gets a vote the participant did not
    have (``access.delegate_seat_role``).
    """
    meeting = get_meeting(user, pk, action=A.ATTEND, lock=True)
    seat = Participant.objects.select_for_update().get(meeting=meeting, user=user)
    if seat.attendance == Attendance.CHECKED_IN:
        raise InvalidInput(_("You have already checked in."))
    if answer == "confirm":
        seat.attendance = Attendance.CONFIRMED
        seat.delegated_to = None
        seat.delegation_requested = None
    elif answer == "decline":
        seat.attendance = Attendance.DECLINED
        seat.delegated_to = None
        seat.delegation_requested = None
    elif answer == "delegate":
        person = _required_user(delegate_to, _("Choose the person who attends for you."))
        if person.pk == user.pk:
            raise InvalidInput(_("Choose someone else to attend for you."))
        if Participant.objects.filter(meeting=meeting, user=person).exists():
            raise InvalidInput(_("%(name)s is already a participant.") % {"name": person})
        if seat.attendance == Attendance.DELEGATED:
            raise InvalidInput(_("You have already sent someone in your place."))
        rule = access.delegation_rule(user, seat, person)
        if rule is None:
            raise NotAllowed(_("You attend in someone else's place (or the person cannot "
                               "sign in), so you cannot pass this seat on."))
        if rule == access.Delegation.CONFIRM:
            seat.delegation_requested = person
            seat.save()
            _bump(meeting)
            record(meeting, "meeting.attendance.delegate_requested", actor=user,
                   from_state=meeting.state, to_state=meeting.state, comment=str(person))
            notify(_organisers(meeting),
                   _("%(name)s asks to send %(person)s, of another unit, to “%(title)s” in "
                     "their place; confirm or refuse it on the meeting page.")
                   % {"name": user, "person": person, "title": meeting.title},
                   meeting_url(meeting), email_subject=meeting.title,
                   event="meeting.delegation_requested", obj=meeting)
            return seat
        _seat_delegate(meeting, seat, person)
    else:
        raise InvalidInput(_("Unknown answer."))
    seat.save()
    _bump(meeting)
    record(meeting, f"meeting.attendance.{answer}", actor=user, from_state=meeting.state,
           to_state=meeting.state, comment=str(seat.delegated_to or ""))
    return seat


@transaction.atomic
def decide_delegation(user, pk, participant_id, *, approve: bool) -> Participant:
    """The organiser confirms or refuses a delegation across units."""
    meeting = get_meeting(user, pk, action=A.DELEGATIONS, lock=True)
    seat = Participant.objects.select_for_update().filter(
        meeting=meeting, pk=participant_id if str(participant_id).isdigit() else None,
        delegation_requested__isnull=False).select_related("delegation_requested").first()
    if seat is None:
        raise NotFound(_("No delegation waits for confirmation here."))
    person = seat.delegation_requested
    if approve:
        if seat.attendance == Attendance.CHECKED_IN:
            raise InvalidInput(_("The participant has already checked in."))
        _seat_delegate(meeting, seat, person)
    else:
        seat.delegation_requested = None
        notify([seat.user], _("Your delegation to “%(title)s” was refused.")
               % {"title": meeting.title}, meeting_url(meeting), email_subject=meeting.title,
               event="meeting.delegation_refused", obj=meeting)
    seat.save()
    _bump(meeting)
    record(meeting, ("meeting.attendance.delegate_confirmed" if approve
                    else "meeting.attendance.delegate_refused"),
           actor=user, from_state=meeting.state, to_state=meeting.state,
           comment=f"{seat.name} → {person}")
    return seat


@transaction.atomic
def set_deputies(user, participant_id, *, user_ids: Iterable) -> Participant:
    """The organiser lists who may attend in a participant's place without confirmation."""
    seat = Participant.objects.filter(
        pk=participant_id if str(participant_id).isdigit() else None).first()
    if seat is None:
        raise NotFound(_("This participant does not exist."))
    meeting = get_meeting(user, seat.meeting_id, action=A.EDIT, lock=True)
    if seat.user_id is None:
        raise InvalidInput(_("A guest without an account cannot have deputies."))
    ids = {int(u) for u in user_ids if str(u).strip().isdigit()}
    people = list(User.objects.filter(pk__in=ids, is_active=True))
    if len(people) != len(ids):
        raise InvalidInput(_("One of the deputies does not exist."))
    seat.deputies.set(people)
    _bump(meeting)
    record(meeting, "meeting.participant.deputies", actor=user, from_state=meeting.state,
           to_state=meeting.state, comment=f"{seat.name}: " + ", ".join(map(str, people)))
    return seat


@transaction.atomic
def check_in(user, pk, *, participant_id=None) -> Participant:
    """Check oneself in, or (organisers, presiders) check in someone present in the room."""
    if participant_id:
        meeting = get_meeting(user, pk, lock=True)
        if not (access.can_meeting(user, A.RUN, meeting)
                or (access.can_meeting(user, A.EDIT, meeting)
                    and meeting.state == MeetingState.PUBLISHED)):
            raise NotAllowed()
        seat = Participant.objects.filter(meeting=meeting, pk=participant_id).first()
        if seat is None:
            raise NotFound(_("This participant does not exist."))
    else:
        meeting = get_meeting(user, pk, action=A.CHECK_IN, lock=True)
        seat = Participant.objects.get(meeting=meeting, user=user)
    if seat.attendance in (Attendance.DECLINED, Attendance.DELEGATED) and not participant_id:
        raise InvalidInput(_("You declined or sent a delegate; you cannot check in."))
    if seat.attendance != Attendance.CHECKED_IN:
        seat.attendance = Attendance.CHECKED_IN
        seat.checked_in_at = timezone.now()
        seat.save(update_fields=["attendance", "checked_in_at"])
        _bump(meeting)
        record(meeting, "meeting.check_in", actor=user, from_state=meeting.state,
               to_state=meeting.state, comment=seat.name)
    return seat


# --- the session ----------------------------------------------------------------------------


def start_meeting(user, pk, *, expected_state: str | None = None) -> Meeting:
    with transaction.atomic():
        meeting = _run_transition(user, pk, "start", timezone.now(),
                                  expected_state=expected_state)
        if meeting.current_item_id is None:
            first = meeting.items.order_by("order", "pk").first()
            if first:
                meeting.current_item = first
                meeting.save(update_fields=["current_item"])
        return meeting


@transaction.atomic
def set_current_item(user, pk, item_id) -> Meeting:
    meeting = get_meeting(user, pk, action=A.RUN, lock=True)
    item = meeting.items.filter(pk=item_id).first() if str(item_id).isdigit() else None
    if item is None:
        raise InvalidInput(_("This agenda item does not exist."))
    if meeting.current_item_id != item.pk:
        meeting.current_item = item
        meeting.save(update_fields=["current_item"])
        _bump(meeting)
        record(meeting, "meeting.current_item", actor=user, from_state=meeting.state,
               to_state=meeting.state, comment=item.title)
    return meeting


@transaction.atomic
def step_item(user, pk, *, forward: bool = True) -> Meeting:
    meeting = get_meeting(user, pk, action=A.RUN)
    ids = list(meeting.items.order_by("order", "pk").values_list("pk", flat=True))
    if not ids:
        raise InvalidInput(_("The agenda is empty."))
    if meeting.current_item_id in ids:
        index = ids.index(meeting.current_item_id) + (1 if forward else -1)
    else:
        index = 0
    index = max(0, min(index, len(ids) - 1))
    return set_current_item(user, pk, ids[index])


@transaction.atomic
def request_to_speak(user, pk) -> SpeakRequest:
    meeting = get_meeting(user, pk, action=A.SPEAK, lock=True)
    existing = SpeakRequest.objects.filter(
        meeting=meeting, user=user, state__in=[SpeakState.WAITING, SpeakState.SPEAKING]).first()
    if existing:
        return existing
    req = SpeakRequest.objects.create(meeting=meeting, user=user, item=meeting.current_item)
    _bump(meeting)
    record(meeting, "meeting.speak.request", actor=user, from_state=meeting.state,
           to_state=meeting.state)
    return req


@transaction.atomic
def withdraw_speak_request(user, pk) -> None:
    meeting = get_meeting(user, pk, lock=True)
    changed = SpeakRequest.objects.filter(meeting=meeting, user=user,
                                          state=SpeakState.WAITING).update(
        state=SpeakState.WITHDRAWN)
    if changed:
        _bump(meeting)
        record(meeting, "meeting.speak.withdraw", actor=user, from_state=meeting.state,
               to_state=meeting.state)


@transaction.atomic
def next_speaker(user, pk) -> SpeakRequest | None:
    """Finish the current speaker and give the floor to the first one waiting."""
    meeting = get_meeting(user, pk, action=A.RUN, lock=True)
    SpeakRequest.objects.filter(meeting=meeting, state=SpeakState.SPEAKING).update(
        state=SpeakState.DONE)
    nxt = SpeakRequest.objects.filter(meeting=meeting, state=SpeakState.WAITING).order_by(
        "requested_at", "pk").first()
    if nxt:
        nxt.state = SpeakState.SPEAKING
        nxt.started_at = timezone.now()
        nxt.save(update_fields=["state", "started_at"])
    _bump(meeting)
    record(meeting, "meeting.speak.next", actor=user, from_state=meeting.state,
           to_state=meeting.state, comment=str(nxt.user) if nxt else "")
    return nxt


def _eligible_voters(meeting: Meeting) -> int:
    return meeting.participants.filter(user__isnull=False, role__in=VOTING_ROLES,
                                       attendance=Attendance.CHECKED_IN).count()


@transaction.atomic
def open_vote(user, pk, *, question: str, secret: bool = False, item_id=None) -> Vote:
    meeting = get_meeting(user, pk, action=A.MANAGE_VOTES, lock=True)
    question = (question or "").strip()
    if not question:
        raise InvalidInput(_("Write the question to vote on."))
    if meeting.votes.filter(state=VoteState.OPEN).exists():
        raise InvalidInput(_("Close the open vote first."))
    item = meeting.current_item
    if item_id:
        item = meeting.items.filter(pk=item_id).first()
    vote = Vote.objects.create(meeting=meeting, item=item, question=question[:500],
                               secret=bool(secret), opened_by=user,
                               eligible_count=_eligible_voters(meeting))
    _bump(meeting)
    record(vote, "vote.open", actor=user, to_state=vote.state, comment=vote.question)
    return vote


def _lock_vote(vote_id) -> Vote:
    try:
        return Vote.objects.select_for_update().select_related("meeting").get(pk=vote_id)
    except (Vote.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("This vote does not exist.")) from None


@transaction.atomic
def close_vote(user, vote_id) -> Vote:
    vote = _lock_vote(vote_id)
    if not access.can_meeting(user, A.VIEW, vote.meeting):
        raise NotFound(_("This vote does not exist."))
    if not access.can_meeting(user, A.MANAGE_VOTES, vote.meeting):
        raise NotAllowed()
    if vote.state == VoteState.CLOSED:
        return vote
    vote.state = VoteState.CLOSED
    vote.closed_at = timezone.now()
    vote.save(update_fields=["state", "closed_at"])
    _bump_id(vote.meeting_id)
    record(vote, "vote.close", actor=user, from_state=VoteState.OPEN, to_state=VoteState.CLOSED,
           comment=f"yes={vote.yes_count} no={vote.no_count} abstain={vote.abstain_count}")
    return vote


def cast_ballot(user, vote_id, choice: str) -> Ballot:
    """One ballot per person, counted once, even under concurrent clicks.

    The vote row is locked and its state read inside the transaction, so a
    ballot racing the close either lands before it (and is in the result) or
    is refused; the unique (vote, voter) constraint backs up the check.
    """
    if choice not in Choice.values:
        raise InvalidInput(_("Choose yes, no or abstain."))
    try:
        with transaction.atomic():
            vote = _lock_vote(vote_id)
            meeting = vote.meeting
            if not access.can_meeting(user, A.VIEW, meeting):
                raise NotFound(_("This vote does not exist."))
            if vote.state != VoteState.OPEN:
                raise Conflict(_("This vote is closed; your ballot was not counted."))
            if not access.can_meeting(user, A.BALLOT, meeting):
                raise NotAllowed(_("You do not have a vote in this meeting."))
            seat = access.meeting_seat(user, meeting)
            if seat.attendance != Attendance.CHECKED_IN:
                raise InvalidInput(_("Check in first to vote."))
            if Ballot.objects.filter(vote=vote, voter=user).exists():
                raise Conflict(_("You have already voted; your first ballot counts."))
            ballot = Ballot.objects.create(vote=vote, voter=user,
                                           choice="" if vote.secret else choice)
            counter = f"{choice}_count"
            Vote.objects.filter(pk=vote.pk).update(**{counter: F(counter) + 1})
            _bump_id(meeting.pk)
            record(vote, "vote.ballot", actor=user, comment="" if vote.secret else choice)
            return ballot
    except IntegrityError:
        raise Conflict(_("You have already voted; your first ballot counts.")) from None


def vote_result(vote: Vote) -> dict:
    result = {"yes": vote.yes_count, "no": vote.no_count, "abstain": vote.abstain_count,
              "cast": vote.cast_count, "eligible": vote.eligible_count}
    if not vote.secret:
        names: dict[str, list[str]] = {c: [] for c in Choice.values}
        for ballot in vote.ballots.select_related("voter"):
            names.setdefault(ballot.choice, []).append(str(ballot.voter))
        result["names"] = names
    return result


def close_meeting(user, pk, *, paperless: bool, reason: str = "",
                  expected_state: str | None = None) -> Meeting:
    reason = (reason or "").strip()
    if not paperless and not reason:
        raise InvalidInput(_("Say why paper was used."))
    with transaction.atomic():
        meeting = get_meeting(user, pk, lock=True)
        if meeting.votes.filter(state=VoteState.OPEN).exists():
            raise InvalidInput(_("Close the open vote first."))
        meeting = _run_transition(user, pk, "close", at=timezone.now(),
                                  paperless=bool(paperless), reason=reason,
                                  expected_state=expected_state,
                                  comment="" if paperless else reason)
        SpeakRequest.objects.filter(meeting=meeting, state__in=[
            SpeakState.WAITING, SpeakState.SPEAKING]).update(state=SpeakState.DONE)
        return meeting


# --- the record and the follow-up -------------------------------------------------------------


def _minutes_body(meeting: Meeting) -> str:
    seats = list(meeting.participants.select_related("user", "delegated_to"))
    present = [s for s in seats if s.attendance == Attendance.CHECKED_IN]
    absent = [s for s in seats if s.attendance != Attendance.CHECKED_IN]
    speakers = SpeakRequest.objects.filter(meeting=meeting, state__in=[
        SpeakState.SPEAKING, SpeakState.DONE]).select_related("user", "item").order_by(
        "started_at", "pk")
    votes = list(meeting.votes.select_related("item"))
    parts = [
        format_html("<p><strong>{}</strong>: {}</p>", _("Meeting"), meeting.title),
        format_html("<p><strong>{}</strong>: {}</p>", _("Time"), _fmt_when(meeting)),
        format_html("<p><strong>{}</strong>: {}</p>", _("Place"),
                    meeting.place or meeting.online_link),
        format_html("<p><strong>{}</strong>: {}. <strong>{}</strong>: {}</p>", _("Chair"),
                    meeting.chair, _("Secretary"), meeting.secretary),
        format_html("<h3>{}</h3><p>{}: {}/{}</p>", _("Attendance"), _("Present"),
                    len(present), len(seats)),
        format_html("<ul>{}</ul>", format_html_join(
            "", "<li>{} ({})</li>", ((s.name, s.get_role_display()) for s in present))),
    ]
    if absent:
        parts.append(format_html("<p>{}:</p><ul>{}</ul>", _("Absent"), format_html_join(
            "", "<li>{} — {}{}</li>",
            ((s.name, s.get_attendance_display(),
              f" → {s.delegated_to}" if s.delegated_to_id else "") for s in absent))))
    parts.append(format_html("<h3>{}</h3><ol>{}</ol>", _("Agenda"), format_html_join(
        "", "<li>{}{}</li>",
        ((i.title, f" ({i.presenter_label})" if i.presenter_label else "")
         for i in meeting.items.select_related("presenter")))))
    parts.append(format_html("<h3>{}</h3>", _("Speakers")))
    parts.append(format_html("<ol>{}</ol>", format_html_join(
        "", "<li>{}{}</li>",
        ((str(s.user), f" — {s.item.title}" if s.item_id else "") for s in speakers)))
        if speakers else format_html("<p>{}</p>", _("Nobody asked to speak.")))
    parts.append(format_html("<h3>{}</h3>", _("Votes")))
    if not votes:
        parts.append(format_html("<p>{}</p>", _("No vote was held.")))
    for vote in votes:
        result = vote_result(vote)
        parts.append(format_html(
            "<p>{} ({}): {} {}, {} {}, {} {} — {} {}/{}</p>", vote.question,
            _("secret ballot") if vote.secret else _("named vote"),
            _("In favour"), result["yes"], _("Against"), result["no"],
            _("Abstain"), result["abstain"],
            _("ballots cast"), result["cast"], result["eligible"]))
        if not vote.secret:
            parts.append(format_html("<ul>{}</ul>", format_html_join(
                "", "<li>{}: {}</li>",
                ((Choice(c).label, ", ".join(n)) for c, n in result["names"].items() if n))))
    parts.append(format_html("<p>{}</p>", _("The meeting was held without paper.")
                             if meeting.paperless else
                             _("Paper was used: %(reason)s") % {"reason": meeting.paper_reason}))
    return "".join(str(p) for p in parts)


def _record_drafter(meeting: Meeting, user) -> User:
    """The minutes are drafted by the caller, or in the secretary's name when the caller
    (a meeting-secretary role without drafting rights) cannot draft documents."""
    drafter = _drafter_for(meeting, user)
    if drafter is None:
        raise NotAllowed(_("Neither you nor the meeting's secretary may draft documents for "
                           "this unit."))
    return drafter


def draft_minutes(user, pk) -> Document:
    """Draft the minutes (biên bản) from the record; they then enter the outgoing flow."""
    with transaction.atomic():
        meeting = get_meeting(user, pk, action=A.RECORD, lock=True)
        if meeting.minutes_id:
            raise InvalidInput(_("The minutes are already drafted."))
        document = documents.create_document(
            _record_drafter(meeting, user), unit=meeting.unit,
            data={"subject": _("Minutes: %(title)s") % {"title": meeting.title},
                  "document_type": _document_type("BB", "bien-ban", "Biên bản"),
                  "body": _minutes_body(meeting)})
        meeting.minutes = document
        meeting.save(update_fields=["minutes"])
        record(meeting, "meeting.minutes", actor=user, from_state=meeting.state,
               to_state=meeting.state, comment=str(document.pk))
        return document


@transaction.atomic
def add_task(user, pk, *, title: str, owner, due_date=None) -> FollowUpTask:
    meeting = get_meeting(user, pk, action=A.RECORD, lock=True)
    title = (title or "").strip()
    if not title:
        raise InvalidInput(_("Describe the task."))
    person = _required_user(owner, _("Choose who owns the task."))
    if isinstance(due_date, str):
        try:
            due_date = dt.date.fromisoformat(due_date) if due_date.strip() else None
        except ValueError:
            raise InvalidInput(_("The due date is not a valid date.")) from None
    task = FollowUpTask.objects.create(meeting=meeting, title=title[:500], owner=person,
                                       due_date=due_date, created_by=user)
    record(task, "task.create", actor=user, to_state=task.state, comment=task.title)
    notify([person], _("New task from “%(title)s”: %(task)s") % {"title": meeting.title,
                                                                 "task": task.title},
           reverse("meetings:tasks"), email_subject=meeting.title,
           event="task.assigned", obj=task, kind="task")
    return task


@transaction.atomic
def set_task_state(user, task_id, *, done: bool) -> FollowUpTask:
    task = FollowUpTask.objects.select_for_update().select_related("meeting").filter(
        pk=task_id).first() if str(task_id).isdigit() else None
    if task is None:
        raise NotFound(_("This task does not exist."))
    if task.owner_id != user.pk and not access.is_meeting_organiser(user, task.meeting):
        raise NotAllowed(_("Only the owner or the meeting's secretary can update this task."))
    before = task.state
    task.state = TaskState.DONE if done else TaskState.OPEN
    task.done_at = timezone.now() if done else None
    task.save(update_fields=["state", "done_at"])
    record(task, "task.done" if done else "task.reopen", actor=user, from_state=before,
           to_state=task.state)
    return task


def tasks_for(user):
    return FollowUpTask.objects.filter(owner=user).select_related("meeting")


def _conclusion_body(meeting: Meeting, text: str) -> str:
    tasks = list(meeting.tasks.select_related("owner"))
    parts = [format_html("<p>{}</p>", line) for line in text.splitlines() if line.strip()]
    if tasks:
        parts.append(format_html("<h3>{}</h3>", _("Follow-up tasks")))
        parts.append(format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody>"
            "</table>", _("Task"), _("Owner"), _("Due date"),
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                             ((t.title, str(t.owner),
                               t.due_date.strftime("%d/%m/%Y") if t.due_date else "")
                              for t in tasks))))
    return "".join(str(p) for p in parts)


def draft_conclusion(user, pk, *, text: str) -> Document:
    """Draft the conclusion notice (thông báo kết luận) with the follow-up tasks."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput(_("Write the conclusions."))
    with transaction.atomic():
        meeting = get_meeting(user, pk, action=A.RECORD, lock=True)
        if meeting.conclusion_id:
            raise InvalidInput(_("The conclusion notice is already drafted."))
        document = documents.create_document(
            _record_drafter(meeting, user), unit=meeting.unit,
            data={"subject": _("Conclusions of %(title)s") % {"title": meeting.title},
                  "document_type": _document_type("TB", "thong-bao", "Thông báo"),
                  "body": _conclusion_body(meeting, escape(text))})
        meeting.conclusion = document
        meeting.save(update_fields=["conclusion"])
        record(meeting, "meeting.conclusion", actor=user, from_state=meeting.state,
               to_state=meeting.state, comment=str(document.pk))
        return document


def conclude_meeting(user, pk) -> Meeting:
    with transaction.atomic():
        meeting = get_meeting(user, pk, lock=True)
        if not (meeting.minutes_id and meeting.conclusion_id):
            raise InvalidInput(_("Draft the minutes and the conclusion notice first."))
        return _run_transition(user, pk, "conclude")


# --- private notes ------------------------------------------------------------------------------


def get_paper(user, paper_id) -> Paper:
    paper = Paper.objects.select_related("meeting", "document", "document__unit", "item").filter(
        pk=paper_id).first() if str(paper_id).isdigit() else None
    if paper is None or not access.can_read_paper(user, paper):
        raise NotFound(_("This paper does not exist or you cannot read it."))
    return paper


def get_note(user, paper_id) -> str:
    paper = get_paper(user, paper_id)
    note = PrivateNote.objects.filter(paper=paper, user=user).first()
    return note.text if note else ""


@transaction.atomic
def save_note(user, paper_id, *, text: str) -> PrivateNote:
    """Save the person's own note; nobody else ever reads it (no audit of its content)."""
    paper = get_paper(user, paper_id)
    if not access.can_meeting(user, A.NOTE, paper.meeting):
        raise NotAllowed(_("Notes can be written once the meeting is published."))
    text = text or ""
    if len(text) > MAX_NOTE_CHARS:
        raise InvalidInput(_("The note is too long (at most %(n)d characters).")
                           % {"n": MAX_NOTE_CHARS})
    note, _created = PrivateNote.objects.update_or_create(paper=paper, user=user,
                                                          defaults={"text": text})
    return note


# --- files ----------------------------------------------------------------------------------------


def paper_file_version(paper: Paper, version_id=None) -> FileVersion | None:
    """The file to show: a chosen version of one of the paper's documents, else the main file."""
    doc_ids = [paper.document_id, *paper.previous_documents]
    if version_id:
        if not str(version_id).isdigit():
            return None
        return FileVersion.objects.filter(pk=version_id, file__document_id__in=doc_ids).first()
    files = list(paper.document.files.select_related("current_version").order_by("kind", "pk"))
    main = next((f for f in files if f.kind == FileKind.MAIN), None) or (files[0] if files
                                                                          else None)
    return main.current_version if main else None


# Links to a paper's file handed out with the room state carry a signed token, so the
# moment 150 delegates open the same paper costs no session, user or permission
# queries: the decision was made when the state was built for that person. A token
# names the paper, the file version and (hashed) the session it was made for, and
# lapses after PAPER_LINK_SECONDS; a lapsed or foreign one falls back to the full check.
PAPER_LINK_SECONDS = 15 * 60
_PAPER_LINK_SALT = "workflow.meetings.paper-link"
_POLL_SALT = "workflow.meetings.room-poll"


@functools.lru_cache(maxsize=16)
def _derived_key(salt: str, secret: str) -> bytes:
    return hashlib.sha256((salt + secret).encode()).digest()


def _mac(salt: str, value: str) -> str:
    """``salted_hmac(salt, value, algorithm="sha256").hexdigest()``, minus re-deriving the key.

    A full-state poll signs one link per paper; deriving the key each time was a
    third of that cost.
    """
    return hmac.digest(_derived_key(salt, settings.SECRET_KEY), value.encode(),
                       "sha256").hex()


def _link_mac(paper_id: int, version_id: int, stamp: str, session_key: str) -> str:
    return _mac(_PAPER_LINK_SALT, f"{paper_id}.{version_id}.{stamp}.{session_key}")[:32]


def paper_link_token(paper_id: int, version_id: int, session_key: str,
                     now: float | None = None, user_id: int | None = None) -> str:
    """``version.time.mac[.user]``: URL-safe, a few microseconds to make (one per paper per
    poll). The reader's id, under the MAC, lets the opening be access-logged without a
    session or user query."""
    stamp = format(int(time.time() if now is None else now), "x")
    if user_id is None:
        return f"{version_id}.{stamp}.{_link_mac(paper_id, version_id, stamp, session_key)}"
    mac = _link_mac(paper_id, version_id, stamp, f"{session_key}.{int(user_id)}")
    return f"{version_id}.{stamp}.{mac}.{int(user_id)}"


# File versions never change once written (a new upload is a new row), so the rows a
# burst of link openings needs are kept in each process for a minute, as plain values:
# every request gets its own instance, because an instance's FieldFile holds the open
# file and must not be shared between threads.
_VERSION_ROWS: dict[int, tuple[float, list]] = {}
_VERSION_ROW_SECONDS = 60
_VERSION_ROWS_MAX = 256
_VERSION_FIELDS = [f.attname for f in FileVersion._meta.concrete_fields]


def _file_version(version_id: int) -> tuple[FileVersion, int] | None:
    """The version and the id of the document it belongs to (both never change)."""
    now = time.monotonic()
    hit = _VERSION_ROWS.get(version_id)
    if hit is None or now - hit[0] >= _VERSION_ROW_SECONDS:
        values = FileVersion.objects.filter(pk=version_id).values_list(
            *_VERSION_FIELDS, "file__document_id").first()
        if values is None:
            return None
        if len(_VERSION_ROWS) >= _VERSION_ROWS_MAX:
            _VERSION_ROWS.clear()
        hit = _VERSION_ROWS[version_id] = (now, list(values))
    return FileVersion.from_db(None, _VERSION_FIELDS, hit[1][:-1]), hit[1][-1]


@functools.cache
def _paper_serves_plan(alias: str) -> tuple[str, list]:
    """The SQL for one paper's documents and the current one's confidentiality, with the
    converters ``previous_documents`` needs on this database (written once: the ORM's
    query building cost more than the read itself on the 150-reader burst)."""
    connection = connections[alias]
    qn = connection.ops.quote_name
    paper, document = Paper._meta, Document._meta
    previous = paper.get_field("previous_documents")
    column = previous.get_col(paper.db_table)
    converters = (previous.get_db_converters(connection)
                  + connection.ops.get_db_converters(column))
    sql = (f"SELECT p.{qn(paper.get_field('document').column)}, "  # noqa: S608
           f"p.{qn(previous.column)}, d.{qn(document.get_field('confidential').column)} "
           f"FROM {qn(paper.db_table)} p LEFT JOIN {qn(document.db_table)} d "
           f"ON d.{qn(document.pk.column)} = p.{qn(paper.get_field('document').column)} "
           f"WHERE p.{qn(paper.pk.column)} = %s")
    return sql, [(convert, column) for convert in converters]


def _paper_serves(paper_id: int, document_id: int) -> bool:
    """Is ``document_id`` (still) one of this paper's documents, and not confidential?

    Not cached: confidentiality may be set at any moment and must win at once; one
    primary-key read per opening.
    """
    alias = router.db_for_read(Paper)
    connection = connections[alias]
    sql, converters = _paper_serves_plan(alias)
    with connection.cursor() as cursor:
        cursor.execute(sql, [paper_id])
        row = cursor.fetchone()
    if row is None:
        return False
    current, previous, confidential = row
    for convert, column in converters:
        previous = convert(previous, column, connection)
    if document_id == current:
        return not confidential
    return document_id in (previous or []) and Document.objects.filter(
        pk=document_id, confidential=False).exists()


def forget_process_caches() -> None:
    """Drop what this process keeps in memory (tests, after restoring a database)."""
    _VERSION_ROWS.clear()
    _LOCAL_SHARED.clear()


def paper_link_version(token: str, paper_id: int, session_key: str | None
                       ) -> FileVersion | None:
    """The file version a valid token for this paper and session grants, else None."""
    if not token or not session_key or len(token) > 80:
        return None
    parts = token.split(".")
    reader = parts.pop() if len(parts) == 4 else None
    if len(parts) != 3 or not parts[0].isdigit() or (reader is not None
                                                     and not reader.isdigit()):
        return None
    version, stamp, mac = parts
    if reader is not None:
        session_key = f"{session_key}.{reader}"
    try:
        age = time.time() - int(stamp, 16)
    except ValueError:
        return None
    if not 0 <= age <= PAPER_LINK_SECONDS + 1 or not constant_time_compare(
            mac, _link_mac(paper_id, int(version), stamp, session_key)):
        return None
    # Even a valid MAC only opens a file of that paper (a leaked key must not open any
    # version of any document), and never a confidential one: those take the full check.
    found = _file_version(int(version))
    if found is None or not _paper_serves(paper_id, found[1]):
        return None
    # Fresh instance per request: safe to carry who opened which document.
    found[0].link_reader_id = int(reader) if reader is not None else None
    found[0].link_document_id = found[1]
    return found[0]


def paper_versions(paper: Paper) -> list[FileVersion]:
    doc_ids = [paper.document_id, *paper.previous_documents]
    return list(FileVersion.objects.filter(file__document_id__in=doc_ids).select_related(
        "file", "file__document").order_by("-uploaded_at", "-pk"))


# --- the room state (what the poll returns) ---------------------------------------------------
#
# 150 delegates poll once a second. The state is built in three layers so that the
# moment the secretary moves to the next item, when all of them fetch it at once, costs
# little per person:
#
# * the shared part (agenda, papers, speakers, votes, attendance counts) is built once
#   per room version and kept in the cache (Redis across processes when CACHE_URL is
#   set), keyed by the version, so it never needs invalidating;
# * the person's pass (organiser or presider through their roles, which papers they
#   read through their own document rights) is kept per person for a minute and
#   rebuilt whenever the papers, their states or restrictions or the meeting's state
#   change (its ``stamp``): moving the current item, speakers and votes leave it be;
# * the rest (own seat, own ballots, signed links) is merged per request without a query.
#
# The answer "nothing changed" needs neither: a poll carries a token (version + MAC
# over meeting, version, person, session and language) handed out with the last state,
# checked against the room version, which is kept in the cache for a second.


def readable_papers(user, meeting: Meeting) -> list[Paper]:
    """Papers this person may open, in agenda order, with a handful of queries."""
    standing = access.meeting_standing(user, meeting)
    seat = access.meeting_seat(user, meeting)
    if not access.decide_meeting(A.VIEW, meeting, standing, seat):
        return []
    actor = access.actor_for(user)
    papers = (meeting.papers.select_related("document", "document__document_type",
                                            "document__unit", "item")
              .prefetch_related("restricted_to", "document__files__current_version")
              .order_by("item__order", "item_id", "order", "pk"))
    reads = access.room_paper_rule(standing, seat, meeting)
    result = []
    for paper in papers:
        ok = reads(paper.document.state in APPROVED_ONWARDS,
                   [u.pk for u in paper.restricted_to.all()], paper.document.confidential)
        if ok is None:
            ok = access.can_view(actor, paper.document)
        if ok:
            result.append(paper)
    return result


ROOM_CACHE_SECONDS = 120
ROOM_PASS_SECONDS = 60
ROOM_VERSION_SECONDS = 1


def _room_key(meeting: Meeting) -> str:
    # created_at keeps keys apart if a database is ever rebuilt with the same ids.
    return f"meetings:room:{meeting.pk}:{meeting.created_at.timestamp():.6f}"


def _shared_room(meeting: Meeting) -> dict:
    """The part of the room state that is the same for everyone at one room version.

    Entries starting with ``_`` (who may read a paper, who voted what) stay on the
    server: :func:`room_state` picks from them for one person.
    """
    restricted = defaultdict(list)
    for paper_id, user_id in Paper.restricted_to.through.objects.filter(
            paper__meeting=meeting).values_list("paper_id", "user_id"):
        restricted[paper_id].append(user_id)
    papers_by_item: dict[int, list[dict]] = defaultdict(list)
    # Plain rows, not model instances: building ~160 objects (papers, documents, files,
    # versions) was most of the cost of a state that 150 people wait for.
    papers = list(meeting.papers.order_by("item__order", "item_id", "order", "pk").values_list(
        "pk", "item_id", "changed_after_publication", "document_id", "document__state",
        "document__subject", "document__symbol", "document__document_type__name",
        "document__updated_at", "document__confidential"))
    main: dict[int, tuple] = {}
    for doc_id, _kind, _file, *version in sorted(
            DocumentFile.objects.filter(document_id__in={p[3] for p in papers}).values_list(
                "document_id", "kind", "pk", "current_version_id",
                "current_version__original_name", "current_version__page_count",
                "current_version__content_type"),
            key=lambda row: (row[1] != FileKind.MAIN, row[2])):
        # The main file, else the first one: what paper_file_version() serves.
        main.setdefault(doc_id, tuple(version))
    labels = dict(DocState.choices)
    file_url = reverse("meetings:paper_file", args=[0])
    body_url = reverse("meetings:paper_body", args=[0])
    note_url = reverse("meetings:paper_note", args=[0])

    def url(pattern: str, pk: int) -> str:
        # One reverse() per kind instead of three per paper.
        return pattern.replace("/0/", f"/{pk}/", 1)

    stamp = [meeting.state, bool(meeting.published_at), meeting.chair_id,
             meeting.secretary_id, meeting.created_by_id, meeting.unit_id]
    for (pk, item_id, changed, doc_id, state, subject, symbol, type_name, updated,
         confidential) in papers:
        version_id, name, pages, content_type = main.get(doc_id, (None, "", None, ""))
        allowed = sorted(restricted.get(pk, []))
        stamp.append((pk, doc_id, state, updated.isoformat(), allowed, confidential))
        papers_by_item[item_id].append({
            "_document": doc_id,
            "_approved": state in APPROVED_ONWARDS,
            "_restricted": allowed,
            "_confidential": confidential,
            "_version": version_id,
            "public": {
                "id": pk,
                "title": subject,
                "symbol": symbol,
                "type": type_name,
                "state": str(labels.get(state, state)),
                "changed": changed,
                "file": (name or "") if version_id else "",
                "pages": pages if version_id else None,
                "is_pdf": bool(version_id and content_type == "application/pdf"),
                "view_url": url(file_url, pk) if version_id else url(body_url, pk),
                "download_url": url(file_url, pk) + "?download=1" if version_id else "",
                "note_url": url(note_url, pk),
            },
        })
    items = [{
        "id": item.pk,
        "order": item.order,
        "title": item.title,
        "presenter": item.presenter_label,
        "time": " – ".join(t.strftime("%H:%M") for t in (item.starts_at, item.ends_at) if t),
        "papers": papers_by_item.get(item.pk, []),
    } for item in meeting.items.select_related("presenter").order_by("order", "pk")]
    speakers = [{"id": s.pk, "name": str(s.user), "state": s.state, "user": s.user_id}
                for s in SpeakRequest.objects.filter(
                    meeting=meeting, state__in=[SpeakState.WAITING, SpeakState.SPEAKING]
                ).select_related("user").order_by("requested_at", "pk")]
    votes = []
    recent = list(meeting.votes.order_by("-opened_at", "-pk")[:20])
    ballots: dict[int, dict[int, str]] = defaultdict(dict)
    if recent:
        # Who voted, to tell each person whether they did; a secret ballot has no choice.
        for vote_id, voter_id, choice in Ballot.objects.filter(
                vote__in=recent).values_list("vote_id", "voter_id", "choice"):
            ballots[vote_id][voter_id] = choice
    for vote in recent:
        entry = {"id": vote.pk, "question": vote.question, "secret": vote.secret,
                 "state": vote.state, "item": vote.item_id, "cast": vote.cast_count,
                 "eligible": vote.eligible_count}
        if vote.state == VoteState.CLOSED:
            entry["result"] = {"yes": vote.yes_count, "no": vote.no_count,
                               "abstain": vote.abstain_count}
        votes.append({"public": entry, "_ballots": dict(ballots.get(vote.pk, {}))})
    counts = dict(meeting.participants.values_list("attendance").annotate(n=Count("pk")))
    return {
        "state": meeting.state,
        "state_label": str(meeting.get_state_display()),
        "current_item": meeting.current_item_id,
        "items": items,
        "speakers": speakers,
        "votes": votes,
        "attendance": {"checked_in": counts.get(Attendance.CHECKED_IN, 0),
                       "total": sum(counts.values())},
        "_stamp": hashlib.sha256(repr(stamp).encode()).hexdigest()[:24],
    }


# One builder per meeting and version at a time: when 150 polls miss together, the others
# wait for it instead of all building the same state (a lock per process, and a marker
# in the cache for the other processes).
_BUILD_LOCKS: dict[int, threading.Lock] = {}
_BUILD_LOCKS_GUARD = threading.Lock()


def _build_lock(meeting_id: int) -> threading.Lock:
    with _BUILD_LOCKS_GUARD:
        return _BUILD_LOCKS.setdefault(meeting_id, threading.Lock())


def _shared_key(meeting: Meeting) -> str:
    return f"{_room_key(meeting)}:v{meeting.room_version}:{get_language()}"


def _shared_room_cached(meeting: Meeting, cached: dict | None = None) -> dict:
    key = _shared_key(meeting)
    shared = cached.get(key) if cached is not None else cache.get(key)
    if shared is None:
        with _build_lock(meeting.pk):
            shared = cache.get(key)
            if shared is None and not cache.add(f"{key}:building", 1, 2):
                # Another process is building it: wait for that rather than build it too.
                deadline = time.monotonic() + 0.5
                while shared is None and time.monotonic() < deadline:
                    time.sleep(0.01)
                    shared = cache.get(key)
            if shared is None:
                shared = _shared_room(meeting)
                cache.set(key, shared, ROOM_CACHE_SECONDS)
                cache.delete(f"{key}:building")
    return shared


# The shared parts this process used last, by cache key, with when they were fetched: a
# key names one room version, and the next 148 polls after a move skip fetching and
# unpickling it. Kept no longer than the shared cache keeps it (names shown in the room
# can change without a new version). Read-only once built; room_state copies what it
# changes.
_LOCAL_SHARED: dict[str, tuple[float, dict]] = {}


def _access_key(user_id) -> str:
    return f"meetings:access:{user_id}"


def access_changed(user_id) -> None:
    """The person's roles, password or active flag changed: their room passes and poll
    tokens, which carry the access generation, no longer hold.

    Now, and again after commit: a poll in between may have built a pass from the rows
    as they were before the commit.
    """
    key = _access_key(user_id)
    cache.set(key, time.time_ns(), None)
    transaction.on_commit(lambda: cache.set(key, time.time_ns(), None))


def access_generation(user_id) -> int:
    return cache.get(_access_key(user_id)) or 0


def _pass_key(meeting: Meeting, user_id: int, generation: int) -> str:
    return f"{_room_key(meeting)}:pass:{user_id}:{generation}"


def _room_pass(user, meeting: Meeting, shared: dict, seat) -> dict:
    """The person's standing and the papers they read on their own document rights.

    Built from their roles (``access``) for one ``stamp`` of the papers and one access
    generation (a membership, password or active flag saved through the ORM starts a
    new one: :func:`access_changed`); kept at most ROOM_PASS_SECONDS, which bounds
    changes made around the ORM (every action is checked afresh anyway).
    """
    standing = access.meeting_standing(user, meeting)
    reads = access.room_paper_rule(standing, seat, meeting)
    need = [p for item in shared["items"] for p in item["papers"]
            if reads(p["_approved"], p["_restricted"], p["_confidential"]) is None]
    own: list[int] = []
    if need:
        actor = access.actor_for(user)
        docs = Document.objects.select_related("unit").in_bulk({p["_document"] for p in need})
        own = [p["public"]["id"] for p in need
               if p["_document"] in docs and access.can_view(actor, docs[p["_document"]])]
    return {"stamp": shared["_stamp"], "seated": seat is not None,
            "organiser": standing.organiser, "presider": standing.presider, "own": own}


# A poll token is good for the period it was made in and the next one, so at most a
# minute: whatever the access generation misses (a change made around the ORM, a cache
# that lost the key, a process with its own memory cache) shows within that time. Each
# person's periods start at their own second, so a full room does not renew at once.
POLL_TOKEN_SECONDS = 30


def _poll_period(user_id, now: float | None = None) -> int:
    offset = int(user_id) % POLL_TOKEN_SECONDS if str(user_id).isdigit() else 0
    return (int(time.time() if now is None else now) + offset) // POLL_TOKEN_SECONDS


def room_poll_token(meeting_id: int, version: int, user_id, session_key: str | None,
                    generation: int, period: int | None = None) -> str:
    """What the person's next poll sends back: ``version.mac``.

    The MAC binds the version to the meeting, the person, their access generation, the
    session, the language and the period, so "unchanged" can be answered without
    loading the person or the meeting, nobody learns anything about a meeting they were
    never shown, and a person whose roles, password or active flag changed gets a full
    answer (or none) on the next poll, or within a minute when the change went around
    :func:`access_changed`.
    """
    if not session_key:
        return str(version)
    if period is None:
        period = _poll_period(user_id)
    mac = _mac(_POLL_SALT, f"{meeting_id}.{version}.{user_id}.{generation}.{session_key}."
                           f"{get_language()}.{period}")
    return f"{version}.{mac[:20]}"


def _version_key(meeting_id) -> str:
    return f"meetings:room-version:{meeting_id}"


def _room_changed(meeting_id: int) -> None:
    """Forget the cached room version now and again after commit.

    Now, for this process (and tests, which never commit); after commit, because a
    poll in between may have read the old version from the database and cached it.
    The cached version lives one second in any case, which bounds a stale one.
    """
    key = _version_key(meeting_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


def current_room_version(meeting_id, cached: dict | None = None) -> int | None:
    """The room version, from the cache (≤ 1 s old) or the database; None: no meeting."""
    key = _version_key(meeting_id)
    version = cache.get(key) if cached is None else cached.get(key)
    if version is None:
        version = Meeting.objects.filter(pk=meeting_id).values_list(
            "room_version", flat=True).first()
        if version is None:
            return None
        # add, not set: never overwrite what a fresher reader has put there.
        cache.add(key, version, ROOM_VERSION_SECONDS)
    return version


def _token_version(token: str) -> int | None:
    head = token.split(".", 1)[0]
    return int(head) if head.isdigit() and len(head) < 12 else None


def room_token_current(meeting_id, token: str, user_id, session_key: str | None,
                       version: int | None = None) -> bool:
    """Is this poll token the person's, for the room's current version?

    With ``version`` (already read by someone who checked access) only the MAC is
    checked; without, the version comes from :func:`current_room_version`, so a poll
    that changed nothing costs no query. The MAC is checked first: a forged token
    learns nothing, not even whether the meeting exists.
    """
    if not token or not session_key or user_id in (None, "") or len(token) > 40:
        return False
    seen = _token_version(token)
    if seen is None:
        return False
    # One round trip for the room version and the person's access generation.
    cached = cache.get_many([_version_key(meeting_id), _access_key(user_id)])
    generation = cached.get(_access_key(user_id)) or 0
    period = _poll_period(user_id)
    if not any(constant_time_compare(
            token, room_poll_token(meeting_id, seen, user_id, session_key, generation, p))
            for p in (period, period - 1)):
        return False
    return seen == (current_room_version(meeting_id, cached) if version is None else version)


def room_state(user, meeting: Meeting, session_key: str | None = None) -> dict:
    """Everything the meeting room shows, for this person, at this room version.

    The caller has decided that the person may view the meeting. With the person's
    ``session_key`` the links to paper files carry a signed token (see
    :func:`paper_link_token`) so opening them needs no permission queries, and ``v``
    is the token of :func:`room_poll_token`.
    """
    shared_key = _shared_key(meeting)
    generation = access_generation(user.pk)
    pass_key = _pass_key(meeting, user.pk, generation)
    now = time.monotonic()
    local = _LOCAL_SHARED.get(shared_key)
    if local is None or now - local[0] >= ROOM_CACHE_SECONDS:
        cached = cache.get_many([shared_key, pass_key])
        shared = _shared_room_cached(meeting, cached)
        if len(_LOCAL_SHARED) >= 32:
            _LOCAL_SHARED.clear()
        _LOCAL_SHARED[shared_key] = (now, shared)
    else:
        shared = local[1]
        cached = {pass_key: cache.get(pass_key)}
    seat = access.meeting_seat(user, meeting)
    mine = cached.get(pass_key)
    if (mine is None or mine["stamp"] != shared["_stamp"]
            or mine["seated"] != (seat is not None)):
        mine = _room_pass(user, meeting, shared, seat)
        # Spread the renewals so that a full room does not renew on the same poll.
        cache.set(pass_key, mine, ROOM_PASS_SECONDS - random.randint(0, 15))  # noqa: S311
    standing = access.MeetingStanding(user_id=user.pk, organiser=mine["organiser"],
                                      presider=mine["presider"])
    own = set(mine["own"])
    reads = access.room_paper_rule(standing, seat, meeting)
    now = time.time()
    items = []
    for item in shared["items"]:
        papers = []
        for paper in item["papers"]:
            ok = reads(paper["_approved"], paper["_restricted"], paper["_confidential"])
            if not (ok or (ok is None and paper["public"]["id"] in own)):
                continue
            shown = paper["public"]
            if session_key and paper["_version"]:
                shown = dict(shown)
                token = paper_link_token(shown["id"], paper["_version"], session_key, now,
                                         user.pk)
                shown["view_url"] = f"{shown['view_url']}?t={token}"
            papers.append(shown)
        items.append({**item, "papers": papers})
    votes = []
    for vote in shared["votes"]:
        public = vote["public"]
        ballots = vote["_ballots"]
        votes.append({**public, "voted": user.pk in ballots,
                      "my_choice": "" if public["secret"] else ballots.get(user.pk, "")})
    speakers = [{"id": s["id"], "name": s["name"], "state": s["state"],
                 "mine": s["user"] == user.pk} for s in shared["speakers"]]
    checked_in = seat is not None and seat.attendance == Attendance.CHECKED_IN

    def may(action: str) -> bool:
        return access.decide_meeting(action, meeting, standing, seat)

    return {
        "v": room_poll_token(meeting.pk, meeting.room_version, user.pk, session_key,
                             generation),
        "state": shared["state"],
        "state_label": shared["state_label"],
        "current_item": shared["current_item"],
        "items": items,
        "speakers": speakers,
        "votes": votes,
        "attendance": shared["attendance"],
        "me": {
            "seat": seat.pk if seat else None,
            "attendance": seat.attendance if seat else "",
            "attendance_label": str(seat.get_attendance_display()) if seat else "",
            "can_check_in": may(A.CHECK_IN) and not checked_in,
            "can_speak": may(A.SPEAK),
            "can_vote": may(A.BALLOT) and checked_in,
            "can_run": may(A.RUN),
            "can_manage_votes": may(A.MANAGE_VOTES),
        },
    }


@functools.cache
def _load_room_plan(alias: str) -> tuple[str, list[str], Converters]:
    """The SQL for the meeting and one person's seat, the meeting's field names and the
    converters its columns need on this database.

    Written out once: the ORM spends more building this SQL than the database spends
    running it, and it runs for every full-state poll. Only quoted names from the
    models go into the text; the values are parameters.
    """
    connection = connections[alias]
    qn = connection.ops.quote_name
    meeting, seat = Meeting._meta, Participant._meta
    fields = meeting.concrete_fields

    def column(meta, name: str) -> str:
        return qn(meta.get_field(name).column)

    columns = ", ".join(f"m.{qn(f.column)}" for f in fields)
    sql = (f"SELECT {columns}, s.{column(seat, 'id')}, s.{column(seat, 'role')}, "  # noqa: S608
           f"s.{column(seat, 'attendance')} "
           f"FROM {qn(meeting.db_table)} m LEFT JOIN {qn(seat.db_table)} s "
           f"ON s.{column(seat, 'meeting')} = m.{column(meeting, 'id')} "
           f"AND s.{column(seat, 'user')} = %s WHERE m.{column(meeting, 'id')} = %s")
    return sql, [f.attname for f in fields], column_converters(connection, Meeting)


# The seat's columns load_room reads, as from_db wants them (attribute names, in order).
_SEAT_FIELDS = [Participant._meta.get_field(name).attname
                for name in ("id", "meeting", "user", "role", "attendance")]


_MAX_ID = 2**63 - 1


def load_room(user, pk) -> tuple[Meeting | None, bool]:
    """The meeting with the person's seat, in one query, for the poll.

    Returns ``(meeting, seen)``: ``seen`` is the quick decision that the person may
    view it as chair, secretary or seated participant of a published meeting, enough
    for :func:`room_state`; anything else goes through :func:`get_meeting` with the
    loaded meeting, which asks ``access``. The seat is primed in
    ``access.meeting_seat``'s cache so nothing loads it twice.
    """
    if not str(pk).isdigit() or not getattr(user, "is_authenticated", False):
        return None, False
    if int(pk) > _MAX_ID:  # no such meeting; the database would refuse the number
        return None, False
    alias = router.db_for_read(Meeting)
    sql, names, converters = _load_room_plan(alias)
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, int(pk)])
        row = cursor.fetchone()
    if row is None:
        return None, False
    meeting = from_row(Meeting, alias, connection, list(row[:len(names)]), converters)
    seat_id, role, attendance = row[len(names):]
    seat = None
    if seat_id is not None:
        # Only what the room reads; any other field loads on first use.
        seat = Participant.from_db(alias, _SEAT_FIELDS,
                                   [seat_id, meeting.pk, user.pk, role, attendance])
        seat._state.fields_cache["meeting"] = meeting
    meeting.__dict__.setdefault("_seat_cache", {})[user.pk] = seat
    if user.pk in (meeting.chair_id, meeting.secretary_id, meeting.created_by_id):
        return meeting, True
    return meeting, seat is not None and access._seen_by_participants(meeting)


def paper_document_ids(user, meeting_id) -> list[int]:
    """Search hook: documents of one meeting this person may read (scope "this meeting")."""
    try:
        meeting = get_meeting(user, meeting_id)
    except NotFound:
        return []
    ids: list[int] = []
    for paper in readable_papers(user, meeting):
        ids.append(paper.document_id)
        ids.extend(paper.previous_documents)
    return ids


# --- the paperless measure ---------------------------------------------------------------------


@dataclass
class PaperlessRow:
    unit: Unit
    level_code: str
    level_name: str
    year: int
    held: int
    paperless: int
    target: float | None
    strict: bool

    @property
    def percent(self) -> float | None:
        return round(100.0 * self.paperless / self.held, 1) if self.held else None

    @property
    def meets_target(self) -> bool | None:
        if self.target is None or self.percent is None:
            return None
        return self.percent > self.target if self.strict else self.percent >= self.target


def paperless_report(user, *, year: int | None = None) -> list[PaperlessRow]:
    """Share of meetings held without paper per unit and year, against the level's target.

    A meeting counts once it is closed or concluded, by the year it was held.
    """
    meetings = access.visible_meetings(user).filter(
        state__in=[MeetingState.CLOSED, MeetingState.CONCLUDED])
    if year:
        meetings = meetings.filter(starts_at__year=year)
    rows: dict[tuple[int, int], PaperlessRow] = {}
    targets = paperless_targets()
    for m in meetings.select_related("unit", "unit__level").only(
            "starts_at", "paperless", "unit__name", "unit__path", "unit__level__code",
            "unit__level__name"):
        y = timezone.localtime(m.starts_at).year
        key = (m.unit_id, y)
        if key not in rows:
            target = targets.get(m.unit.level.code)
            rows[key] = PaperlessRow(unit=m.unit, level_code=m.unit.level.code,
                                     level_name=m.unit.level.name, year=y, held=0, paperless=0,
                                     target=target["percent"] if target else None,
                                     strict=bool(target and target.get("strict")))
        rows[key].held += 1
        rows[key].paperless += 1 if m.paperless else 0
    return sorted(rows.values(), key=lambda r: (-r.year, r.unit.path))


def level_summary(rows: list[PaperlessRow]) -> list[dict]:
    """Per level and year: units meeting their target, and the overall share."""
    summary: dict[tuple[str, int], dict] = {}
    for row in rows:
        entry = summary.setdefault((row.level_code, row.year), {
            "level": row.level_name, "year": row.year, "held": 0, "paperless": 0, "units": 0,
            "units_on_target": 0, "target": row.target, "strict": row.strict})
        entry["held"] += row.held
        entry["paperless"] += row.paperless
        entry["units"] += 1
        entry["units_on_target"] += 1 if row.meets_target else 0
    for entry in summary.values():
        entry["percent"] = round(100.0 * entry["paperless"] / entry["held"], 1) \
            if entry["held"] else None
    return sorted(summary.values(), key=lambda e: (-e["year"], e["level"]))


def visible_meetings_for(user, *, q: str = "", state: str = ""):
    qs = access.visible_meetings(user).select_related("unit", "chair")
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(place__icontains=q))
    if state and state in MeetingState.values:
        qs = qs.filter(state=state)
    return qs

