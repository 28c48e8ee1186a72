"""Who may do what: the one place where access to documents is decided.

Every view, API endpoint, django-fsm transition guard, inbox query and search
filter asks this module. Decisions depend on the person's roles in units
(:class:`~workflow.organisation.models.Membership`), the document's unit and
its state.

The rules, in words:

* A draft is private to its drafter until it is submitted.
* In the document's own unit: leaders see everything submitted; a department
  head sees what their department drafted once submitted; the clerk sees what
  is approved onwards; everybody else with a role there sees what is issued.
* People in an ancestor unit and in recipient units see issued documents only.
* Child and sibling units see nothing of another unit unless they are recipients.
* A unit merged into another counts as part of it, so its documents stay
  reachable after the 2025-style mergers.
"""

from __future__ import annotations

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
from workflow.organisation.models import Role, Unit

DRAFTING_ROLES = {Role.SPECIALIST, Role.HEAD, Role.LEADER}
SUBMITTED_ONWARDS = [
    State.SUBMITTED,
    State.REVIEWED,
    State.APPROVED,
    State.SIGNED,
    State.ISSUED,
    State.ARCHIVED,
    State.RETURNED,
    State.WITHDRAWN,
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
            if grant.department_id is None or grant.department_id == document.drafting_department_id:
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
    scopes = _merged_scope({row[0] for row in rows})
    actor = Actor(
        user_id=user.pk,
        grants=[
            Grant(unit_id=u, unit_path=p, role=r, department_id=d, scope=frozenset(scopes[u]))
            for (u, p, r, d) in rows
        ],
    )
    user._mttq_actor = actor
    return actor


def forget(user) -> None:
    """Drop the cached roles (after memberships change)."""
    if hasattr(user, "_mttq_actor"):
        del user._mttq_actor


# --- single-object decisions ---------------------------------------------------------------


def _recipient_of(actor: Actor, document: Document) -> bool:
    ids = actor.scope()
    return bool(ids) and DocumentRecipient.objects.filter(document=document, unit_id__in=ids).exists()


def can_view(actor: Actor, document: Document) -> bool:
    if actor.user_id is None:
        return False
    if document.drafter_id == actor.user_id:
        return True
    state = document.state
    unit_id = document.unit_id
    if state == State.DRAFT:
        return False
    if actor.has(Role.LEADER, unit_id):
        return True
    if actor.is_head_for(document):
        return True
    if state in APPROVED_ONWARDS and actor.has(Role.CLERK, unit_id):
        return True
    if state in PUBLISHED_STATES:
        return (
            actor.any_role_in(unit_id)
            or actor.in_ancestor_of(document.unit)
            or _recipient_of(actor, document)
        )
    return False


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


# --- querysets: the same rules as filters -------------------------------------------------


def _descendant_q(paths: list[str]) -> Q:
    q = Q(pk__in=[])
    for path in paths:
        q |= Q(unit__path__startswith=path) & ~Q(unit__path=path)
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
    published = Q(unit_id__in=actor.scope()) | _descendant_q(actor.paths())
    if actor.grants:
        published |= Exists(
            DocumentRecipient.objects.filter(document=OuterRef("pk"), unit_id__in=actor.scope())
        )
    q |= Q(state__in=PUBLISHED_STATES) & published
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
    q |= Q(state=State.SUBMITTED, awaiting_role=Role.LEADER, unit_id__in=actor.scope(Role.LEADER))
    q |= Q(state=State.REVIEWED, unit_id__in=actor.scope(Role.LEADER))
    q |= Q(state=State.APPROVED, signer_id=actor.user_id, unit_id__in=actor.scope(Role.LEADER))
    q |= Q(state=State.SIGNED, unit_id__in=actor.scope(Role.CLERK))
    return q


def inbox(user) -> QuerySet[Document]:
    return Document.objects.filter(inbox_q(user))
