"""Who may do what: the one place where access to documents is decided.

Every view, API endpoint, django-fsm transition guard, inbox query and search
filter asks this module. Decisions depend on the person's roles in units
(:class:`~workflow.organisation.models.Membership`), the document's unit and
its state.

The rules, in words:

* A draft is private to its drafter until it is submitted, and again once withdrawn.
* Whoever holds the role of the current review step (a head, a leader, or e.g. a
  clerk checking form) sees the document while it waits for them.
* In the document's own unit: leaders see everything submitted; a department
  head sees what their department drafted once submitted; the clerk sees what
  is approved onwards; everybody else with a role there sees what is issued.
* People in an ancestor unit and in recipient units see issued documents only.
* Confidential documents, once issued, stay with the leaders, the drafting
  department's head and the clerk of their unit, and the leaders and clerks of
  recipient units.
* Child and sibling units see nothing of another unit unless they are recipients.
* A unit merged into another counts as part of it, so its documents stay
  reachable after the 2025-style mergers.
* Participants of a published meeting read its approved papers, unless the paper's
  document is confidential: confidentiality wins, whenever it is set, and only the
  confidential readers above (and organisers or presiders who are among them) read it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from enum import StrEnum

from django.db.models import Exists, OuterRef, Q, QuerySet

from workflow.documents.models import (
    OPEN_STATES,
    PUBLISHED_STATES,
    Document,
    DocumentRecipient,
    State,
)
from workflow.organisation.models import Membership, Role, Unit

DRAFTING_ROLES = {Role.SPECIALIST, Role.HEAD, Role.LEADER}
SUBMITTED_ONWARDS = [
    State.SUBMITTED,
    State.REVIEWED,
    State.APPROVED,
    State.SIGNED,
    State.ISSUED,
    State.ARCHIVED,
    State.RETURNED,
]
APPROVED_ONWARDS = [State.APPROVED, State.SIGNED, State.ISSUED, State.ARCHIVED]


class Action(StrEnum):
    VIEW = "view"
    CREATE = "create"
    EDIT = "edit"
    COMMENT = "comment"
    SUBMIT = "submit"
    FORWARD = "forward"
    RETURN = "return"
    APPROVE = "approve"
    SIGN = "sign"
    ISSUE = "issue"
    ARCHIVE = "archive"
    WITHDRAW = "withdraw"


TRANSITIONS: tuple[Action, ...] = (
    Action.SUBMIT,
    Action.FORWARD,
    Action.RETURN,
    Action.APPROVE,
    Action.SIGN,
    Action.ISSUE,
    Action.ARCHIVE,
    Action.WITHDRAW,
)


@dataclass(frozen=True)
class Grant:
    unit_id: int
    unit_path: str
    role: str
    department_id: int | None
    scope: frozenset[int]  # the unit and every unit merged into it


@dataclass
class Actor:
    """A person's roles, loaded once per request."""

    user_id: int | None
    grants: list[Grant] = field(default_factory=list)

    def scope(self, *roles: str) -> set[int]:
        ids: set[int] = set()
        for grant in self.grants:
            if not roles or grant.role in roles:
                ids |= grant.scope
        return ids

    def paths(self) -> list[str]:
        return [g.unit_path for g in self.grants]

    def head_departments(self) -> set[int]:
        return {g.department_id for g in self.grants if g.role == Role.HEAD and g.department_id}

    def head_units_without_department(self) -> set[int]:
        return {u for g in self.grants if g.role == Role.HEAD and not g.department_id
                for u in g.scope}

    def has(self, role: str, unit_id: int) -> bool:
        return any(g.role == role and unit_id in g.scope for g in self.grants)

    def is_head_for(self, document: Document) -> bool:
        for grant in self.grants:
            if grant.role != Role.HEAD or document.unit_id not in grant.scope:
                continue
            department = grant.department_id
            if department is None or department == document.drafting_department_id:
                return True
        return False

    def in_ancestor_of(self, unit: Unit) -> bool:
        return any(unit.path.startswith(p) and unit.path != p for p in self.paths())

    def any_role_in(self, unit_id: int) -> bool:
        return any(unit_id in g.scope for g in self.grants)


