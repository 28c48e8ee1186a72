"""Pages for cases, recommendations and the targets dashboard. Logic lives in services."""

from __future__ import annotations

import csv
import io
from html import escape

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Q, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from workflow import access, query
from workflow.audit import access_log
from workflow.audit.labels import label as audit_label
from workflow.audit.services import history
from workflow.documents.errors import NotFound, WorkflowError
from workflow.ops.files import serve_file

from . import conf, services, targets
from .models import (
    ActivityKind,
    CaseFile,
    CritiqueCase,
    CritiqueForm,
    CritiqueState,
    FileKind,
    PeriodicReport,
    RecField,
    Recommendation,
    RecommendationReport,
    RecStatus,
    Source,
    SupervisionCase,
    SupervisionState,
)

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


# --- dashboard ------------------------------------------------------------------------------


def _board(units, year: int, root) -> targets.Dashboard:
    """The figures under ``root`` of the units the person may read (access.dashboard_units):
    a non-leader's dashboard and export never show the units below their own."""
    return targets.restrict(targets.compute(year, root),
                            set(units.values_list("pk", flat=True)))


def _dashboard_scope(request: HttpRequest):
    units = access.dashboard_units(request.user).select_related("level").order_by("path")
    unit_id = _int(request.GET.get("unit"))
    if unit_id is not None:
        root = units.filter(pk=unit_id).first()
        if root is None:
            raise Http404(_("The unit does not exist or you cannot see it."))
    else:
        # The highest unit the person belongs to: a provincial chair lands on the province.
        root = min(units, key=lambda u: (u.path.count("/"), u.path), default=None)
    this_year = timezone.localdate().year
    year = _int(request.GET.get("year"), this_year)
    if year is None or not 2000 <= year <= this_year + 1:
        year = this_year
    return units, root, year


BAR_STEP = 100  # px between bars: room for two short lines of label under each


def _charts(board: targets.Dashboard) -> list[dict]:
    """One chart per target: a bar per level, the target drawn as a line across it."""
    charts = []
    for metric in board.metrics:
        bars = []
        for i, level in enumerate(board.levels):
            fig = level.figures[metric.key]
            target = 100.0 if metric.kind == targets.QUOTA else fig.target
            height = fig.bar_pct
            bars.append({
                "label": level.name, "fig": fig, "x": 10 + i * BAR_STEP, "h": height * 1.2,
                "y": 130 - height * 1.2, "ty": 130 - target * 1.2, "target": target,
                "total": level.totals.get(metric.key) if metric.kind == targets.QUOTA else None,
            })
        charts.append({"metric": metric, "bars": bars, "width": 20 + BAR_STEP * len(bars)})
    return charts


UNIT_PAGE_SIZE = 50


def _sorted_rows(board: targets.Dashboard, sort: str) -> list:
    """The unit rows in tree order, or sorted by name or by one target's percentage."""
    key, descending = sort.lstrip("-"), sort.startswith("-")
    rows = list(board.rows)
    if key == "name":
        rows.sort(key=lambda r: r.name.casefold(), reverse=descending)
    elif key in {m.key for m in board.metrics}:
        # Units with nothing to count go last whichever the direction.
        known = [r for r in rows if r.figures[key].pct is not None]
        unknown = [r for r in rows if r.figures[key].pct is None]
        known.sort(key=lambda r: (r.figures[key].pct, r.name.casefold()), reverse=descending)
        rows = known + unknown
    return rows


