"""Template helpers for the document pages."""

from __future__ import annotations

from django import template
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.translation import gettext as _

from workflow import access
from workflow.documents.models import Document, State

register = template.Library()


@register.simple_tag
def vendor_script(name: str) -> str:
    """A <script> for a file in static/vendor/, or nothing if the assets were not built.

    The pages work without it (htmx only enhances them), so a checkout where
    scripts/build_assets.sh has not run still renders.
    """
    path = f"vendor/{name}"
    if not finders.find(path):
        return ""
    try:
        url = static(path)
    except ValueError:  # a manifest storage that has not collected it
        return ""
    return format_html('<script src="{}" defer></script>', url)


@register.simple_tag
def pdfjs_attrs() -> str:
    """data-pdfjs-* attributes telling static/js/pdf_viewer.js where pdf.js is.

    Empty when scripts/build_assets.sh has not run: the viewers then fall back to
    the browser's own PDF viewer.
    """
    if not finders.find("vendor/pdfjs/pdf.min.mjs"):
        return ""
    try:
        urls = [static(f"vendor/pdfjs/{name}") for name in
                ("pdf.min.mjs", "pdf.worker.min.mjs", "standard_fonts/", "wasm/")]
    except ValueError:
        return ""
    return format_html('data-pdfjs="{}" data-pdfjs-worker="{}" data-pdfjs-fonts="{}" '
                       'data-pdfjs-wasm="{}"', *urls)


@register.simple_tag
def can_draft(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return access.drafting_units(user).exists()


@register.filter
def state_label(value: str) -> str:
    try:
        return str(State(value).label)
    except ValueError:
        return value or ""


def _history_labels() -> dict[str, str]:
    return {
        "document.create": _("Created the draft"),
        "document.edit": _("Edited the draft"),
        "file.upload": _("Uploaded a file"),
        "document.comment": _("Commented"),
        "document.submit": _("Submitted for review"),
        "document.forward": _("Forwarded to the next step"),
        "document.return": _("Returned to the drafter"),
        "document.approve": _("Approved the document"),
        "document.sign": _("Signed the document"),
        "document.issue": _("Numbered and issued"),
        "document.archive": _("Archived the document"),
        "document.withdraw": _("Withdrew the document"),
        "document.download": _("Downloaded a file"),
        "document.view": _("Viewed the document"),
        "signing.remote.expired": _("A two-step signature expired unused"),
        "document.delivered": _("Delivered to the recipient units"),
        "document.resent": _("Sent again to a unit that returned it"),
    }


@register.filter
def history_label(action: str) -> str:
    return _history_labels().get(action, action)


@register.filter
def history_kind(action: str) -> str:
    """A CSS modifier for the timeline dot."""
    name = action.rsplit(".", 1)[-1]
    if name in ("return", "withdraw"):
        return "warn"
    if name in ("approve", "sign", "issue", "archive"):
        return "ok"
    if name in ("submit", "forward"):
        return "move"
    return "info"


@register.filter
def task_label(document: Document) -> str:
    """What the person is expected to do with a document in their inbox."""
    labels = {
        State.RETURNED: _("Revise and resubmit"),
        State.SUBMITTED: _("Review"),
        State.REVIEWED: _("Approve"),
        State.APPROVED: _("Sign"),
        State.SIGNED: _("Number and issue"),
    }
    return str(labels.get(document.state, document.get_state_display()))


@register.filter
def initials(user) -> str:
    name = str(user or "").strip()
    parts = [p for p in name.split() if p]
    if not parts:
        return "?"
    if len(parts) == 1:
        return parts[0][:2].upper()
    return (parts[0][0] + parts[-1][0]).upper()
