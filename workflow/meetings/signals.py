"""Receivers connected in :meth:`MeetingsConfig.ready`."""

from __future__ import annotations


def paper_document_changed(sender, document_id: int, reason: str, **kwargs) -> None:
    """A document that is a paper of a published meeting changed: tell the participants."""
    from .services import notify_paper_changed

    notify_paper_changed(document_id, reason)
