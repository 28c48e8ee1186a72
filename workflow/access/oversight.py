"""Oversight: critique, supervision and recommendation cases, dashboards and their drill-downs.

Cases (and recommendations) belong to a unit. Specialists, heads and leaders of the
unit work them; only leaders approve and close; anyone with a role in the unit may
read them, and so may the leaders of every ancestor unit (the provincial chair
follows every district and commune, read-only). Owns :func:`can_case`,
:func:`visible_cases_q`, :func:`dashboard_units` and :func:`visible_records`, which lists
each kind of record by the rule of its own detail page. It may call :mod:`.core` and the
sibling modules :mod:`.documents`, :mod:`.meetings` and :mod:`.incoming`; none of them
calls it.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from workflow.access import documents, incoming, meetings
from workflow.access.core import DRAFTING_ROLES, Actor, actor_for
from workflow.documents.models import Document
from workflow.organisation.models import Role, Unit

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
    return documents.drafting_units(user)


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
        return qs.filter(documents.visible_documents_q(user))
    if model is Unit:
        return qs.filter(pk__in=dashboard_units(user).values("pk"))
    if model is meetings._meeting_states().Meeting:
        return qs.filter(meetings.visible_meetings_q(user))
    from workflow.oversight.models import CritiqueCase, Recommendation, SupervisionCase

    if model in (CritiqueCase, SupervisionCase, Recommendation):
        return qs.filter(visible_cases_q(user))
    from workflow.incoming.models import IncomingDocument

    if model is IncomingDocument:
        return qs.filter(incoming.visible_incoming_q(user))

    return qs.none()
