"""Meetings: who prepares, presides, attends, votes, delegates a seat and reads the papers.

* Organisers (the meeting's secretary, whoever scheduled it, people with the
  meeting-secretary role in its unit) prepare and run it; presiders (the chair,
  leaders of the unit) publish it, run it and open votes.
* Participants see the meeting and its papers once it is published; a paper
  restricted to some participants is shown to them only. Drafted papers are
  readable by participants only once approved.
* Nobody else, in particular nobody in another unit, sees anything of it.

Owns :class:`MeetingAction`, :func:`can_meeting` (= :func:`meeting_standing` +
:func:`meeting_seat` + :func:`decide_meeting`, the last one query-free for the room state),
the seat delegation rules, the paper rules (:func:`can_read_paper`, :func:`room_paper_rule`)
and the documents participants read (:func:`_meeting_papers_q`, used by
:mod:`.documents`). It may call :mod:`.core` and the sibling module :mod:`.documents`
(imported as a module: the two call each other); the meeting room's hot path
(``decide_meeting``, ``room_paper_rule``, ``_seen_by_participants``) calls neither.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Exists, OuterRef, Q, QuerySet

from workflow.access import documents
from workflow.access.core import APPROVED_ONWARDS, DRAFTING_ROLES, Actor, actor_for
from workflow.documents.models import Document
from workflow.organisation.models import Role, Unit


class MeetingAction(StrEnum):
    VIEW = "view"
    EDIT = "edit"
    SEND = "send"
    PUBLISH = "publish"
    START = "start"
    RUN = "run"
    MANAGE_VOTES = "manage_votes"
    CLOSE = "close"
    RECORD = "record"
    CONCLUDE = "conclude"
    CANCEL = "cancel"
    POSTPONE = "postpone"
    RESCHEDULE = "reschedule"
    ATTEND = "attend"
    CHECK_IN = "check_in"
    SPEAK = "speak"
    BALLOT = "ballot"
    NOTE = "note"
    DELEGATIONS = "delegations"


MEETING_SCHEDULING_ROLES = DRAFTING_ROLES | {Role.SECRETARY}


def _meeting_states():
    from workflow.meetings import models as m

    return m


def meeting_seat(user, meeting):
    """The person's own participant row in the meeting, or None (cached on the meeting)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    cache = meeting.__dict__.setdefault("_seat_cache", {})
    if user.pk not in cache:
        m = _meeting_states()
        cache[user.pk] = m.Participant.objects.filter(meeting=meeting, user_id=user.pk).first()
    return cache[user.pk]


def is_meeting_organiser(user, meeting) -> bool:
    actor = actor_for(user)
    if actor.user_id is None:
        return False
    return (
        actor.user_id in (meeting.secretary_id, meeting.created_by_id)
        or actor.has(Role.SECRETARY, meeting.unit_id)
    )


def is_meeting_presider(user, meeting) -> bool:
    actor = actor_for(user)
    if actor.user_id is None:
        return False
    return actor.user_id == meeting.chair_id or actor.has(Role.LEADER, meeting.unit_id)


def _seen_by_participants(meeting) -> bool:
    m = _meeting_states()
    if meeting.state in m.PUBLIC_STATES:
        return True
    return meeting.state in (m.MeetingState.CANCELLED, m.MeetingState.POSTPONED) and bool(
        meeting.published_at
    )


def can_schedule_meeting(user, unit: Unit) -> bool:
    actor = actor_for(user)
    return unit.is_active and any(actor.has(r, unit.pk) for r in MEETING_SCHEDULING_ROLES)


def scheduling_units(user) -> QuerySet[Unit]:
    actor = actor_for(user)
    return Unit.objects.filter(pk__in=actor.scope(*MEETING_SCHEDULING_ROLES), is_active=True)


@dataclass(frozen=True)
class MeetingStanding:
    """What a person is in one meeting through names and roles, apart from their seat.

    The meeting room keeps it for a minute per person (see
    ``meetings.services.room_pass``) so that a poll needs no role queries; every
    action is still decided afresh by :func:`can_meeting` in the services.
    """

    user_id: int | None
    organiser: bool = False
    presider: bool = False


