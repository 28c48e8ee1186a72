"""What the oversight pages share: readable names for a case's history, the step bar, turning a
refusal into a message (or a 404), bounded ids, list filters, the document and file actions of
a case page, serving a case file (access-logged) and the notices page. It may call the oversight
services, :mod:`workflow.access` and the audit log; it renders no case page itself.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Case, IntegerField, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from workflow import access, query
from workflow.audit import access_log
from workflow.audit.labels import label as audit_label
from workflow.audit.services import history
from workflow.documents.errors import NotFound, WorkflowError
from workflow.ops.files import serve_file

from ..models import (
    CaseFile,
    CritiqueState,
    FileKind,
)
from ..services.casedocs import create_case_document, link_document
from ..services.common import attach_file

# Readable names for the audit actions shown in a case's history.
ACTION_LABELS = {
    "open": _lazy("Case opened"), "document": _lazy("Document linked"),
    "plan": _lazy("Planned"), "start": _lazy("Started"),
    "draft_conclusion": _lazy("Conclusion drafted"), "approve": _lazy("Approved"),
    "issue": _lazy("Conclusion issued"), "send": _lazy("Sent to the agency"),
    "receive_reply": _lazy("Reply received"), "close": _lazy("Closed"),
    "overdue": _lazy("Reply overdue"), "opinion_asked": _lazy("Opinion asked"),
    "opinion_received": _lazy("Opinion received"), "form_team": _lazy("Team formed"),
    "activity": _lazy("Activity recorded"), "report": _lazy("Report drafted"),
    "issue_recommendations": _lazy("Recommendations issued"),
    "create": _lazy("Recorded"), "aggregate": _lazy("Aggregated into a report"),
    "forward": _lazy("Forwarded"), "respond": _lazy("Answer recorded"),
    "resolve": _lazy("Resolved"), "mark_overdue": _lazy("Overdue"),
    "escalate": _lazy("Escalated"), "legitimate": _lazy("Legitimacy changed"),
    "upload": _lazy("File attached"), "file": _lazy("Report filed"),
}


def _history(obj, choices) -> list[dict]:
    states = dict(choices)
    rows = []
    for entry in history(obj):
        name = entry.action.rsplit(".", 1)[-1]
        rows.append({
            "at": entry.at, "actor": entry.actor, "comment": entry.comment,
            # Never the event code itself (workflow/audit/labels.py has the fallback).
            "label": ACTION_LABELS.get(name) or audit_label(entry.action),
            "from": states.get(entry.from_state, entry.from_state),
            "to": states.get(entry.to_state, entry.to_state),
            "moved": entry.from_state != entry.to_state and entry.from_state,
        })
    return rows


def _steps(choices, current: str) -> list[dict]:
    values = [v for v, _label in choices]
    index = values.index(current) if current in values else -1
    return [{"label": label, "css": "now" if i == index else ("done" if i < index else "")}
            for i, (_v, label) in enumerate(choices)]


def _fail(request: HttpRequest, exc: WorkflowError, to: str) -> HttpResponse:
    if isinstance(exc, NotFound):
        raise Http404(str(exc.message))
    messages.error(request, exc.message)
    return redirect(to)


def _int(value, default: int | None = None) -> int | None:
    # Bounded: a 40-digit id overflowed the database driver (a 500).
    return query.int_value(value, default)


def _filtered(request, qs, states):
    params = query.parse(request.GET, {"state": query.text_field(30), "q": query.text_field(200),
                                       "year": query.year_field()})
    state = params["state"] or ""
    if state == "overdue":
        qs = qs.filter(state=CritiqueState.AWAITING_REPLY, reply_due__lt=timezone.localdate())
    elif state in states:
        qs = qs.filter(state=state)
    q = (params["q"] or "").strip()
    if q:
        qs = qs.filter(title__icontains=q)
    year = params["year"]
    if year:
        qs = qs.filter(created_at__year=year)
    return qs, state, q


def _open_first(qs, closed: str):
    """Cases still being worked come before the closed ones."""
    return qs.annotate(is_closed=Case(When(state=closed, then=1), default=0,
                                      output_field=IntegerField())).order_by(
        "is_closed", "-created_at", "-pk")


def _doc_and_file_ops(request, case, op: str) -> None:
    """Operations shared by both case kinds: documents and files."""
    if op == "create_document":
        create_case_document(request.user, case, request.POST.get("role", ""))
        messages.success(request, _("The document was drafted; complete it and submit it."))
    elif op == "link_document":
        link_document(request.user, case, request.POST.get("role", ""),
                      request.POST.get("document_id"))
        messages.success(request, _("The document was linked."))
    elif op == "upload":
        attach_file(request.user, case, upload=request.FILES.get("file"),
                    kind=request.POST.get("kind", FileKind.OTHER))
        messages.success(request, _("The file was attached."))


@login_required
def case_file(request: HttpRequest, pk: int) -> HttpResponse:
    item = CaseFile.objects.select_related("critique__unit", "supervision__unit",
                                           "activity__case__unit",
                                           "recommendation__unit").filter(pk=pk).first()
    owner = item and (item.critique or item.supervision or
                      (item.activity.case if item.activity_id else None) or item.recommendation)
    if not owner or not access.can_case(request.user, "view", owner):
        raise Http404()
    access_log.record_case_file(owner, request.user, name=item.original_name)
    return serve_file(item.blob, as_attachment=True, filename=item.original_name,
                      content_type=item.content_type)


@login_required
def notices(request: HttpRequest) -> HttpResponse:
    # Notices live in the one notification centre now.
    return redirect("notifications:list")
