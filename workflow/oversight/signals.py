"""Receivers that keep cases in step with their documents."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

# Only moves that can change a case; edits and comments are ignored cheaply.
RELEVANT_REASONS = {"approve", "sign", "issue", "archive"}


def on_document_changed(sender, document_id: int, reason: str = "", **kwargs) -> None:
    if reason and reason not in RELEVANT_REASONS:
        return
    from .services.casedocs import sync_document

    try:
        sync_document(document_id)
    except Exception:
        # The document's own change is committed already; a failure here must not turn
        # the clerk's "issue" into an error page. The case catches up on the next sync
        # (linking the document again, or any later change of the document).
        logger.exception("oversight: could not follow document %s (%s)", document_id, reason)