def _merged_scope(unit_ids: set[int]) -> dict[int, set[int]]:
    """Map each unit id to itself plus every unit merged into it (transitively)."""
    scope = {uid: {uid} for uid in unit_ids}
    frontier = dict.fromkeys(unit_ids)
    merged = list(Unit.objects.filter(merged_into__isnull=False).values_list("id", "merged_into"))
    children: dict[int, list[int]] = {}
    for uid, into in merged:
        children.setdefault(into, []).append(uid)
    for root in frontier:
        stack = list(children.get(root, []))
        while stack:
            uid = stack.pop()
            if uid not in scope[root]:
                scope[root].add(uid)
                stack.extend(children.get(uid, []))
    return scope


def actor_for(user) -> Actor:
    if user is None or not getattr(user, "is_authenticated", False):
        return Actor(user_id=None)
    cached = getattr(user, "_mttq_actor", None)
    if cached is not None:
        return cached
    rows = list(
        user.memberships.filter(is_active=True).values_list(
            "unit_id", "unit__path", "role", "department_id"
        )
    )
    actor = _actor(user.pk, rows, _merged_scope({row[0] for row in rows}))
    user._mttq_actor = actor
    return actor


def _actor(user_id: int, rows, scopes: dict[int, set[int]]) -> Actor:
    return Actor(
        user_id=user_id,
        grants=[
            Grant(unit_id=u, unit_path=p, role=r, department_id=d, scope=frozenset(scopes[u]))
            for (u, p, r, d) in rows
        ],
    )


def prime_actors(users) -> None:
    """Load the roles of many people at once (two queries), as :func:`actor_for` would.

    For deciding one document for a whole unit's people (who to notify): ``actor_for``
    alone costs two queries per person.
    """
    todo = {u.pk: u for u in users if getattr(u, "is_authenticated", False)
            and getattr(u, "_mttq_actor", None) is None}
    if not todo:
        return
    rows: dict[int, list[tuple]] = {pk: [] for pk in todo}
    for user_id, *row in Membership.objects.filter(
            user_id__in=list(todo), is_active=True).values_list(
            "user_id", "unit_id", "unit__path", "role", "department_id"):
        rows[user_id].append(tuple(row))
    scopes = _merged_scope({row[0] for person in rows.values() for row in person})
    for pk, user in todo.items():
        user._mttq_actor = _actor(pk, rows[pk], scopes)


def forget(user) -> None:
    """Drop the cached roles (after memberships change)."""
    if hasattr(user, "_mttq_actor"):
        del user._mttq_actor


# --- single-object decisions ---------------------------------------------------------------


CONFIDENTIAL_READERS = (Role.LEADER, Role.CLERK)


def _recipient_of(actor: Actor, document: Document, roles: tuple[str, ...] = ()) -> bool:
    ids = actor.scope(*roles)
    if not ids:
        return False
    return DocumentRecipient.objects.filter(document=document, unit_id__in=ids).exists()


def can_view(actor: Actor, document: Document) -> bool:
    if actor.user_id is None:
        return False
    if document.drafter_id == actor.user_id:
        return True
    state = document.state
    unit_id = document.unit_id
    if state in (State.DRAFT, State.WITHDRAWN):
        return False
    if actor.has(Role.LEADER, unit_id):
        return True
    if actor.is_head_for(document):
        return True
    if state in APPROVED_ONWARDS and actor.has(Role.CLERK, unit_id):
        return True
    if state == State.SUBMITTED and _is_reviewer_now(actor, document):
        return True
    if state in PUBLISHED_STATES:
        if document.confidential:
            if _recipient_of(actor, document, CONFIDENTIAL_READERS):
                return True
        elif (
            actor.any_role_in(unit_id)
            or actor.in_ancestor_of(document.unit)
            or _recipient_of(actor, document)
        ):
            return True
    # Meetings hook: participants of a published meeting read its papers.
    return state in APPROVED_ONWARDS and _meeting_paper_reader(actor, document)


