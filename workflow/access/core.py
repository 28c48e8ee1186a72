"""Who a person is: their roles in units, loaded once per request, and the shared constants.

Owns :class:`Actor` and :class:`Grant` (a person's active memberships, each widened to the
units merged into it), :func:`actor_for` (cached on the user object) and :func:`forget`, and
the role and state groups every other area uses (``DRAFTING_ROLES``, ``SUBMITTED_ONWARDS``,
``APPROVED_ONWARDS``). It decides nothing about any object and imports no sibling module:
every other module of :mod:`workflow.access` imports from here, never the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workflow.documents.models import Document, State
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
