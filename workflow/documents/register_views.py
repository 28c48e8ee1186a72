"""The clerk's page for the outgoing register: choose unit, series and period; print
(PDF), export (XLSX) or print and sign. Thin views over ``register_exports``."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from workflow import access, query

from . import register_exports
from .errors import WorkflowError

TYPES = {"pdf": "application/pdf",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _choices(request: HttpRequest):
    units = access.register_units(request.user).order_by("path")
    number = query.int_value(request.GET.get("unit") or request.POST.get("unit"))
    # A unit asked for by number must be one of the person's: never a silent fallback.
    unit = units.filter(pk=number).first() if number else units.first()
    if unit is None:
        raise Http404(_("You keep the outgoing register of no unit."))
    series_list = register_exports.series_of(unit)
    wanted = str(request.GET.get("series") or request.POST.get("series") or "")[:60]
    series = wanted if wanted in dict(series_list) else series_list[0][0]
    today = timezone.localdate()
    source = request.POST if request.method == "POST" else request.GET
    try:
        start = dt.date.fromisoformat(str(source.get("from") or today.replace(month=1, day=1)))
        end = dt.date.fromisoformat(str(source.get("to") or today))
    except ValueError:
        start, end = today.replace(month=1, day=1), today
        messages.error(request, _("The period is not valid; the current year is shown."))
    return units, unit, series_list, series, start, end


@login_required
@require_http_methods(["GET", "POST"])
def outgoing_register(request: HttpRequest, fmt: str = "") -> HttpResponse:
    units, unit, series_list, series, start, end = _choices(request)
    fmt = fmt or ("signed" if request.method == "POST" else "")
    if fmt and fmt not in (*TYPES, "signed"):
        raise Http404()
    status = 200
    if fmt:
        try:
            if fmt == "signed":
                data = register_exports.signed_pdf(request.user, unit, series, start, end)
            elif fmt == "pdf":
                data = register_exports.pdf(request.user, unit, series, start, end)
            else:
                data = register_exports.xlsx(request.user, unit, series, start, end)
            ext = "xlsx" if fmt == "xlsx" else "pdf"
            name = f"so-di-{unit.code}-{series.replace(':', '-')}-{start:%Y%m%d}-{end:%Y%m%d}"
            response = HttpResponse(data, content_type=TYPES[ext])
            suffix = "-da-ky" if fmt == "signed" else ""
            response["Content-Disposition"] = f'attachment; filename="{name}{suffix}.{ext}"'
            return response
        except WorkflowError as exc:
            messages.error(request, str(exc.message))
            status = exc.status
    rows = []
    if access.can_print_register(request.user, unit):
        try:
            register_exports.check_period(start, end)
            rows = register_exports.rows(unit, series, start, end)
        except WorkflowError as exc:
            messages.error(request, str(exc.message))
    return render(request, "documents/outgoing_register.html", {
        "units": units, "unit": unit, "series_list": series_list, "series": series,
        "start": start, "end": end, "columns": register_exports.COLUMNS, "rows": rows,
    }, status=status)