def can_create_in(user, unit: Unit) -> bool:
    actor = actor_for(user)
    return unit.is_active and any(actor.has(role, unit.pk) for role in DRAFTING_ROLES)


def drafting_units(user) -> QuerySet[Unit]:
    actor = actor_for(user)
    return Unit.objects.filter(pk__in=actor.scope(*DRAFTING_ROLES), is_active=True)


def _is_reviewer_now(actor: Actor, document: Document) -> bool:
    role = document.awaiting_role
    if role == Role.HEAD:
        return actor.is_head_for(document)
    if role:
        return actor.has(role, document.unit_id)
    return False


def can(user, action: str, document: Document) -> bool:
    """Decide one action on one document for one user."""
    actor = actor_for(user)
    if actor.user_id is None:
        return False
    if not can_view(actor, document):
        return False
    state = document.state
    is_drafter = document.drafter_id == actor.user_id
    match Action(action):
        case Action.VIEW:
            return True
        case Action.CREATE:
            return can_create_in(user, document.unit)
        case Action.EDIT:
            return is_drafter and state in OPEN_STATES
        case Action.COMMENT:
            return state not in (State.ARCHIVED, State.WITHDRAWN) and (
                is_drafter
                or actor.has(Role.LEADER, document.unit_id)
                or actor.is_head_for(document)
                or (state in APPROVED_ONWARDS and actor.has(Role.CLERK, document.unit_id))
            )
        case Action.SUBMIT:
            return (
                is_drafter
                and state in OPEN_STATES
                and any(actor.has(r, document.unit_id) for r in DRAFTING_ROLES)
            )
        case Action.WITHDRAW:
            return is_drafter and state in (
                State.DRAFT, State.SUBMITTED, State.REVIEWED, State.RETURNED
            )
        case Action.FORWARD:
            return state == State.SUBMITTED and _is_reviewer_now(actor, document)
        case Action.RETURN:
            if state == State.SUBMITTED:
                return _is_reviewer_now(actor, document)
            return state == State.REVIEWED and actor.has(Role.LEADER, document.unit_id)
        case Action.APPROVE:
            return state == State.REVIEWED and actor.has(Role.LEADER, document.unit_id)
        case Action.SIGN:
            return (
                state == State.APPROVED
                and document.signer_id == actor.user_id
                and actor.has(Role.LEADER, document.unit_id)
            )
        case Action.ISSUE:
            return state == State.SIGNED and actor.has(Role.CLERK, document.unit_id)
        case Action.ARCHIVE:
            return state == State.ISSUED and actor.has(Role.CLERK, document.unit_id)
    return False


def allowed_actions(user, document: Document) -> set[str]:
    return {a.value for a in Action if a != Action.CREATE and can(user, a, document)}


def can_see_access_history(user, document: Document) -> bool:
    """Who downloaded a document (Appendix VI access history): its unit's leaders and clerks."""
    actor = actor_for(user)
    return actor.has(Role.LEADER, document.unit_id) or actor.has(Role.CLERK, document.unit_id)


def can_retry_ocr(user, document: Document) -> bool:
    """Ask OCR to read a scan again after it failed: the unit's clerks and the drafter."""
    actor = actor_for(user)
    if actor.user_id is None or not can_view(actor, document):
        return False
    return document.drafter_id == actor.user_id or actor.has(Role.CLERK, document.unit_id)


# --- querysets: the same rules as filters -------------------------------------------------


def _descendant_q(paths: list[str]) -> Q:
    q = Q(pk__in=[])
    for path in paths:
        q |= Q(unit__path__startswith=path) & ~Q(unit__path=path)
    return q


def _awaiting_my_role_q(actor: Actor) -> Q:
    """Submitted documents whose current review step is a (non-head) role this person holds."""
    q = Q(pk__in=[])
    for role in {g.role for g in actor.grants} - {Role.HEAD}:
        q |= Q(state=State.SUBMITTED, awaiting_role=role, unit_id__in=actor.scope(role))
    return q


