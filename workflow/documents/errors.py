"""Errors raised by document services, each carrying a message a person can read."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class WorkflowError(Exception):
    """Base error: ``message`` is translated and safe to show to the user."""

    status = 400
    code = "invalid"
    default_message = _("The request could not be completed.")

    def __init__(self, message=None):
        self.message = message or self.default_message
        super().__init__(str(self.message))


class NotAllowed(WorkflowError):
    status = 403
    code = "forbidden"
    default_message = _("You are not allowed to do this.")


class NotFound(WorkflowError):
    status = 404
    code = "not_found"
    default_message = _("The document does not exist or you cannot see it.")


class Conflict(WorkflowError):
    status = 409
    code = "conflict"
    default_message = _(
        "The document was changed by someone else in the meantime. Reload it and try again."
    )


class InvalidInput(WorkflowError):
    status = 400
    code = "invalid"
