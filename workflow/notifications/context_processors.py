from __future__ import annotations

from django.http import HttpRequest


def unread(request: HttpRequest) -> dict:
    """The unread count in the header: one indexed count, only for signed-in pages."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from django.utils.functional import SimpleLazyObject

    from .services import unread_count

    # Lazy: partial templates (htmx fragments) that never show the header cost no query.
    return {"notices_unread": SimpleLazyObject(lambda: unread_count(user))}
