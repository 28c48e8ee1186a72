"""Issued documents between units: deliveries, resending, recall, replacement and edXML.

* People of the issuing unit who see a document see its delivery state per recipient;
  its clerk resends.
* A leader of the issuing unit recalls an issued document (with a reason); the drafting
  roles of the issuing unit draft its replacement. Neither once it was recalled/replaced.
* The clerk (or a leader) of a recipient unit acknowledges the recall sent to it.
* People of the issuing unit who see an issued document export it as edXML; the clerk
  of a unit imports packages addressed to it.

Services live in ``workflow/exchange/``. It may call :mod:`.core` and the sibling module
:mod:`.documents` (:func:`~workflow.access.documents.can_view`).
"""

from __future__ import annotations

from django.db.models import Q

from workflow.access import documents
from workflow.access.core import DRAFTING_ROLES, actor_for
from workflow.documents.models import PUBLISHED_STATES, Document
from workflow.organisation.models import Role, Unit


def can_see_deliveries(user, document: Document) -> bool:
    """The delivery state per recipient: for people of the issuing unit who see the document."""
    actor = actor_for(user)
    return actor.any_role_in(document.unit_id) and documents.can_view(actor, document)


def can_resend(user, document: Document) -> bool:
    actor = actor_for(user)
    return actor.has(Role.CLERK, document.unit_id) and document.state in PUBLISHED_STATES


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
            and documents.can_view(actor, document))


def can_import_edxml(user, unit: Unit) -> bool:
    return actor_for(user).has(Role.CLERK, unit.pk) and unit.is_active


def recall_notices_waiting_q(user) -> Q:
    """Recall notices the person's units have not acknowledged yet (clerks and leaders)."""
    actor = actor_for(user)
    return Q(unit_id__in=actor.scope(Role.CLERK, Role.LEADER), acknowledged_at__isnull=True)