def visible_documents_q(user) -> Q:
    """A filter for :class:`Document` equal to :func:`can_view`, for lists, counts and search."""
    actor = actor_for(user)
    if actor.user_id is None:
        return Q(pk__in=[])
    q = Q(drafter_id=actor.user_id)
    q |= Q(unit_id__in=actor.scope(Role.LEADER), state__in=SUBMITTED_ONWARDS)
    q |= Q(
        drafting_department_id__in=actor.head_departments(),
        unit_id__in=actor.scope(Role.HEAD),
        state__in=SUBMITTED_ONWARDS,
    )
    q |= Q(unit_id__in=actor.head_units_without_department(), state__in=SUBMITTED_ONWARDS)
    q |= Q(unit_id__in=actor.scope(Role.CLERK), state__in=APPROVED_ONWARDS)
    q |= _awaiting_my_role_q(actor)
    published = Q(unit_id__in=actor.scope()) | _descendant_q(actor.paths())
    if actor.grants:
        published |= Exists(
            DocumentRecipient.objects.filter(document=OuterRef("pk"), unit_id__in=actor.scope())
        )
    q |= Q(state__in=PUBLISHED_STATES, confidential=False) & published
    confidential_readers = actor.scope(*CONFIDENTIAL_READERS)
    if confidential_readers:
        q |= Q(state__in=PUBLISHED_STATES, confidential=True) & Exists(
            DocumentRecipient.objects.filter(
                document=OuterRef("pk"), unit_id__in=confidential_readers
            )
        )
    q |= _meeting_papers_q(actor)  # meetings hook, same rule as in can_view
    return q


def visible_documents(user) -> QuerySet[Document]:
    return Document.objects.filter(visible_documents_q(user))


def inbox_q(user) -> Q:
    """Documents waiting for this person's action (việc cần xử lý)."""
    actor = actor_for(user)
    if actor.user_id is None:
        return Q(pk__in=[])
    q = Q(drafter_id=actor.user_id, state=State.RETURNED)
    q |= Q(
        state=State.SUBMITTED,
        awaiting_role=Role.HEAD,
        unit_id__in=actor.scope(Role.HEAD),
        drafting_department_id__in=actor.head_departments(),
    )
    q |= Q(
        state=State.SUBMITTED,
        awaiting_role=Role.HEAD,
        unit_id__in=actor.head_units_without_department(),
    )
    q |= _awaiting_my_role_q(actor)
    q |= Q(state=State.REVIEWED, unit_id__in=actor.scope(Role.LEADER))
    q |= Q(state=State.APPROVED, signer_id=actor.user_id, unit_id__in=actor.scope(Role.LEADER))
    q |= Q(state=State.SIGNED, unit_id__in=actor.scope(Role.CLERK))
    return q


def inbox(user) -> QuerySet[Document]:
    return Document.objects.filter(inbox_q(user))


def next_actors(document: Document, limit: int = 3) -> list:
    """The people who now have ``document`` among their tasks (named in flash messages).

    Asked through :func:`inbox_q`, so "who acts next" can never disagree with the
    inboxes; candidates are the people of the document's unit and of the units above it.
    """
    from django.contrib.auth import get_user_model

    unit = document.unit
    ancestors = [p for p in (unit.path or "").split("/") if p]
    prefixes = Q(memberships__unit=unit)
    for depth in range(1, len(ancestors)):
        prefixes |= Q(memberships__unit__path="/" + "/".join(ancestors[:depth]) + "/")
    candidates = (get_user_model().objects.filter(prefixes, memberships__is_active=True,
                                                  is_active=True)
                  .distinct().order_by("pk")[:40])
    found = []
    for person in candidates:
        if Document.objects.filter(inbox_q(person), pk=document.pk).exists():
            found.append(person)
            if len(found) >= limit:
                break
    return found


# --- meetings (tài liệu họp, phòng họp) ----------------------------------------------------
#
# * Organisers (the meeting's secretary, whoever scheduled it, people with the
#   meeting-secretary role in its unit) prepare and run it; presiders (the chair,
#   leaders of the unit) publish it, run it and open votes.
# * Participants see the meeting and its papers once it is published; a paper
#   restricted to some participants is shown to them only. Drafted papers are
#   readable by participants only once approved.
# * Nobody else, in particular nobody in another unit, sees anything of it.


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
    if can_view(actor, document):
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


