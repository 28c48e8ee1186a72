"""Browser pages for case files, file plans, handovers and the appraisal list.

Thin views: parse bounded input, call :mod:`workflow.records.services`, turn each
WorkflowError into a message. A file, plan or handover the person cannot see answers 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from workflow import access as core_access
from workflow import query
from workflow.audit.services import history
from workflow.documents.errors import NotFound, WorkflowError
from workflow.documents.models import PUBLISHED_STATES
from workflow.incoming.models import REGISTERED_ONWARDS, IncomingDocument
from workflow.ops.files import serve_file

from . import access, exports, services
from .access import FileAction
from .models import CaseState, PackageStatus

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CANDIDATES = 50


def _text(value, limit: int = 200) -> str:
    return (value or "").replace("\x00", "").strip()[:limit]


def _download(data: bytes, name: str, fmt: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf" if fmt == "pdf" else XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def _fail(request, exc: WorkflowError) -> None:
    messages.error(request, str(exc.message))


# --- case files -----------------------------------------------------------------------------


@login_required
def case_file_list(request: HttpRequest) -> HttpResponse:
    """Case files the person may see; searchable by title and code, filterable by code."""
    qs = services.visible(request.user).annotate(documents=Count("items"))
    q = _text(request.GET.get("q"))
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(code__icontains=q))
    code = _text(request.GET.get("code"), 20)
    if code:
        qs = qs.filter(code__iexact=code)
    state = request.GET.get("state") or ""
    if state in CaseState.values:
        qs = qs.filter(state=state)
    year = query.year_value(request.GET.get("year"))
    if year:
        qs = qs.filter(year=year)
    unit = query.int_value(request.GET.get("unit"))
    if unit:
        qs = qs.filter(unit_id=unit)
    page = Paginator(qs.order_by("-year", "unit__name", "code"), 30).get_page(
        query.int_value(request.GET.get("page"), 1, max_value=10_000))
    return render(request, "records/list.html", {
        "page_obj": page, "q": q, "code": code, "state": state, "year": year or "",
        "states": CaseState.choices, "can_open": access.filing_units(request.user).exists(),
        "keeps": access.plan_units(request.user).exists(), "section": "records",
    })


@login_required
def case_file_new(request: HttpRequest) -> HttpResponse:
    units = list(access.filing_units(request.user))
    if not units:
        raise Http404()
    entry_id = query.int_value(request.GET.get("entry") or request.POST.get("plan_entry"))
    if request.method == "POST":
        unit = next((u for u in units if str(u.pk) == request.POST.get("unit")), None)
        if unit is None:
            messages.error(request, _("Choose a unit."))
        else:
            try:
                case_file = services.open_case_file(
                    request.user, unit, code=_text(request.POST.get("code"), 100),
                    title=_text(request.POST.get("title"), 1000),
                    retention=_text(request.POST.get("retention"), 20) or None,
                    year=_text(request.POST.get("year"), 10) or None,
                    responsible_id=query.int_value(request.POST.get("responsible")),
                    notes=_text(request.POST.get("notes"), 1000), plan_entry_id=entry_id)
            except WorkflowError as exc:
                _fail(request, exc)
            else:
                messages.success(request, _("Case file %(code)s opened.")
                                 % {"code": case_file.code})
                return redirect("records:detail", case_file.pk)
    from .models import FilePlanEntry

    entries = FilePlanEntry.objects.filter(plan__unit__in=units).select_related(
        "plan__unit").order_by("-plan__year", "order")[:300]
    return render(request, "records/new.html", {
        "units": units, "entries": entries, "entry_id": entry_id, "form": request.POST,
        "section": "records"})


def _candidates(user, case_file, q: str):
    """Issued documents and registered incoming documents of the file's unit, not in it yet."""
    docs = core_access.visible_documents(user).filter(
        unit_id=case_file.unit_id, state__in=PUBLISHED_STATES).exclude(
        case_file_items__case_file=case_file)
    incoming = IncomingDocument.objects.filter(core_access.visible_incoming_q(user)).filter(
        unit_id=case_file.unit_id, state__in=REGISTERED_ONWARDS).exclude(
        case_file_items__case_file=case_file)
    if q:
        docs = docs.filter(Q(subject__icontains=q) | Q(symbol__icontains=q))
        incoming = incoming.filter(Q(subject__icontains=q) | Q(number_symbol__icontains=q))
    return (list(docs.select_related("document_type").order_by("-issued_at", "-pk")[:CANDIDATES]),
            list(incoming.order_by("-arrived_at", "-pk")[:CANDIDATES]))


