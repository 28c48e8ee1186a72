"""The targets dashboard (``/oversight/``): whose figures a person sees
(``access.dashboard_units``), the charts, the paged and sortable unit tree, the CSV/XLSX export
and the drill-down lists of the records behind a figure. It may call
:mod:`workflow.oversight.targets`, :mod:`workflow.access` and :mod:`.common`; it changes
nothing.
"""

from __future__ import annotations

import csv
import io
from html import escape

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from workflow import access

from .. import targets
from .common import _int


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