def meeting_standing(user, meeting) -> MeetingStanding:
    actor = actor_for(user)
    if actor.user_id is None:
        return MeetingStanding(user_id=None)
    return MeetingStanding(user_id=actor.user_id,
                           organiser=is_meeting_organiser(user, meeting),
                           presider=is_meeting_presider(user, meeting))


def can_meeting(user, action: str, meeting) -> bool:
    """Decide one action on one meeting for one user."""
    if actor_for(user).user_id is None:
        return False
    return decide_meeting(action, meeting, meeting_standing(user, meeting),
                          meeting_seat(user, meeting))


def decide_meeting(action: str, meeting, standing: MeetingStanding, seat) -> bool:
    """:func:`can_meeting` on what is already known: no query (the room state uses it)."""
    m = _meeting_states()
    S = m.MeetingState
    if standing.user_id is None:
        return False
    organiser, presider = standing.organiser, standing.presider
    state = meeting.state
    attending = seat is not None and seat.attendance in m.ACTIVE_ATTENDANCE
    match MeetingAction(action):
        case MeetingAction.VIEW:
            return organiser or presider or (seat is not None and _seen_by_participants(meeting))
        case MeetingAction.EDIT:
            return organiser and state in m.EDITABLE_STATES
        case MeetingAction.SEND:
            return organiser and state == S.DRAFT
        case MeetingAction.PUBLISH:
            return presider and state in m.PREPARING_STATES
        case MeetingAction.START:
            return (organiser or presider) and state == S.PUBLISHED
        case MeetingAction.RUN | MeetingAction.CLOSE:
            return (organiser or presider) and state == S.IN_SESSION
        case MeetingAction.MANAGE_VOTES:
            return (presider or standing.user_id == meeting.secretary_id) and (
                state == S.IN_SESSION)
        case MeetingAction.RECORD:
            return organiser and state in (S.CLOSED, S.CONCLUDED)
        case MeetingAction.CONCLUDE:
            return (organiser or presider) and state == S.CLOSED
        case MeetingAction.CANCEL:
            return (organiser or presider) and state in (*m.EDITABLE_STATES, S.POSTPONED)
        case MeetingAction.POSTPONE:
            return (organiser or presider) and state in m.EDITABLE_STATES
        case MeetingAction.RESCHEDULE:
            return organiser and state == S.POSTPONED
        case MeetingAction.ATTEND:
            return seat is not None and seat.user_id is not None and state in (
                S.PUBLISHED, S.IN_SESSION)
        case MeetingAction.CHECK_IN:
            return attending and state in (S.PUBLISHED, S.IN_SESSION)
        case MeetingAction.SPEAK:
            return attending and state == S.IN_SESSION
        case MeetingAction.BALLOT:
            return attending and seat.role in m.VOTING_ROLES and state == S.IN_SESSION
        case MeetingAction.NOTE:
            return (seat is not None or organiser or presider) and _seen_by_participants(meeting)
        case MeetingAction.DELEGATIONS:
            return organiser and state in (S.PUBLISHED, S.IN_SESSION)
    return False


class Delegation(StrEnum):
    """How a participant may hand their seat to someone (:func:`delegation_rule`)."""

    DIRECT = "direct"  # same unit as the participant, or a deputy the organiser listed
    CONFIRM = "confirm"  # across units: only once the organiser confirms it


def delegation_rule(user, seat, person) -> Delegation | None:
    """May ``user`` (holding ``seat``) send ``person`` in their place, and how? None: no.

    A seat taken in someone else's place is not passed on again; the person must be
    active. Someone sharing a unit with the participant, or listed by the organiser
    as the participant's deputy, takes the seat at once; anyone else only when the
    organiser confirms.
    """
    if seat.delegate_of_id is not None or not getattr(person, "is_active", False):
        return None
    if seat.deputies.filter(pk=person.pk).exists():
        return Delegation.DIRECT
    if actor_for(user).scope() & actor_for(person).scope():
        return Delegation.DIRECT
    return Delegation.CONFIRM


