"""The pages of voters' recommendations: the list (filters, late ones first), recording one, its
page and actions, the report that aggregates a period's recommendations into a document, and
filing periodic reports. It may call :mod:`..services.recommendations`, :mod:`..services.reports`
and :mod:`.common`.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from workflow import access, query
from workflow.documents.errors import WorkflowError

from .. import conf
from ..models import (
    FileKind,
    PeriodicReport,
    RecField,
    Recommendation,
    RecommendationReport,
    RecStatus,
    Source,
)
from ..services.common import attach_file, get_object
from ..services.recommendations import (
    add_recommendation,
    recommendation_action,
    recommendation_actions_for,
)
from ..services.reports import (
    create_recommendation_report,
    file_periodic_report,
    group_recommendations,
    report_selection,
)
from .common import _fail, _history, _int


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
            rec = add_recommendation(
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
        rec = get_object(request.user, Recommendation, pk)
    except WorkflowError as exc:
        raise Http404(str(exc.message)) from None
    return render(request, "oversight/recommendation_detail.html", {
        "rec": rec, "actions": recommendation_actions_for(request.user, rec),
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
            rec = get_object(request.user, Recommendation, pk)
            attach_file(request.user, rec, upload=request.FILES.get("file"),
                        kind=FileKind.REPLY)
        else:
            recommendation_action(
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
            report = create_recommendation_report(
                request.user, title=data.get("title", ""), **params)
        except WorkflowError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The report was drafted as an outgoing document."))
            return redirect("documents:detail", pk=report.document_id)
    elif params["unit"] is not None:
        try:
            _unit, _s, _e, qs = report_selection(request.user, **params)
            recs = list(qs[:2000])
            groups, count = group_recommendations(recs), len(recs)
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
            file_periodic_report(
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
