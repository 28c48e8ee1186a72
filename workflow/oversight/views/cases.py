"""The pages of social critique and supervision cases: lists, opening a case, the case page with
its history and buttons, and the one POST endpoint per case that runs an action, a document or
file operation, an opinion or an activity. It may call the oversight services
(:mod:`..services.critique`, :mod:`..services.supervision`, ...) and :mod:`.common`.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from workflow import access
from workflow.documents.errors import WorkflowError

from .. import conf
from ..models import (
    ActivityKind,
    CritiqueCase,
    CritiqueForm,
    CritiqueState,
    FileKind,
    RecField,
    Source,
    SupervisionCase,
    SupervisionState,
)
from ..services.common import get_object
from ..services.critique import (
    add_opinion,
    critique_action,
    critique_actions_for,
    open_critique,
    record_opinion,
)
from ..services.recommendations import (
    add_recommendation,
)
from ..services.supervision import (
    add_activity,
    open_supervision,
    supervision_action,
    supervision_actions_for,
)
from .common import _doc_and_file_ops, _fail, _filtered, _history, _open_first, _steps


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
            case = open_critique(
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
        case = get_object(request.user, CritiqueCase, pk)
    except WorkflowError as exc:
        raise Http404(str(exc.message)) from None
    may_work = access.can_case(request.user, "work", case)
    return render(request, "oversight/critique_detail.html", {
        "case": case, "actions": critique_actions_for(request.user, case),
        "may_work": may_work, "forms": CritiqueForm.choices, "file_kinds": FileKind.choices,
        "opinions": case.opinions.all(), "files": case.files.all(),
        "recommendations": case.recommendations.all(),
        "history": _history(case, CritiqueState.choices),
        "steps": _steps(CritiqueState.choices, case.state),
        "reply_days": conf.get("REPLY_DUE_DAYS"), "today": timezone.localdate(),
        "meeting_url": reverse("meetings:detail", args=[case.meeting_id])
        if case.meeting_id else "",
    })


@login_required
@require_POST
def critique_act(request: HttpRequest, pk: int) -> HttpResponse:
    to = reverse("oversight:critique_detail", args=[pk])
    op = request.POST.get("op", "")
    try:
        case = get_object(request.user, CritiqueCase, pk)
        if op in ("create_document", "link_document", "upload"):
            _doc_and_file_ops(request, case, op)
        elif op == "add_opinion":
            add_opinion(request.user, pk, name=request.POST.get("name"),
                        deadline=request.POST.get("deadline"))
        elif op == "record_opinion":
            record_opinion(request.user, request.POST.get("opinion"),
                           text=request.POST.get("text"))
        else:
            critique_action(
                request.user, pk, op, expected_state=request.POST.get("expected_state"),
                **{k: request.POST.get(k) for k in ("form", "meeting", "on", "reply_days",
                                                     "accepted", "explained", "comment")})
            messages.success(request, _("Done."))
    except WorkflowError as exc:
        return _fail(request, exc, to)
    return redirect(to)


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
            case = open_supervision(
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
        case = get_object(request.user, SupervisionCase, pk)
    except WorkflowError as exc:
        raise Http404(str(exc.message)) from None
    return render(request, "oversight/supervision_detail.html", {
        "case": case, "actions": supervision_actions_for(request.user, case),
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
        case = get_object(request.user, SupervisionCase, pk)
        if op in ("create_document", "link_document", "upload"):
            _doc_and_file_ops(request, case, op)
        elif op == "add_activity":
            add_activity(request.user, pk, kind=request.POST.get("kind"),
                         on=request.POST.get("on"), place=request.POST.get("place"),
                         description=request.POST.get("description"))
        elif op == "add_recommendation":
            add_recommendation(
                request.user, unit=None, source=Source.SUPERVISION, supervision=case,
                topic=request.POST.get("topic"), addressee=request.POST.get("addressee"),
                content=request.POST.get("content"),
                field=request.POST.get("field") or RecField.OTHER,
                due_date=request.POST.get("due_date"))
        else:
            supervision_action(request.user, pk, op,
                               expected_state=request.POST.get("expected_state"),
                               on=request.POST.get("on"),
                               comment=request.POST.get("comment"))
            messages.success(request, _("Done."))
    except WorkflowError as exc:
        return _fail(request, exc, to)
    return redirect(to)
