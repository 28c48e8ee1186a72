from __future__ import annotations

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict:
    """Counts shown in the header (the inbox badge)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from workflow import inbox

    return {"inbox_count": inbox.count(user)}
