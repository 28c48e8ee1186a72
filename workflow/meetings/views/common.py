"""What the meeting pages share: domain errors as JSON (``json_view``), reading a JSON or form
body, the people of a unit to choose from, and a safe redirect back. It calls no service.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from django.http import (
    HttpRequest,
    HttpResponse,
    JsonResponse,
)
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from workflow.documents.errors import InvalidInput, WorkflowError
from workflow.organisation.models import Membership, User


def _json_error(exc: WorkflowError) -> JsonResponse:
    return JsonResponse({"error": exc.code, "message": str(exc.message)}, status=exc.status)


def json_view(func: Callable) -> Callable:
    """Turn domain errors and malformed bodies into JSON with a readable message."""

    @wraps(func)
    def wrapper(request, *args, **kwargs):
        try:
            return func(request, *args, **kwargs)
        except WorkflowError as exc:
            return _json_error(exc)

    return wrapper


def _body(request: HttpRequest) -> dict:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput(_("The request could not be read.")) from None
        if not isinstance(data, dict):
            raise InvalidInput(_("The request could not be read."))
        return data
    return request.POST.dict()


def _people_choices(meeting_or_unit) -> list[User]:
    unit_id = getattr(meeting_or_unit, "unit_id", None) or meeting_or_unit.pk
    ids = Membership.objects.filter(unit_id=unit_id, is_active=True).values("user_id")
    return list(User.objects.filter(pk__in=ids, is_active=True).order_by("full_name",
                                                                         "username"))


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next") or fallback
    if not target.startswith("/") or target.startswith("//"):
        target = fallback
    return redirect(target)
