"""Receivers that keep cases in step with their documents."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

# Only moves that can change a case; edits and comments are ignored cheaply.
RELEVANT_REASONS = {"approve", "sign", "issue", "archive"}


def on_document_changed(sender, document_id: int, reason: str = "", **kwargs) -> None:
    if reason and reason not in RELEVANT_REASONS:
        return
    from . import services

    services.sync_document(document_id)
