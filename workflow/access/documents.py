"""Documents: who sees one, who may take which step, and the same rules as query filters.

Owns :class:`Action` and ``TRANSITIONS``, the single-document decisions (:func:`can_view`,
:func:`can`, :func:`allowed_actions`, access history, OCR retry, who may draft where), the
filters that must agree with them (:func:`visible_documents_q`, :func:`inbox_q`) and
:func:`next_actors`. It may call :mod:`.core` and, for the one meetings hook (participants
of a published meeting read its approved, non-confidential papers), the sibling module
:mod:`.meetings`, imported as a module because that module calls :func:`can_view` back.
"""

from __future__ import annotations

from enum import StrEnum

from django.db.models import Exists, OuterRef, Q, QuerySet

from workflow.access import meetings
from workflow.access.core import (
    APPROVED_ONWARDS,
    DRAFTING_ROLES,
    SUBMITTED_ONWARDS,
    Actor,
    actor_for,
)
from workflow.documents.models import (
    OPEN_STATES,
    PUBLISHED_STATES,
    Document,
    DocumentRecipient,
    State,
)
from workflow.organisation.models import Role, Unit


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
    return state in APPROVED_ONWARDS and meetings._meeting_paper_reader(actor, document)


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
    q |= meetings._meeting_papers_q(actor)  # meetings hook, same rule as in can_view
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