@login_required
def case_file_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        case_file = services.get_case_file(request.user, pk)
    except NotFound:
        raise Http404() from None
    items = list(services.contents(request.user, case_file))
    user = request.user
    can_file = access.can_case_file(user, FileAction.FILE, case_file)
    q = _text(request.GET.get("q"))
    candidates = _candidates(user, case_file, q) if can_file else ([], [])
    return render(request, "records/detail.html", {
        "case_file": case_file, "items": items, "can_file": can_file,
        "can_close": access.can_case_file(user, FileAction.CLOSE, case_file),
        "can_edit": access.can_case_file(user, FileAction.EDIT, case_file),
        "hidden": case_file.items.count() - len(items)
        if access.can_case_file(user, FileAction.CLOSE, case_file) else 0,
        "candidate_docs": candidates[0], "candidate_incoming": candidates[1], "q": q,
        "history": history(case_file), "section": "records",
    })


@login_required
def contents_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    if fmt not in ("pdf", "xlsx"):
        raise Http404()
    try:
        case_file = services.get_case_file(request.user, pk)
    except NotFound:
        raise Http404() from None
    items = list(services.contents(request.user, case_file))
    name = f"muc-luc-van-ban-{case_file.year}-{case_file.pk}"
    if fmt == "pdf":
        return _download(exports.contents_pdf(case_file, items), name, fmt)
    return _download(exports.contents_xlsx(case_file, items), name, fmt)


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


@login_required
@require_POST
def file_into(request: HttpRequest, pk: int) -> HttpResponse:
    """File one document (from its page) or many (checked in a list) into the file."""
    try:
        outcome = services.file_documents(
            request.user, pk, documents=request.POST.getlist("document")[:500],
            incoming=request.POST.getlist("incoming")[:500])
    except NotFound:
        raise Http404() from None
    except WorkflowError as exc:
        _fail(request, exc)
    else:
        if outcome["filed"]:
            messages.success(request, _("%(n)s document(s) filed.") % {"n": outcome["filed"]})
        if outcome["skipped"]:
            messages.info(request, _("%(n)s document(s) were in the file already.")
                          % {"n": outcome["skipped"]})
    return redirect(_back(request, reverse("records:detail", args=[pk])))


@login_required
@require_POST
def file_new(request: HttpRequest) -> HttpResponse:
    """From a document's page: choose the file in a list, then file it."""
    pk = query.int_value(request.POST.get("case_file"))
    if not pk:
        messages.error(request, _("Choose a case file."))
        return redirect(_back(request, reverse("records:list")))
    return file_into(request, pk)


@login_required
@require_POST
def remove_item(request: HttpRequest, pk: int, item: int) -> HttpResponse:
    try:
        services.remove_item(request.user, pk, item)
    except NotFound:
        raise Http404() from None
    except WorkflowError as exc:
        _fail(request, exc)
    else:
        messages.success(request, _("The document was taken out of the file."))
    return redirect("records:detail", pk)


@login_required
@require_POST
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.edit_case_file(request.user, pk, title=_text(request.POST.get("title"), 1000),
                                code=_text(request.POST.get("code"), 100),
                                retention=_text(request.POST.get("retention"), 20) or None,
                                notes=_text(request.POST.get("notes"), 1000))
    except NotFound:
        raise Http404() from None
    except WorkflowError as exc:
        _fail(request, exc)
    else:
        messages.success(request, _("The file's details were saved."))
    return redirect("records:detail", pk)


@login_required
@require_POST
def close(request: HttpRequest, pk: int) -> HttpResponse:
    import datetime as dt

    end = None
    if request.POST.get("end_date"):
        try:
            end = dt.date.fromisoformat(request.POST["end_date"][:10])
        except ValueError:
            messages.error(request, _("The end date is not valid."))
            return redirect("records:detail", pk)
    try:
        services.close_case_file(request.user, pk, end_date=end,
                                 expected_state=request.POST.get("expected_state") or None)
    except NotFound:
        raise Http404() from None
    except WorkflowError as exc:
        _fail(request, exc)
    else:
        messages.success(request, _("The file is closed: its contents list is fixed."))
    return redirect("records:detail", pk)


# --- file plans -------------------------------------------------------------------------------


@login_required
def plan_list(request: HttpRequest) -> HttpResponse:
    units = list(access.plan_units(request.user))
    if request.method == "POST":
        unit = next((u for u in units if str(u.pk) == request.POST.get("unit")), None)
        if unit is None:
            raise Http404()
        try:
            if request.POST.get("action") == "copy":
                plan = services.copy_plan(request.user, unit, request.POST.get("year"))
                messages.success(request, _("The %(year)s file plan was made from %(prev)s's.")
                                 % {"year": plan.year, "prev": plan.year - 1})
            else:
                plan = services.create_plan(request.user, unit, request.POST.get("year"),
                                            _text(request.POST.get("notes"), 1000))
                messages.success(request, _("File plan created."))
        except WorkflowError as exc:
            _fail(request, exc)
        else:
            return redirect("records:plan", plan.pk)
    plans = services.visible_plans(request.user).annotate(entry_count=Count("entries"))
    from django.utils import timezone

    return render(request, "records/plans.html", {
        "plans": plans[:200], "units": units, "next_year": timezone.localdate().year + 1,
        "section": "records"})


