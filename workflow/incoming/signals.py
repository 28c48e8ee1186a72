"""Hooks: issuing a document delivers it; search follows incoming changes."""

from __future__ import annotations

import logging

from django.apps import apps

log = logging.getLogger(__name__)


def on_document_changed(sender, document_id: int, reason: str = "", **kwargs) -> None:
    """Sent after commit: queue the delivery (and reply completion) of an issued document."""
    if reason != "issue":
        return
    from .tasks import deliver_document

    try:
        deliver_document.delay(document_id)
    except Exception:  # committed already: the reconcile beat task delivers it later
        log.exception("could not queue delivery of document %s", document_id)


def incoming_changed_many(ids) -> None:
    """Re-index incoming documents in search once the current transaction commits."""
    if not apps.is_installed("search"):
        return
    from search.signals import reindex_keys_on_commit

    reindex_keys_on_commit([f"incoming:{pk}" for pk in ids])


def incoming_changed(incoming) -> None:
    incoming_changed_many([incoming.pk])


def on_unit_merging(sender, source, into, at, **kwargs):
    """A merged unit's incoming documents still being worked on go to its successor.

    Sent inside the reorganisation's transaction (``organisation.reorg.unit_merging``).
    Arrival numbers stay as they were (a number of the predecessor's register is never
    given again); documents already done, filed, returned or recalled stay with the
    predecessor as its history, readable by the successor through ``access._merged_scope``.
    """
    from django.utils.translation import gettext_noop

    from workflow.organisation.models import Department

    from .models import IncomingDocument, State

    open_states = [State.RECEIVED, State.REGISTERED, State.PRESENTED, State.ASSIGNED,
                   State.IN_HANDLING]
    moving = list(IncomingDocument.objects.filter(unit=source, state__in=open_states)
                  .select_related("lead_department"))
    if not moving:
        return None
    departments = {d.name: d.pk for d in Department.objects.filter(unit=into)}
    for incoming in moving:
        department = incoming.lead_department
        incoming.unit = into
        incoming.lead_department_id = departments.get(department.name) if department else None
        incoming.save(update_fields=["unit", "lead_department"])
    incoming_changed_many([i.pk for i in moving])
    return gettext_noop("incoming documents in handling"), len(moving)