def _tree_rows(rows, year: int, *, flat: bool = False) -> SafeString:
    """The unit table body, built here rather than in a template loop.

    A province has ~480 units × 7 targets; the template engine needs about a
    second for that many cells, plain string building a few milliseconds. Only
    the unit name comes from people, and it is escaped; every other piece is a
    number, a metric key or a fixed light name. ``flat``: sorted rows show their
    level instead of the tree's indentation.
    """
    drill = reverse("oversight:drilldown", args=["METRIC"]).replace("METRIC/", "")
    lines = []
    for row in rows:
        depth = 0 if flat else min(row.depth, 6)
        level = f'<span class="ov-level">{escape(row.level_name)}</span>' if flat else ""
        parts = [
            f'<tr data-unit="{row.id}"><td class="ov-name ov-depth-{depth}">'
            f'<i class="ov-light ov-{row.light}"></i>'
            f'<a href="?unit={row.id}&amp;year={year}">{escape(row.name)}</a>{level}</td>'
        ]
        for key, fig in row.figures.items():
            missing = "&amp;part=missing" if fig.met is False and fig.kind == targets.SHARE \
                else ""
            parts.append(f'<td><a href="{drill}{key}/?unit={row.id}&amp;year={year}{missing}">'
                         f'<i class="ov-light ov-{fig.light}"></i>{escape(fig.display)}</a></td>')
        parts.append("</tr>")
        lines.append("".join(parts))
    return mark_safe("".join(lines))  # noqa: S308 - see the docstring


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    units, root, year = _dashboard_scope(request)
    if root is None:
        return render(request, "oversight/dashboard.html", {"board": None})
    board = _board(units, year, root)
    this_year = timezone.localdate().year
    sort = request.GET.get("sort", "")
    if sort.lstrip("-") not in {"name", *(m.key for m in board.metrics)}:
        sort = ""
    page = Paginator(_sorted_rows(board, sort), UNIT_PAGE_SIZE).get_page(request.GET.get("page"))
    columns = [{"key": "name", "label": _("Unit")}] + [
        {"key": m.key, "label": m.label} for m in board.metrics]
    for column in columns:
        # First click: names A→Z, figures best first; the next click turns it round.
        first = column["key"] if column["key"] == "name" else "-" + column["key"]
        column["active"] = sort.lstrip("-") == column["key"]
        column["descending"] = sort.startswith("-")
        column["next"] = (sort[1:] if sort.startswith("-") else "-" + sort) \
            if column["active"] else first
    return render(request, "oversight/dashboard.html", {
        "board": board, "root": root, "year": year, "units": units,
        "years": list(range(this_year, this_year - 6, -1)), "charts": _charts(board),
        "tree_rows": _tree_rows(page.object_list, year, flat=bool(sort)),
        "page_obj": page, "columns": columns, "sort": sort,
        "quota_note": _("For supervisions and critiques the bar is the share of units that "
                        "met their yearly quota."),
    })


