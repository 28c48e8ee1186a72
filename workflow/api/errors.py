"""JSON errors with a message a person can read, for every API failure."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from workflow.documents.errors import WorkflowError


def exception_handler(exc, context):
    if isinstance(exc, WorkflowError):
        return Response(
            {"error": exc.code, "message": str(exc.message)}, status=exc.status
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    if isinstance(detail, dict) and "detail" in detail:
        message = str(detail["detail"])
        fields = None
    else:
        message = _("Some fields are not valid.")
        fields = detail
    body = {"error": getattr(exc, "default_code", "error"), "message": message}
    if fields is not None:
        body["fields"] = fields
    if response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        body["message"] = _("This method is not allowed here.")
    response.data = body
    return response
