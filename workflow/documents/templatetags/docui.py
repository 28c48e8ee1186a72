"""Template helpers for the document pages."""

from __future__ import annotations

import functools

from django import template
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import mark_safe
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


@register.filter
def history_label(action: str) -> str:
    """Plain words for an audit event code (workflow/audit/labels.py)."""
    from workflow.audit.labels import label

    return label(action)


@register.filter
def history_detail(entry) -> str:
    """An audit entry's comment in words: no ids, codes or hashes in full."""
    from workflow.audit.labels import detail

    return detail(entry.action, entry.comment)


@register.filter
def history_kind(action: str) -> str:
    """A CSS modifier for the timeline dot."""
    name = action.rsplit(".", 1)[-1]
    if name in ("return", "withdraw", "file_altered", "file_missing"):
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


@functools.lru_cache(maxsize=64)
def _cleaned_body(body: str) -> str | None:
    from workflow.documents.errors import InvalidInput
    from workflow.documents.services import clean_html

    try:
        return clean_html(body)
    except InvalidInput:
        return None


@register.filter
def clean_body(body: str) -> str:
    """The stored HTML body cleaned again with today's rules when shown, so bodies saved
    before a rule tightened (the style attribute, issue 23 #8) cannot carry old markup."""
    cleaned = _cleaned_body(body or "")
    if cleaned is None:
        # Saved before the limits: too large or deep to clean on every view (nh3 would
        # take minutes); shown as plain text instead.
        return format_html('<p class="muted">{}</p><pre class="doc-body-raw">{}</pre>',
                           _("The body is too large to show formatted."), body[:200_000])
    return mark_safe(cleaned)  # noqa: S308 - cleaned by nh3 just above