# --- oversight: critique, supervision and recommendation cases ---------------------------
#
# Cases (and recommendations) belong to a unit. Specialists, heads and leaders of the
# unit work them; only leaders approve and close; anyone with a role in the unit may
# read them, and so may the leaders of every ancestor unit (the provincial chair
# follows every district and commune, read-only).

CASE_ACTIONS = ("view", "work", "approve")


def can_case(user, action: str, case) -> bool:
    """Decide ``view`` / ``work`` / ``approve`` on a case-like object with a ``unit``."""
    actor = actor_for(user)
    if actor.user_id is None or action not in CASE_ACTIONS:
        return False
    unit_id = case.unit_id
    if action == "view":
        return actor.any_role_in(unit_id) or _leads_ancestor_of(actor, case.unit)
    if action == "approve":
        return actor.has(Role.LEADER, unit_id)
    return any(actor.has(role, unit_id) for role in DRAFTING_ROLES)


def _leader_paths(actor: Actor) -> list[str]:
    return [g.unit_path for g in actor.grants if g.role == Role.LEADER]


def _leads_ancestor_of(actor: Actor, unit: Unit) -> bool:
    return any(unit.path.startswith(p) and unit.path != p for p in _leader_paths(actor))


def visible_cases_q(user, prefix: str = "") -> Q:
    """Filter equal to ``can_case(user, "view", …)`` for models with a ``unit`` field."""
    actor = actor_for(user)
    if actor.user_id is None:
        return Q(pk__in=[])
    q = Q(**{f"{prefix}unit_id__in": actor.scope()})
    for path in _leader_paths(actor):
        q |= Q(**{f"{prefix}unit__path__startswith": path})
    return q


def case_units(user) -> QuerySet[Unit]:
    """Units where the person may open and work cases."""
    return drafting_units(user)


def dashboard_units(user) -> QuerySet[Unit]:
    """Units whose figures the person may read: their own, and below the units they lead."""
    actor = actor_for(user)
    if actor.user_id is None:
        return Unit.objects.none()
    q = Q(pk__in=actor.scope())
    for path in _leader_paths(actor):
        q |= Q(path__startswith=path)
    return Unit.objects.filter(q)


def visible_records(user, qs: QuerySet) -> QuerySet:
    """The records behind an oversight figure (drill-downs), as the person may open them.

    Each kind follows the rule of its own detail page: documents :func:`visible_documents_q`,
    cases and recommendations :func:`visible_cases_q`, meetings :func:`visible_meetings_q`,
    units (periodic reports) :func:`dashboard_units`. An unknown kind shows nothing.
    """
    model = qs.model
    if model is Document:
        return qs.filter(visible_documents_q(user))
    if model is Unit:
        return qs.filter(pk__in=dashboard_units(user).values("pk"))
    if model is _meeting_states().Meeting:
        return qs.filter(visible_meetings_q(user))
    from workflow.oversight.models import CritiqueCase, Recommendation, SupervisionCase

    if model in (CritiqueCase, SupervisionCase, Recommendation):
        return qs.filter(visible_cases_q(user))
    from workflow.incoming.models import IncomingDocument

    if model is IncomingDocument:
        return qs.filter(visible_incoming_q(user))

    return qs.none()

# --- incoming documents (văn bản đến, Decree 30 Art. 20–24) -------------------------------
#
# * An incoming document belongs to the receiving unit. Its clerk (văn thư) and leaders
#   see every one; the people the leader names (lead handler, co-handlers, for
#   information) and the leader it was presented to see theirs; a lead handler who
#   forwards it keeps seeing it. Nobody else: not other departments, not the other
#   units that received the same document (each has its own record), not the sender
#   (who sees the delivery state on the outgoing document instead).
# * The clerk registers or returns what arrived, presents it and files it; a leader
#   directs and assigns; the lead handler starts, forwards within the department and
#   completes; handlers and the unit's leaders and clerk add notes; handlers draft
#   the reply.