def delegate_seat_role(role: str) -> str:
    """The role of the seat a delegate takes: never more than the participant had. Chair
    and secretary are the meeting's own officers, so their delegates sit as delegates;
    a guest's or observer's delegate stays a guest or observer (no vote)."""
    m = _meeting_states()
    if role in (m.ParticipantRole.GUEST, m.ParticipantRole.OBSERVER):
        return role
    return m.ParticipantRole.DELEGATE


def room_paper_rule(standing: MeetingStanding, seat, meeting
                    ) -> Callable[[bool, Collection[int], bool], bool | None]:
    """:func:`room_paper_access` for one person and meeting, for many papers.

    The room state asks it for every paper of every poll, so what does not depend on
    the paper is worked out once.
    """
    seen = _seen_by_participants(meeting)
    officer = standing.organiser or standing.presider
    user_id = standing.user_id

    def reads(approved: bool, restricted: Collection[int], confidential: bool) -> bool | None:
        # A confidential document is never read *through* the meeting: only on the
        # person's own rights on the document (can_view), whenever it became confidential.
        if not approved or not seen or confidential:
            return None
        if officer:
            return True
        if seat is not None and (not restricted or user_id in restricted):
            return True
        return None

    return reads


def room_paper_access(standing: MeetingStanding, seat, meeting, *, approved: bool,
                      restricted: Collection[int], confidential: bool) -> bool | None:
    """May this person read a paper because of the meeting (for someone who may view it)?

    ``True``: yes; ``None``: not through the meeting, so it depends on their rights on
    the document itself (:func:`can_view`). The same rule as :func:`can_read_paper`,
    on the facts the room state already holds.
    """
    return room_paper_rule(standing, seat, meeting)(approved, restricted, confidential)


def visible_meetings_q(user) -> Q:
    m = _meeting_states()
    actor = actor_for(user)
    if actor.user_id is None:
        return Q(pk__in=[])
    uid = actor.user_id
    q = Q(chair_id=uid) | Q(secretary_id=uid) | Q(created_by_id=uid)
    q |= Q(unit_id__in=actor.scope(Role.SECRETARY, Role.LEADER))
    seen = Q(state__in=m.PUBLIC_STATES) | Q(
        state__in=[m.MeetingState.CANCELLED, m.MeetingState.POSTPONED], published_at__isnull=False
    )
    q |= seen & Exists(m.Participant.objects.filter(meeting=OuterRef("pk"), user_id=uid))
    return q


def visible_meetings(user):
    return _meeting_states().Meeting.objects.filter(visible_meetings_q(user))


def can_read_paper(user, paper) -> bool:
    """May this person open this meeting paper (its files, in the room or in advance)?"""
    meeting = paper.meeting
    if not can_meeting(user, MeetingAction.VIEW, meeting):
        return False
    document = paper.document
    actor = actor_for(user)
    if documents.can_view(actor, document):
        return True
    if not _seen_by_participants(meeting) or document.state not in APPROVED_ONWARDS \
            or document.confidential:
        return False
    standing = meeting_standing(user, meeting)
    seat = meeting_seat(user, meeting)
    restricted = () if standing.organiser or standing.presider or seat is None else \
        list(paper.restricted_to.values_list("pk", flat=True))
    return bool(room_paper_access(standing, seat, meeting, approved=True,
                                  restricted=restricted, confidential=document.confidential))


def _meeting_papers_q(actor: Actor) -> Q:
    """Documents this person reads as a participant of a published meeting (never a
    confidential one: those only on the person's own rights)."""
    if actor.user_id is None:
        return Q(pk__in=[])
    m = _meeting_states()
    uid = actor.user_id
    papers = m.Paper.objects.filter(
        meeting__state__in=m.PUBLIC_STATES,
        meeting__participants__user_id=uid,
        document__state__in=APPROVED_ONWARDS,
        document__confidential=False,
    ).filter(Q(restricted_to__isnull=True) | Q(restricted_to__id=uid))
    return Q(pk__in=papers.values("document_id"))


def _meeting_paper_reader(actor: Actor, document: Document) -> bool:
    if actor.user_id is None or document.confidential:
        return False
    return Document.objects.filter(pk=document.pk).filter(_meeting_papers_q(actor)).exists()
