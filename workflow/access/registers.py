"""Unit office duties (Decree 30 Art. 13, 16): signing delegations and the outgoing register.

Owns who records and ends delegations to sign (the unit's leaders and administrators)
and who prints, exports and signs the outgoing register (its clerks and leaders), with the
unit lists for their forms. It may call :mod:`.core` only.
"""

from __future__ import annotations

from django.db.models import QuerySet

from workflow.access.core import actor_for
from workflow.organisation.models import Role, Unit


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
