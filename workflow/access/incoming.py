"""Incoming documents (văn bản đến, Decree 30 Art. 20–24): who sees and handles them.

* An incoming document belongs to the receiving unit. Its clerk (văn thư) and leaders
  see every one; the people the leader names (lead handler, co-handlers, for
  information) and the leader it was presented to see theirs; a lead handler who
  forwards it keeps seeing it. Nobody else: not other departments, not the other
  units that received the same document (each has its own record), not the sender
  (who sees the delivery state on the outgoing document instead).
* The clerk registers or returns what arrived, presents it and files it; a leader
  directs and assigns; the lead handler starts, forwards within the department and
  completes; handlers and the unit's leaders and clerk add notes; handlers draft
  the reply.

Owns :class:`IncomingAction`, :func:`can_incoming`, :func:`visible_incoming_q`,
:func:`incoming_inbox_q` and :func:`receiving_units`. It may call :mod:`.core` only
(the incoming models are imported inside the functions, as that app imports this one).
"""

from __future__ import annotations

from enum import StrEnum

from django.db.models import Exists, OuterRef, Q, QuerySet

from workflow.access.core import actor_for
from workflow.organisation.models import Role, Unit


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
