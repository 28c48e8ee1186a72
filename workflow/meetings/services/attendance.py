"""Attendance: a participant confirms, declines or delegates their seat (to someone of their own
unit, a listed deputy, or across units once the organiser confirms), the organiser decides
delegations and lists deputies, and people check in. Who may delegate to whom is decided in
:mod:`workflow.access` (``delegation_rule``); this module applies it. It may call
:mod:`.common`.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow import access
from workflow.access import MeetingAction as A
from workflow.audit.services import record
from workflow.documents.errors import InvalidInput, NotAllowed, NotFound
from workflow.inputs import is_id
from workflow.organisation.models import User

from ..models import (
    Attendance,
    Meeting,
    MeetingState,
    Participant,
)
from .common import _bump, _required_user, get_meeting, meeting_url, notify


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
        meeting=meeting, pk=participant_id if is_id(participant_id) else None,
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
        pk=participant_id if is_id(participant_id) else None).first()
    if seat is None:
        raise NotFound(_("This participant does not exist."))
    meeting = get_meeting(user, seat.meeting_id, action=A.EDIT, lock=True)
    if seat.user_id is None:
        raise InvalidInput(_("A guest without an account cannot have deputies."))
    ids = {int(u) for u in user_ids if is_id(str(u).strip())}
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
