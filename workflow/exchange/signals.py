"""Hooks: a replacement's issue marks the old document replaced; imported documents
answer their sender with edXML status messages; a recall reaches edXML partners."""

from __future__ import annotations

import logging

from django.db import transaction

log = logging.getLogger(__name__)


def on_document_changed(sender, document_id: int, reason: str = "", **kwargs) -> None:
    """Sent after commit. Cheap (one indexed lookup) so it runs in-line."""
    if reason != "issue":
        return
    from .recall import mark_replaced

    try:
        mark_replaced(document_id)
    except Exception:  # the document is issued already; the admin can re-run it
        log.exception("could not mark the document replaced by %s", document_id)


def remember_state(sender, instance, **kwargs) -> None:
    instance._exchange_state_loaded = instance.__dict__.get("state")


def on_incoming_saved(sender, instance, created: bool, **kwargs) -> None:
    """An incoming document read from an edXML package changed stage: tell its sender."""
    from workflow.incoming.models import Source

    from .services import STATE_TO_STATUS, _incoming_package, emit_status

    loaded = getattr(instance, "_exchange_state_loaded", None)
    instance._exchange_state_loaded = instance.state
    if created or instance.source != Source.OTHER_SYSTEM or loaded == instance.state:
        return
    code = STATE_TO_STATUS.get(instance.state)
    if code is None or _incoming_package(instance) is None:
        return
    description = instance.return_reason if code == "02" else ""
    emit_status(instance, code, description=description)


def queue_recall_packages(recall) -> None:
    """Partners reached by edXML receive the recall as a package of its own."""
    from . import edxml
    from .models import PartnerDelivery
    from .services import build_package, write_outbox

    rows = list(PartnerDelivery.objects.filter(document=recall.document))
    if not rows:
        return

    def send() -> None:
        for row in rows:
            try:
                package = build_package(recall.document, [edxml.Organ(row.organ_id,
                                                                      row.organ_name)])
                # The recall carries the document's header and its main file only.
                package.attachments = [a for a in package.attachments if a.main][:1]
                write_outbox(row.organ_id, package.package_id, edxml.write_document(package))
            except Exception:
                log.exception("could not write the recall package for %s", row.organ_id)

    transaction.on_commit(send)
