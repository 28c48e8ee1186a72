"""Scheduling a meeting and its life before and around the session: creating and editing it,
participants and their seats, publishing it (the invitation drafted as a document, papers
checked ready), cancelling, postponing and rescheduling. It may call :mod:`.common` and
:mod:`.papers` (readiness); the session itself is :mod:`.session`.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from workflow import access
from workflow.access import MeetingAction as A
from workflow.audit.services import record
from workflow.documents import services as documents
from workflow.documents.errors import InvalidInput, NotAllowed, NotFound
from workflow.organisation.models import Unit, User

from ..models import (
    Kind,
    Meeting,
    MeetingState,
    Participant,
    ParticipantRole,
)
from .common import (
    _bump,
    _document_type,
    _drafter_for,
    _fmt_when,
    _parse_dt,
    _participant_users,
    _required_user,
    _run_transition,
    get_meeting,
    meeting_url,
    notify,
)
from .papers import readiness


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