@login_required
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        plan = services.get_plan(request.user, pk)
    except NotFound:
        raise Http404() from None
    editable = access.can_edit_plan(request.user, plan.unit) and not plan.approved_at
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "add":
                services.add_plan_entry(
                    request.user, plan.pk, code=_text(request.POST.get("code"), 100),
                    title=_text(request.POST.get("title"), 1000),
                    retention=_text(request.POST.get("retention"), 20) or None,
                    responsible_id=query.int_value(request.POST.get("responsible")),
                    notes=_text(request.POST.get("notes"), 1000),
                    heading=_text(request.POST.get("heading"), 300))
                messages.success(request, _("File added to the plan."))
            elif action == "remove":
                services.remove_plan_entry(request.user, plan.pk,
                                           query.int_value(request.POST.get("entry")))
                messages.success(request, _("File removed from the plan."))
            elif action == "approve":
                services.approve_plan(request.user, plan.pk)
                messages.success(request, _("File plan approved."))
        except WorkflowError as exc:
            _fail(request, exc)
        return redirect("records:plan", plan.pk)
    from workflow.organisation.models import User

    return render(request, "records/plan.html", {
        "plan": plan, "entries": plan.entries.select_related("responsible"),
        "editable": editable, "can_approve": access.can_approve_plan(request.user, plan.unit)
        and not plan.approved_at,
        "can_open": access.can_open_file(request.user, plan.unit),
        "people": User.objects.filter(memberships__unit=plan.unit, memberships__is_active=True,
                                      is_active=True).distinct().order_by("full_name")
        if editable else [],
        "history": history(plan), "section": "records"})


@login_required
def plan_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    if fmt not in ("pdf", "xlsx"):
        raise Http404()
    try:
        plan = services.get_plan(request.user, pk)
    except NotFound:
        raise Http404() from None
    name = f"danh-muc-ho-so-{plan.year}-{plan.unit.code}"
    if fmt == "pdf":
        return _download(exports.plan_pdf(plan), name, fmt)
    return _download(exports.plan_xlsx(plan), name, fmt)


# --- handovers ----------------------------------------------------------------------------------


@login_required
def handover_list(request: HttpRequest) -> HttpResponse:
    units = list(access.handover_units(request.user))
    unit = next((u for u in units if str(u.pk) == (request.POST.get("unit")
                                                   or request.GET.get("unit"))),
                units[0] if units else None)
    if request.method == "POST":
        if unit is None:
            raise Http404()
        try:
            handover = services.hand_over(request.user, unit,
                                          request.POST.getlist("file")[:500],
                                          notes=_text(request.POST.get("notes"), 1000))
        except WorkflowError as exc:
            _fail(request, exc)
        else:
            messages.success(request, _("The files were handed over to the archive; the "
                                        "archive package is being built."))
            return redirect("records:handover", handover.pk)
    return render(request, "records/handovers.html", {
        "handovers": services.visible_handovers(request.user).annotate(
            file_count=Count("files"))[:200],
        "units": units, "unit": unit,
        "candidates": services.handover_candidates(request.user, unit) if unit else [],
        "section": "records"})


@login_required
def handover_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        handover = services.get_handover(request.user, pk)
    except NotFound:
        raise Http404() from None
    if request.method == "POST":
        try:
            services.retry_package(request.user, handover.pk)
        except WorkflowError as exc:
            _fail(request, exc)
        return redirect("records:handover", handover.pk)
    return render(request, "records/handover.html", {
        "handover": handover, "files": exports.handover_files(handover),
        "can_download": access.can_handover(request.user, handover.unit),
        "ready": handover.status == PackageStatus.READY,
        "failed": handover.status == PackageStatus.FAILED,
        "history": history(handover), "section": "records"})


@login_required
def handover_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    if fmt not in ("pdf", "xlsx"):
        raise Http404()
    try:
        handover = services.get_handover(request.user, pk)
    except NotFound:
        raise Http404() from None
    name = f"muc-luc-ho-so-nop-luu-{handover.pk}"
    if fmt == "pdf":
        return _download(exports.handover_pdf(handover), name, fmt)
    return _download(exports.handover_xlsx(handover), name, fmt)


@login_required
def handover_package(request: HttpRequest, pk: int) -> HttpResponse:
    """The ZIP, for the unit's clerks and leaders only (it holds confidential documents)."""
    try:
        handover = services.get_handover(request.user, pk)
    except NotFound:
        raise Http404() from None
    if not access.can_download_package(request.user, handover):
        raise Http404()
    if handover.status != PackageStatus.READY or not handover.package:
        raise Http404(_("The archive package is not ready yet."))
    return serve_file(handover.package, as_attachment=True,
                      filename=f"nop-luu-{handover.pk}.zip", content_type="application/zip")


# --- appraisal ----------------------------------------------------------------------------------


@login_required
def appraisal(request: HttpRequest) -> HttpResponse:
    return render(request, "records/appraisal.html", {
        "files": services.due_for_appraisal(request.user)[:500], "section": "records"})