class IncomingAction(StrEnum):
    VIEW = "view"
    EDIT = "edit"
    REGISTER = "register"
    RETURN = "return"
    PRESENT = "present"
    ASSIGN = "assign"
    START = "start"
    FORWARD = "forward"
    NOTE = "note"
    COMPLETE = "complete"
    FILE = "file"
    REPLY = "reply"


def _incoming_roles(user_id: int, incoming) -> set[str]:
    cache = incoming.__dict__.setdefault("_roles_cache", {})
    if user_id not in cache:
        cache[user_id] = set(incoming.participants.filter(user_id=user_id)
                             .values_list("role", flat=True))
    return cache[user_id]


def can_incoming(user, action: str, incoming) -> bool:
    """Decide one action on one incoming document for one user."""
    from workflow.incoming.models import OPEN_HANDLING, ParticipantRole
    from workflow.incoming.models import State as S

    actor = actor_for(user)
    if actor.user_id is None:
        return False
    unit_id = incoming.unit_id
    clerk = actor.has(Role.CLERK, unit_id)
    leader = actor.has(Role.LEADER, unit_id)
    roles = _incoming_roles(actor.user_id, incoming)
    lead = ParticipantRole.LEAD in roles
    handler = lead or ParticipantRole.CO in roles
    presented = incoming.presented_to_id == actor.user_id
    if not (clerk or leader or roles or presented):
        return False
    state = incoming.state
    match IncomingAction(action):
        case IncomingAction.VIEW:
            return True
        case IncomingAction.EDIT:
            return clerk and state in (S.RECEIVED, S.REGISTERED, S.PRESENTED)
        case IncomingAction.REGISTER | IncomingAction.RETURN:
            return clerk and state == S.RECEIVED
        case IncomingAction.PRESENT:
            return clerk and state == S.REGISTERED
        case IncomingAction.ASSIGN:
            return leader and state in (S.REGISTERED, S.PRESENTED)
        case IncomingAction.START:
            return lead and state == S.ASSIGNED
        case IncomingAction.FORWARD | IncomingAction.COMPLETE:
            return lead and state in OPEN_HANDLING
        case IncomingAction.REPLY:
            return handler and state in OPEN_HANDLING
        case IncomingAction.NOTE:
            return (handler or leader or clerk) and state in (*OPEN_HANDLING, S.DONE)
        case IncomingAction.FILE:
            return (clerk or leader) and state in (S.REGISTERED, S.DONE)
    return False


def visible_incoming_q(user) -> Q:
    """A filter for ``IncomingDocument`` equal to ``can_incoming(user, "view", …)``."""
    from workflow.incoming.models import IncomingParticipant

    actor = actor_for(user)
    if actor.user_id is None:
        return Q(pk__in=[])
    q = Q(unit_id__in=actor.scope(Role.CLERK, Role.LEADER)) | Q(presented_to_id=actor.user_id)
    q |= Exists(IncomingParticipant.objects.filter(incoming=OuterRef("pk"),
                                                   user_id=actor.user_id))
    return q


def incoming_inbox_q(user) -> Q:
    """Incoming documents waiting for this person (to register, assign or handle)."""
    from workflow.incoming.models import OPEN_HANDLING, IncomingParticipant, ParticipantRole
    from workflow.incoming.models import State as S

    actor = actor_for(user)
    if actor.user_id is None:
        return Q(pk__in=[])
    q = Q(unit_id__in=actor.scope(Role.CLERK), state__in=[S.RECEIVED, S.REGISTERED])
    q |= Q(presented_to_id=actor.user_id, state=S.PRESENTED)
    q |= Q(unit_id__in=actor.scope(Role.LEADER), state=S.PRESENTED, presented_to__isnull=True)
    q |= Q(state__in=OPEN_HANDLING) & Exists(IncomingParticipant.objects.filter(
        incoming=OuterRef("pk"), user_id=actor.user_id,
        role__in=[ParticipantRole.LEAD, ParticipantRole.CO]))
    return q


