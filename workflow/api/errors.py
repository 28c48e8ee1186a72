"""JSON errors with a message a person can read, for every API failure."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from workflow.documents.errors import NotAllowed, NotFound, WorkflowError


def _first_messages(detail) -> list[str]:
    """Flatten DRF's nested validation detail into plain strings, in field order."""
    if isinstance(detail, dict):
        return [m for value in detail.values() for m in _first_messages(value)]
    if isinstance(detail, list):
        return [m for value in detail for m in _first_messages(value)]
    return [str(detail)]


def exception_handler(exc, context):
    # Django's own 404/403 carry no translated message of ours and may name models.
    if isinstance(exc, RequestDataTooBig):
        # Over DATA_UPLOAD_MAX_MEMORY_SIZE: a readable 413 rather than Django's bare 400.
        from .parsers import RequestTooLarge

        exc = RequestTooLarge()
    if isinstance(exc, Http404):
        exc = NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = NotAllowed()
    if isinstance(exc, WorkflowError):
        return Response(
            {"error": exc.code, "message": str(exc.message)}, status=exc.status
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    code = getattr(exc, "default_code", "error")
    fields = None
    if isinstance(detail, dict) and "detail" in detail:
        message = str(detail["detail"])
    elif isinstance(detail, dict) and set(detail) == {"non_field_errors"}:
        # e.g. wrong password on the token endpoint: the one message says it all.
        message = " ".join(_first_messages(detail))
    else:
        fields = detail
        messages = _first_messages(detail)
        if isinstance(detail, dict) and messages:
            first_field = next(iter(detail))
            message = _("Some fields are not valid (%(field)s: %(message)s).") % {
                "field": first_field,
                "message": messages[0],
            }
        else:
            message = _("Some fields are not valid.")
    body = {"error": code, "message": message}
    if fields is not None:
        body["fields"] = fields
    if response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        body["message"] = _("This method is not allowed here.")
    if isinstance(exc, exceptions.NotAuthenticated):
        body["message"] = _("Sign in first, or send an API token.")
    response.data = body
    return response
