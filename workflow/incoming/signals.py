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
