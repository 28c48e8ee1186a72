"""Browser pages for incoming documents: register, detail and actions, intake, exports.

Thin views: parse input, call :mod:`workflow.incoming.services`, turn each
WorkflowError into a message. A document the person cannot see answers 404.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from workflow import access, query
from workflow.access import IncomingAction
from workflow.audit.services import history
from workflow.documents.errors import NotFound, WorkflowError
from workflow.documents.models import Priority
from workflow.ops.files import serve_file
from workflow.organisation.models import Membership, Role, Unit

from . import exports, intake, services
from .models import IncomingAttachment, ParticipantRole, Source, State

PAGE_SIZE = 30


def _load(user, pk: int):
    try:
        return services.get_for(user, pk)
    except NotFound:
        raise Http404(_("The incoming document does not exist or you cannot see it.")) from None


def _units(user):
    actor = access.actor_for(user)
    return Unit.objects.filter(pk__in=actor.scope(Role.CLERK, Role.LEADER)).order_by("path")


@login_required
def register_list(request: HttpRequest) -> HttpResponse:
    """The incoming register: what the person may see, urgent first; filters; exports."""
    qs = services.visible(request.user).select_related("unit")
    units = list(_units(request.user))
    # Bounded like every list's parameters (workflow/query.py): a bad value is ignored.
    unit_number = query.int_value(request.GET.get("unit"))
    unit_id = str(unit_number or "")
    if unit_number:
        qs = qs.filter(unit_id=unit_number)
    state = request.GET.get("state") or ""
    if state in State.values:
        qs = qs.filter(state=state)
    year_number = query.year_value(request.GET.get("year"))
    year = str(year_number or "")
    if year_number:
        qs = qs.filter(arrived_at__year=year_number)
    overdue = request.GET.get("overdue") == "1"
    if overdue:
        qs = services.overdue(qs)
    q = (request.GET.get("q") or "").replace("\x00", "").strip()[:200]
    if q:
        from django.db.models import Q

        qs = qs.filter(Q(subject__icontains=q) | Q(number_symbol__icontains=q)
                       | Q(issuer_name__icontains=q))
    from django.db.models import Exists, OuterRef

    # A PDF whose signature check is not PASSED (or not done yet) is flagged in the list.
    qs = qs.annotate(flagged=Exists(IncomingAttachment.objects.filter(
        incoming=OuterRef("pk"), file__content_type="application/pdf").exclude(
        file__verdict="PASSED")))
    page = Paginator(services.urgent_first(qs), PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    return render(request, "incoming/list.html", {
        "page_obj": page, "units": units, "states": State.choices, "unit_id": unit_id,
        "state": state, "year": year, "overdue": overdue, "q": q, "today": today,
        "can_intake": access.receiving_units(request.user).exists(),
        "period_start": today.replace(day=1), "period_end": today,
    })


def _people(unit_id: int):
    rows = (Membership.objects.filter(unit_id=unit_id, is_active=True, user__is_active=True)
            .select_related("user", "department").order_by("user__full_name", "user__username"))
    seen: dict[int, dict] = {}
    for m in rows:
        entry = seen.setdefault(m.user_id, {"user": m.user, "roles": []})
        entry["roles"].append(str(m.get_role_display()))
    return list(seen.values())


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    incoming = _load(request.user, pk)
    user = request.user
    allowed = {a.value for a in IncomingAction if a != IncomingAction.VIEW
               and access.can_incoming(user, a, incoming)}
    participants = list(incoming.participants.select_related("user"))
    leaders = Membership.objects.filter(unit_id=incoming.unit_id, role=Role.LEADER,
                                        is_active=True).select_related("user")
    colleagues = []
    if IncomingAction.FORWARD in allowed:
        depts = Membership.objects.filter(unit_id=incoming.unit_id, user=user,
                                          department__isnull=False).values("department_id")
        colleagues = sorted({m.user for m in Membership.objects.filter(
            unit_id=incoming.unit_id, department_id__in=depts, is_active=True)
            .exclude(user=user).select_related("user")}, key=str)
    duplicates = services.duplicates(incoming.unit, incoming.issuer_name,
                                     incoming.number_symbol, exclude=incoming.pk) \
        if incoming.state == State.RECEIVED else []
    return render(request, "incoming/detail.html", {
        "incoming": incoming, "allowed": allowed,
        "panel_actions": allowed - {IncomingAction.NOTE.value, IncomingAction.EDIT.value},
        "attachments": incoming.attachments.select_related("file"),
        "lead": [p for p in participants if p.role == ParticipantRole.LEAD],
        "co": [p for p in participants if p.role == ParticipantRole.CO],
        "info": [p for p in participants if p.role == ParticipantRole.INFO],
        "notes": incoming.notes.select_related("author"),
        "history": history(incoming), "people": _people(incoming.unit_id),
        "leaders": [m.user for m in leaders], "colleagues": colleagues,
        "priorities": Priority.choices, "duplicates": duplicates,
        "overdue": bool(incoming.deadline and incoming.deadline < timezone.localdate()
                        and incoming.state not in (State.DONE, State.FILED, State.RETURNED)),
    })


ACTIONS = {
    "register": lambda u, pk, p: services.register(
        u, pk, data={k: p.get(k) for k in services.EDITABLE if k in p},
        expected_state=p.get("expected_state"), confirm_duplicate=bool(p.get("confirm"))),
    "return": lambda u, pk, p: services.return_to_sender(
        u, pk, reason=p.get("reason", ""), expected_state=p.get("expected_state")),
    "present": lambda u, pk, p: services.present(
        u, pk, leader_id=p.get("leader") or None, expected_state=p.get("expected_state")),
    "assign": lambda u, pk, p: services.assign(
        u, pk, direction=p.get("direction", ""), lead_id=p.get("lead"),
        co_ids=p.getlist("co"), info_ids=p.getlist("info"), deadline=p.get("deadline"),
        expected_state=p.get("expected_state")),
    "start": lambda u, pk, p: services.start(u, pk, expected_state=p.get("expected_state")),
    "forward": lambda u, pk, p: services.forward(
        u, pk, to_id=p.get("to"), note=p.get("note", ""),
        expected_state=p.get("expected_state")),
    "note": lambda u, pk, p: services.add_note(u, pk, text=p.get("text", "")),
    "complete": lambda u, pk, p: services.complete(
        u, pk, result=p.get("result", ""), expected_state=p.get("expected_state")),
    "file": lambda u, pk, p: services.file(u, pk, expected_state=p.get("expected_state")),
}

@login_required
@require_POST
def act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404()
    _load(request.user, pk)
    try:
        result = ACTIONS[action](request.user, pk, request.POST)
    except services.DuplicateWarning as exc:
        messages.warning(request, str(exc.message))
        return redirect(reverse("incoming:detail", args=[pk]) + "?duplicate=1")
    except WorkflowError as exc:
        messages.error(request, str(exc.message))
        return redirect("incoming:detail", pk=pk)
    if action == "register":
        messages.success(request, _("Registered with arrival number %(n)s.")
                         % {"n": f"{result.arrival_number:02d}"})
    else:
        messages.success(request, _("Done."))
    try:
        services.get_for(request.user, pk)
    except NotFound:
        return redirect("incoming:list")
    return redirect("incoming:detail", pk=pk)


@login_required
@require_POST
def reply(request: HttpRequest, pk: int) -> HttpResponse:
    _load(request.user, pk)
    try:
        document = services.draft_reply(request.user, pk)
    except WorkflowError as exc:
        messages.error(request, str(exc.message))
        return redirect("incoming:detail", pk=pk)
    messages.success(request, _("The reply was drafted; complete it and submit it."))
    return redirect("documents:edit", pk=document.pk)


@login_required
def download(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    incoming = _load(request.user, pk)
    attachment = IncomingAttachment.objects.select_related("file").filter(
        incoming=incoming, pk=attachment_id).first()
    if attachment is None:
        raise Http404()
    response = serve_file(attachment.file.blob, as_attachment=False, filename=attachment.name,
                          content_type=attachment.file.content_type)
    response["X-Content-SHA256"] = attachment.file.sha256
    return response


@login_required
def intake_view(request: HttpRequest) -> HttpResponse:
    """Register a document from outside: upload → pre-filled form → register."""
    units = list(access.receiving_units(request.user))
    if not units:
        raise Http404()
    context = {"units": units, "sources": [c for c in Source.choices if c[0] != Source.SYSTEM],
               "priorities": Priority.choices, "data": {}, "duplicate": False}
    if request.method == "POST":
        unit = next((u for u in units if str(u.pk) == request.POST.get("unit")), units[0])
        data = {k: request.POST.get(k, "") for k in (*services.EDITABLE, "file_name")}
        data["confidential"] = bool(request.POST.get("confidential"))
        context.update(data=data, unit=unit, file_id=request.POST.get("file_id", ""),
                       source=request.POST.get("source", Source.PAPER))
        try:
            if request.FILES.get("scan"):
                item = intake.upload(request.user, unit, request.FILES["scan"])
                found = intake.prefill(intake.first_page_text(item))
                data.update({k: v for k, v in found.items() if not data.get(k)})
                data["file_name"] = request.FILES["scan"].name
                context.update(file_id=item.pk, prefilled=sorted(found), data=data)
                if data.get("issuer_name") and data.get("number_symbol") and \
                        services.duplicates(unit, data["issuer_name"],
                                            data["number_symbol"]).exists():
                    context["duplicate"] = True
                return render(request, "incoming/intake.html", context)
            incoming = intake.register_external(
                request.user, unit, data=data, file_id=request.POST.get("file_id") or None,
                source=request.POST.get("source", Source.PAPER),
                confirm_duplicate=bool(request.POST.get("confirm")))
        except services.DuplicateWarning as exc:
            messages.warning(request, str(exc.message))
            context["duplicate"] = True
            return render(request, "incoming/intake.html", context, status=409)
        except WorkflowError as exc:
            messages.error(request, str(exc.message))
            return render(request, "incoming/intake.html", context, status=400)
        messages.success(request, _("Registered with arrival number %(n)s.")
                         % {"n": f"{incoming.arrival_number:02d}"})
        return redirect("incoming:detail", pk=incoming.pk)
    return render(request, "incoming/intake.html", context)


def _period(request: HttpRequest) -> tuple[dt.date, dt.date]:
    today = timezone.localdate()
    source = request.POST if request.method == "POST" else request.GET
    try:
        start = dt.date.fromisoformat(source.get("from") or today.replace(day=1).isoformat())
        end = dt.date.fromisoformat(source.get("to") or today.isoformat())
    except (ValueError, OverflowError):
        raise Http404(_("The period is not valid.")) from None
    return start, end


@login_required
def export(request: HttpRequest, fmt: str) -> HttpResponse:
    unit_number = query.int_value((request.POST if request.method == "POST"
                                   else request.GET).get("unit"))
    unit = (_units(request.user).filter(pk=unit_number).first() if unit_number else None) \
        or _units(request.user).first()
    if unit is None or fmt not in ("pdf", "xlsx", "signed") or (
            fmt == "signed" and request.method != "POST"):
        raise Http404()
    start, end = _period(request)
    name = f"so-den-{unit.code}-{start:%Y%m%d}-{end:%Y%m%d}.{fmt}"
    if fmt == "signed":
        try:
            data = exports.signed_pdf(request.user, unit, start, end)
        except WorkflowError as exc:
            messages.error(request, str(exc.message))
            return redirect("incoming:list")
        response = HttpResponse(data, content_type="application/pdf")
        name = name.replace(".signed", "-da-ky.pdf")
    elif fmt == "pdf":
        response = HttpResponse(exports.pdf(unit, start, end), content_type="application/pdf")
    else:
        response = HttpResponse(
            exports.xlsx(unit, start, end),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_POST
def resend(request: HttpRequest, delivery_id: int) -> HttpResponse:
    from .models import Delivery

    d = Delivery.objects.filter(pk=delivery_id).first()
    if d is None:
        raise Http404()
    try:
        services.resend(request.user, delivery_id)
        messages.success(request, _("Sent again to %(unit)s.") % {"unit": d.unit})
    except NotFound:
        raise Http404() from None
    except WorkflowError as exc:
        messages.error(request, str(exc.message))
    return redirect("documents:detail", pk=d.document_id)