def receiving_units(user) -> QuerySet[Unit]:
    """Units where the person registers incoming documents (their clerk units)."""
    actor = actor_for(user)
    return Unit.objects.filter(pk__in=actor.scope(Role.CLERK), is_active=True)


# --- signing delegations and registers (Decree 30 Art. 13, 16) -------------------------------


def can_manage_delegations(user, unit: Unit) -> bool:
    """Record and end delegations to sign: the unit's leaders and administrators."""
    actor = actor_for(user)
    return actor.has(Role.LEADER, unit.pk) or actor.has(Role.ADMIN, unit.pk)


def delegation_units(user) -> QuerySet[Unit]:
    actor = actor_for(user)
    return Unit.objects.filter(pk__in=actor.scope(Role.LEADER, Role.ADMIN), is_active=True)


def can_print_register(user, unit: Unit) -> bool:
    """Print, export and sign the outgoing register: the unit's clerks and leaders."""
    actor = actor_for(user)
    return actor.has(Role.CLERK, unit.pk) or actor.has(Role.LEADER, unit.pk)


def register_units(user) -> QuerySet[Unit]:
    actor = actor_for(user)
    return Unit.objects.filter(pk__in=actor.scope(Role.CLERK, Role.LEADER))


def can_see_deliveries(user, document: Document) -> bool:
    """The delivery state per recipient: for people of the issuing unit who see the document."""
    actor = actor_for(user)
    return actor.any_role_in(document.unit_id) and can_view(actor, document)


def can_resend(user, document: Document) -> bool:
    actor = actor_for(user)
    return actor.has(Role.CLERK, document.unit_id) and document.state in PUBLISHED_STATES


# --- recall, replacement and edXML exchange (issue #15, workflow/exchange/) ----------------
#
# * A leader of the issuing unit recalls an issued document (with a reason); the drafting
#   roles of the issuing unit draft its replacement. Neither once it was recalled/replaced.
# * The clerk (or a leader) of a recipient unit acknowledges the recall sent to it.
# * People of the issuing unit who see an issued document export it as edXML; the clerk
#   of a unit imports packages addressed to it.


def can_recall(user, document: Document) -> bool:
    actor = actor_for(user)
    return (actor.has(Role.LEADER, document.unit_id) and document.state in PUBLISHED_STATES
            and not hasattr(document, "recall"))


def can_replace(user, document: Document) -> bool:
    actor = actor_for(user)
    return (document.state in PUBLISHED_STATES and document.unit.is_active
            and any(actor.has(role, document.unit_id) for role in DRAFTING_ROLES)
            and not hasattr(document, "replaced_by_link"))


def can_acknowledge_recall(user, notice) -> bool:
    actor = actor_for(user)
    return notice.acknowledged_at is None and (actor.has(Role.CLERK, notice.unit_id)
                                               or actor.has(Role.LEADER, notice.unit_id))


def can_export_edxml(user, document: Document) -> bool:
    actor = actor_for(user)
    return (document.state in PUBLISHED_STATES and actor.any_role_in(document.unit_id)
            and can_view(actor, document))


def can_import_edxml(user, unit: Unit) -> bool:
    return actor_for(user).has(Role.CLERK, unit.pk) and unit.is_active


def recall_notices_waiting_q(user) -> Q:
    """Recall notices the person's units have not acknowledged yet (clerks and leaders)."""
    actor = actor_for(user)
    return Q(unit_id__in=actor.scope(Role.CLERK, Role.LEADER), acknowledged_at__isnull=True)


# --- case files and archive (issue #22) ---------------------------------------------------
# The rules live in workflow/records/access.py and build on visible_documents_q and
# visible_incoming_q above; callers may still ask this module (resolved on first use, so
# neither module needs the other while loading).
CASE_FILE_RULES = ("FileAction", "can_case_file", "visible_case_files_q")


def __getattr__(name: str):
    if name in CASE_FILE_RULES:
        from workflow.records import access as case_files

        return getattr(case_files, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