@login_required
def dashboard_export(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt not in ("csv", "xlsx"):
        raise Http404()
    units, root, year = _dashboard_scope(request)
    if root is None:
        raise Http404()
    board = _board(units, year, root)
    header = [_("Unit"), _("Level")]
    for metric in board.metrics:
        label = str(metric.label)
        if metric.kind == targets.QUOTA:
            header += [f"{label}: " + _("held"), f"{label}: " + _("quota")]
        else:
            header += [f"{label}: " + _("met"), f"{label}: " + _("counted"),
                       f"{label}: %", f"{label}: " + _("target %")]
    rows = []
    for r in board.rows:
        line: list = [r.name, r.level_name]
        for metric in board.metrics:
            fig = r.figures[metric.key]
            if metric.kind == targets.QUOTA:
                line += [fig.num, fig.den]
            else:
                line += [fig.num, fig.den, fig.pct if fig.pct is not None else "", fig.target]
        rows.append(line)
    name = f"targets-{year}-{root.code}"
    if fmt == "csv":
        out = io.StringIO()
        out.write("\ufeff")  # Excel opens UTF-8 Vietnamese correctly only with a BOM
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    else:
        from openpyxl import Workbook
        from openpyxl.styles import Font

        book = Workbook()
        sheet = book.active
        sheet.title = str(year)
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for line in rows:
            sheet.append(line)
        sheet.column_dimensions["A"].width = 48
        sheet.freeze_panes = "C2"
        buffer = io.BytesIO()
        book.save(buffer)
        response = HttpResponse(
            buffer.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def _record_row(obj) -> dict:
    """Title, unit, date and link of any record behind a figure."""
    model = obj._meta.model_name
    if model == "document":
        url = reverse("documents:detail", args=[obj.pk])
        return {"title": str(obj), "unit": obj.unit, "date": obj.issued_at, "url": url,
                "state": obj.get_state_display()}
    if model == "critiquecase":
        return {"title": obj.title, "unit": obj.unit, "date": obj.held_on,
                "url": reverse("oversight:critique_detail", args=[obj.pk]),
                "state": obj.get_state_display()}
    if model == "supervisioncase":
        return {"title": obj.title, "unit": obj.unit, "date": obj.held_on,
                "url": reverse("oversight:supervision_detail", args=[obj.pk]),
                "state": obj.get_state_display()}
    if model == "recommendation":
        return {"title": obj.topic, "unit": obj.unit, "date": obj.raised_on,
                "url": reverse("oversight:recommendation_detail", args=[obj.pk]),
                "state": obj.get_status_display()}
    if model == "incomingdocument":
        return {"title": str(obj), "unit": obj.unit, "date": obj.deadline,
                "url": reverse("incoming:detail", args=[obj.pk]),
                "state": obj.get_state_display()}
    if model == "unit":
        return {"title": obj.name, "unit": obj.parent, "date": None,
                "url": reverse("oversight:periodic") + f"?unit={obj.pk}", "state": ""}
    try:
        url = reverse("meetings:detail", args=[obj.pk])
    except NoReverseMatch:
        url = ""
    return {"title": str(obj), "unit": getattr(obj, "unit", None),
            "date": getattr(obj, "starts_at", None), "url": url,
            "state": obj.get_state_display() if hasattr(obj, "get_state_display") else ""}


@login_required
def drilldown(request: HttpRequest, metric: str) -> HttpResponse:
    if metric not in targets.BY_KEY:
        raise Http404()
    _units, root, year = _dashboard_scope(request)
    if root is None:
        raise Http404()
    part = request.GET.get("part", "all")
    if part not in ("all", "ok", "missing"):
        part = "all"
    subtree = request.GET.get("subtree") == "1"
    qs = targets.records(metric, year, root, subtree=subtree, part=part)
    if qs is None:
        qs_list = []
        page = None
    else:
        # Only what the person may open: the same rule as each record's own page.
        qs = access.visible_records(request.user, qs)
        related = {"periodic_reports": ["parent"], "signed": ["unit", "document_type"]}
        qs = qs.select_related(*related.get(metric, ["unit"]))
        with targets.fast_reads():
            page = Paginator(qs.order_by("-pk"), 50).get_page(request.GET.get("page"))
            qs_list = [_record_row(obj) for obj in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "oversight/drilldown.html", {
        "metric": targets.BY_KEY[metric], "root": root, "year": year, "part": part,
        "subtree": subtree, "rows": qs_list, "page": page, "query": query.urlencode(),
    })


# --- critique cases -------------------------------------------------------------------------


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


@login_required
def critique_list(request: HttpRequest) -> HttpResponse:
    qs = CritiqueCase.objects.filter(access.visible_cases_q(request.user)).select_related(
        "unit", "owner")
    qs, state, q = _filtered(request, qs, CritiqueState.values)
    qs = _open_first(qs, CritiqueState.CLOSED)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(request, "oversight/critique_list.html", {
        "page": page, "states": CritiqueState.choices, "state": state, "q": q,
        "can_open": access.case_units(request.user).exists(),
    })


@login_required
def critique_new(request: HttpRequest) -> HttpResponse:
    units = access.case_units(request.user)
    if request.method == "POST":
        try:
            case = services.open_critique(
                request.user, unit=request.POST.get("unit"), title=request.POST.get("title"),
                agency=request.POST.get("agency"), received_on=request.POST.get("received_on"),
                self_initiated=request.POST.get("self_initiated") == "on")
        except WorkflowError as exc:
            messages.error(request, exc.message)
        else:
            return redirect("oversight:critique_detail", pk=case.pk)
    return render(request, "oversight/critique_new.html", {"units": units,
                                                           "data": request.POST})


@login_required
def critique_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        case = services.get_object(request.user, CritiqueCase, pk)
    except WorkflowError as exc:
        raise Http404(str(exc.message)) from None
    may_work = access.can_case(request.user, "work", case)
    return render(request, "oversight/critique_detail.html", {
        "case": case, "actions": services.critique_actions_for(request.user, case),
        "may_work": may_work, "forms": CritiqueForm.choices, "file_kinds": FileKind.choices,
        "opinions": case.opinions.all(), "files": case.files.all(),
        "recommendations": case.recommendations.all(),
        "history": _history(case, CritiqueState.choices),
        "steps": _steps(CritiqueState.choices, case.state),
        "reply_days": conf.get("REPLY_DUE_DAYS"), "today": timezone.localdate(),
        "meeting_url": reverse("meetings:detail", args=[case.meeting_id])
        if case.meeting_id else "",
    })


def _doc_and_file_ops(request, case, op: str) -> None:
    """Operations shared by both case kinds: documents and files."""
    if op == "create_document":
        services.create_case_document(request.user, case, request.POST.get("role", ""))
        messages.success(request, _("The document was drafted; complete it and submit it."))
    elif op == "link_document":
        services.link_document(request.user, case, request.POST.get("role", ""),
                               request.POST.get("document_id"))
        messages.success(request, _("The document was linked."))
    elif op == "upload":
        services.attach_file(request.user, case, upload=request.FILES.get("file"),
                             kind=request.POST.get("kind", FileKind.OTHER))
        messages.success(request, _("The file was attached."))


@login_required
@require_POST
def critique_act(request: HttpRequest, pk: int) -> HttpResponse:
    to = reverse("oversight:critique_detail", args=[pk])
    op = request.POST.get("op", "")
    try:
        case = services.get_object(request.user, CritiqueCase, pk)
        if op in ("create_document", "link_document", "upload"):
            _doc_and_file_ops(request, case, op)
        elif op == "add_opinion":
            services.add_opinion(request.user, pk, name=request.POST.get("name"),
                                 deadline=request.POST.get("deadline"))
        elif op == "record_opinion":
            services.record_opinion(request.user, request.POST.get("opinion"),
                                    text=request.POST.get("text"))
        else:
            services.critique_action(
                request.user, pk, op, expected_state=request.POST.get("expected_state"),
                **{k: request.POST.get(k) for k in ("form", "meeting", "on", "reply_days",
                                                     "accepted", "explained", "comment")})
            messages.success(request, _("Done."))
    except WorkflowError as exc:
        return _fail(request, exc, to)
    return redirect(to)


# --- supervision cases ----------------------------------------------------------------------


@login_required
def supervision_list(request: HttpRequest) -> HttpResponse:
    qs = SupervisionCase.objects.filter(access.visible_cases_q(request.user)).select_related(
        "unit", "owner")
    qs, state, q = _filtered(request, qs, SupervisionState.values)
    qs = _open_first(qs, SupervisionState.CLOSED)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(request, "oversight/supervision_list.html", {
        "page": page, "states": SupervisionState.choices, "state": state, "q": q,
        "can_open": access.case_units(request.user).exists(),
    })


@login_required
def supervision_new(request: HttpRequest) -> HttpResponse:
    units = access.case_units(request.user)
    if request.method == "POST":
        try:
            case = services.open_supervision(
                request.user, unit=request.POST.get("unit"), title=request.POST.get("title"),
                supervised_body=request.POST.get("supervised_body"),
                planned_start=request.POST.get("planned_start"),
                planned_end=request.POST.get("planned_end"))
        except WorkflowError as exc:
            messages.error(request, exc.message)
        else:
            return redirect("oversight:supervision_detail", pk=case.pk)
    return render(request, "oversight/supervision_new.html", {"units": units,
                                                              "data": request.POST})


@login_required
def supervision_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        case = services.get_object(request.user, SupervisionCase, pk)
    except WorkflowError as exc:
        raise Http404(str(exc.message)) from None
    return render(request, "oversight/supervision_detail.html", {
        "case": case, "actions": services.supervision_actions_for(request.user, case),
        "may_work": access.can_case(request.user, "work", case),
        "activities": case.activities.prefetch_related("files"),
        "activity_kinds": ActivityKind.choices, "file_kinds": FileKind.choices,
        "files": case.files.all(), "recommendations": case.recommendations.all(),
        "fields": RecField.choices, "history": _history(case, SupervisionState.choices),
        "steps": _steps(SupervisionState.choices, case.state), "today": timezone.localdate(),
    })


@login_required
@require_POST
def supervision_act(request: HttpRequest, pk: int) -> HttpResponse:
    to = reverse("oversight:supervision_detail", args=[pk])
    op = request.POST.get("op", "")
    try:
        case = services.get_object(request.user, SupervisionCase, pk)
        if op in ("create_document", "link_document", "upload"):
            _doc_and_file_ops(request, case, op)
        elif op == "add_activity":
            services.add_activity(request.user, pk, kind=request.POST.get("kind"),
                                  on=request.POST.get("on"), place=request.POST.get("place"),
                                  description=request.POST.get("description"))
        elif op == "add_recommendation":
            services.add_recommendation(
                request.user, unit=None, source=Source.SUPERVISION, supervision=case,
                topic=request.POST.get("topic"), addressee=request.POST.get("addressee"),
                content=request.POST.get("content"),
                field=request.POST.get("field") or RecField.OTHER,
                due_date=request.POST.get("due_date"))
        else:
            services.supervision_action(request.user, pk, op,
                                        expected_state=request.POST.get("expected_state"),
                                        on=request.POST.get("on"),
                                        comment=request.POST.get("comment"))
            messages.success(request, _("Done."))
    except WorkflowError as exc:
        return _fail(request, exc, to)
    return redirect(to)


# --- recommendations ------------------------------------------------------------------------


@login_required
def recommendation_list(request: HttpRequest) -> HttpResponse:
    qs = Recommendation.objects.filter(access.visible_cases_q(request.user)).select_related(
        "unit")
    params = query.parse(request.GET, {"status": query.text_field(30), "q": query.text_field(200),
                                       "source": query.text_field(30),
                                       "field": query.text_field(30)})
    status = params["status"] or ""
    if status in RecStatus.values:
        qs = qs.filter(status=status)
    elif status == "late":
        today = timezone.localdate()
        qs = qs.exclude(status=RecStatus.RESOLVED).filter(
            Q(forwarded_on__isnull=True, forward_due__lt=today)
            | Q(forwarded_on__isnull=False, due_date__lt=today))
    for name in ("source", "field"):
        value = params[name] or ""
        if value:
            qs = qs.filter(**{name: value})
    q = (params["q"] or "").strip()
    if q:
        qs = qs.filter(Q(topic__icontains=q) | Q(addressee__icontains=q))
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(request, "oversight/recommendation_list.html", {
        "page": page, "statuses": RecStatus.choices, "sources": Source.choices,
        "fields": RecField.choices, "status": status, "q": q,
        "source": params["source"] or "", "field": params["field"] or "",
        "can_open": access.case_units(request.user).exists(), "today": timezone.localdate(),
    })


@login_required
def recommendation_new(request: HttpRequest) -> HttpResponse:
    units = access.case_units(request.user)
    sources = [c for c in Source.choices if c[0] != Source.SUPERVISION]
    if request.method == "POST":
        try:
            rec = services.add_recommendation(
                request.user, unit=request.POST.get("unit"), source=request.POST.get("source"),
                topic=request.POST.get("topic"), addressee=request.POST.get("addressee"),
                content=request.POST.get("content"),
                field=request.POST.get("field") or RecField.OTHER,
                raised_on=request.POST.get("raised_on"), due_date=request.POST.get("due_date"),
                legitimate=request.POST.get("legitimate") == "on",
                meeting=request.POST.get("meeting"))
        except WorkflowError as exc:
            messages.error(request, exc.message)
        else:
            return redirect("oversight:recommendation_detail", pk=rec.pk)
    return render(request, "oversight/recommendation_new.html", {
        "units": units, "sources": sources, "fields": RecField.choices, "data": request.POST})


@login_required
def recommendation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        rec = services.get_object(request.user, Recommendation, pk)
    except WorkflowError as exc:
        raise Http404(str(exc.message)) from None
    return render(request, "oversight/recommendation_detail.html", {
        "rec": rec, "actions": services.recommendation_actions_for(request.user, rec),
        "may_work": access.can_case(request.user, "work", rec), "files": rec.files.all(),
        "file_kinds": FileKind.choices, "history": _history(rec, RecStatus.choices),
    })


@login_required
@require_POST
def recommendation_act(request: HttpRequest, pk: int) -> HttpResponse:
    to = reverse("oversight:recommendation_detail", args=[pk])
    op = request.POST.get("op", "")
    try:
        if op == "upload":
            rec = services.get_object(request.user, Recommendation, pk)
            services.attach_file(request.user, rec, upload=request.FILES.get("file"),
                                 kind=FileKind.REPLY)
        else:
            services.recommendation_action(
                request.user, pk, op, expected_state=request.POST.get("expected_state"),
                on=request.POST.get("on"), text=request.POST.get("text"),
                value=request.POST.get("value") == "1", comment=request.POST.get("comment"))
            messages.success(request, _("Done."))
    except WorkflowError as exc:
        return _fail(request, exc, to)
    return redirect(to)


@login_required
def report_page(request: HttpRequest) -> HttpResponse:
    """Select a period and filters, preview the grouping, create the report document."""
    units = access.case_units(request.user)
    data = request.POST if request.method == "POST" else request.GET
    today = timezone.localdate()
    params = {
        "unit": data.get("unit") or (units.first().pk if units.exists() else None),
        "period_start": data.get("period_start") or today.replace(day=1).isoformat(),
        "period_end": data.get("period_end") or today.isoformat(),
        "sources": data.getlist("sources") or [Source.VOTER_MEETING, Source.DIALOGUE],
        "fields": data.getlist("fields"),
        "addressee": data.get("addressee", ""),
    }
    groups, count = [], 0
    if request.method == "POST":
        try:
            report = services.create_recommendation_report(
                request.user, title=data.get("title", ""), **params)
        except WorkflowError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The report was drafted as an outgoing document."))
            return redirect("documents:detail", pk=report.document_id)
    elif params["unit"] is not None:
        try:
            _unit, _s, _e, qs = services.report_selection(request.user, **params)
            recs = list(qs[:2000])
            groups, count = services.group_recommendations(recs), len(recs)
        except WorkflowError as exc:
            messages.error(request, exc.message)
    reports = RecommendationReport.objects.filter(
        access.visible_cases_q(request.user)).select_related("document", "unit")[:20]
    return render(request, "oversight/reports.html", {
        "units": units, "params": params, "groups": groups, "count": count,
        "sources": Source.choices, "fields": RecField.choices, "reports": reports,
    })


@login_required
def periodic_page(request: HttpRequest) -> HttpResponse:
    units = access.case_units(request.user)
    if request.method == "POST":
        try:
            services.file_periodic_report(
                request.user, unit=request.POST.get("unit"), year=request.POST.get("year"),
                period=request.POST.get("period"), filed_on=request.POST.get("filed_on"),
                document_id=request.POST.get("document_id"))
        except WorkflowError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The filing was recorded."))
        return redirect("oversight:periodic")
    filings = PeriodicReport.objects.filter(access.visible_cases_q(request.user)).select_related(
        "unit", "document")
    unit_id = _int(request.GET.get("unit"))
    if unit_id:
        filings = filings.filter(unit_id=unit_id)
    return render(request, "oversight/periodic.html", {
        "units": units, "filings": filings[:200],
        "periods": list(conf.get("PERIODIC_REPORT_PERIODS")),
        "year": timezone.localdate().year,
    })


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
