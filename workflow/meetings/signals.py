"""Receivers connected in :meth:`MeetingsConfig.ready`."""

from __future__ import annotations


def paper_document_changed(sender, document_id: int, reason: str, **kwargs) -> None:
    """A document that is a paper of a published meeting changed: tell the participants."""
    from .services.papers import notify_paper_changed

    notify_paper_changed(document_id, reason)


def membership_changed(sender, instance, **kwargs) -> None:
    """A role given, changed or taken away: the person's room passes are void."""
    from .services.poll import access_changed

    access_changed(instance.user_id)


def user_changed(sender, instance, update_fields=None, **kwargs) -> None:
    """A password, active flag or anything else of the person saved: their poll tokens and
    room passes are void (the next poll loads the person and checks the session).
    Logging in only records the time: that changes nothing the room shows."""
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    from .services.poll import access_changed

    access_changed(instance.pk)
