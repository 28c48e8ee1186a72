"""The meeting pages outside the room: the list, creating a meeting, the meeting page (agenda,
papers, participants, minutes, tasks, history, the buttons ``access`` allows), every form post of
that page (one ``_op_*`` per operation, dispatched by ``meeting_op``), and the follow-up pages
(tasks, notices, the paperless report). It may call the meetings services, :mod:`workflow.access`
and :mod:`.common`.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import (
    HttpRequest,
    HttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
)

from workflow import access, query
from workflow.access import MeetingAction as A
from workflow.documents.errors import InvalidInput, NotFound, WorkflowError
from workflow.documents.models import DocumentType
from workflow.notifications.services import unread_count
from workflow.organisation.models import User

from ..models import (
    Kind,
    Meeting,
    MeetingState,
    ParticipantRole,
    TaskState,
)
from ..services import paperless
from ..services.agenda import add_agenda_item, move_agenda_item, remove_agenda_item
from ..services.attendance import check_in, decide_delegation, respond, set_deputies
from ..services.common import get_meeting, visible_meetings_for
from ..services.paperless import level_summary, paperless_targets
from ..services.papers import (
    attach_paper,
    detach_paper,
    draft_paper,
    readiness,
    restrict_paper,
    send_papers_for_approval,
)
from ..services.records import (
    add_task,
    conclude_meeting,
    draft_conclusion,
    draft_minutes,
    set_task_state,
    tasks_for,
)
from ..services.room import readable_papers
from ..services.schedule import (
    add_participant,
    cancel_meeting,
    postpone_meeting,
    publish_meeting,
    remove_participant,
    reschedule_meeting,
    schedule_meeting,
    update_meeting,
)
from ..services.session import close_meeting, start_meeting
from ..services.votes import vote_result
from .common import _back, _people_choices


@login_required
@require_GET
def meeting_list(request: HttpRequest) -> HttpResponse:
    params = query.parse(request.GET, {"q": query.text_field(200), "state": query.text_field(30)})
    q = (params["q"] or "").strip()
    state = params["state"] or ""
    qs = visible_meetings_for(request.user, q=q, state=state)
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    return render(request, "meetings/list.html", {
        "page": page, "q": q, "state": state, "states": MeetingState.choices,
        "can_schedule": access.scheduling_units(request.user).exists(),
        "unread": unread_count(request.user),
        "open_tasks": tasks_for(request.user).filter(state=TaskState.OPEN).count(),
    })


@login_required
@require_http_methods(["GET", "POST"])
def meeting_create(request: HttpRequest) -> HttpResponse:
    units = list(access.scheduling_units(request.user))
    if not units:
        messages.error(request, _("You cannot schedule meetings."))
        return redirect("meetings:list")
    unit = units[0]
    if request.method == "POST":
        unit = next((u for u in units if str(u.pk) == request.POST.get("unit")), units[0])
        data = {k: request.POST.get(k) for k in ("title", "kind", "starts_at", "ends_at",
                                                 "place", "online_link", "chair", "secretary")}
        data["wants_invitation"] = request.POST.get("wants_invitation") == "on"
        try:
            meeting = schedule_meeting(
                request.user, unit=unit, data=data,
                participant_ids=request.POST.getlist("participants"),
                guests=(request.POST.get("guests") or "").splitlines())
        except WorkflowError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The meeting is scheduled. Now build its agenda."))
            return redirect("meetings:detail", meeting.pk)
    return render(request, "meetings/form.html", {
        "units": units, "unit": unit, "kinds": Kind.choices, "people": _people_choices(unit),
        "form": request.POST if request.method == "POST" else {"secretary": str(request.user.pk)},
    })


@login_required
@require_GET
def meeting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        meeting = get_meeting(request.user, pk)
    except NotFound as exc:
        return render(request, "meetings/not_found.html", {"message": exc.message}, status=404)
    user = request.user
    can = {a.value: access.can_meeting(user, a, meeting) for a in A}
    readable = {p.pk for p in readable_papers(user, meeting)}
    items = list(meeting.items.select_related("presenter").prefetch_related(
        "papers__document", "papers__restricted_to"))
    seats = list(meeting.participants.select_related("user", "delegated_to",
                                                     "delegation_requested")
                 .prefetch_related("deputies"))
    ready = readiness(meeting)
    return render(request, "meetings/detail.html", {
        "meeting": meeting, "can": can, "items": items, "seats": seats, "readable": readable,
        "ready": ready, "seat": access.meeting_seat(user, meeting),
        "people": _people_choices(meeting) if can["edit"] or can["record"] or can["attend"]
        else [],
        "roles": ParticipantRole.choices, "kinds": Kind.choices,
        "tasks": list(meeting.tasks.select_related("owner")),
        "attachable": _attachable_documents(user, meeting) if can["edit"] else [],
        "types": DocumentType.objects.filter(is_active=True),
        "history": _history(meeting) if can["edit"] or can["record"] or can["publish"] else [],
        "votes": [(v, vote_result(v)) for v in meeting.votes.all()]
        if meeting.state in (MeetingState.CLOSED, MeetingState.CONCLUDED) else [],
    })


def _attachable_documents(user, meeting: Meeting):
    return (access.visible_documents(user).exclude(state="withdrawn")
            .filter(Q(unit_id=meeting.unit_id) | Q(state__in=["issued", "archived"]))
            .select_related("document_type").order_by("-updated_at")[:100])


def _history(meeting: Meeting):
    from workflow.audit.services import history

    return list(history(meeting).order_by("-at", "-pk")[:30])


# One POST endpoint per page action; each maps the form to one service call.
def _op_update(request, pk):
    data = {k: request.POST.get(k) for k in ("title", "kind", "starts_at", "ends_at", "place",
                                             "online_link", "chair", "secretary")
            if k in request.POST}
    if "wants_invitation_present" in request.POST:
        data["wants_invitation"] = request.POST.get("wants_invitation") == "on"
    update_meeting(request.user, pk, data=data)
    return _("Saved.")


def _op_add_participant(request, pk):
    person = request.POST.get("person") or None
    username = (request.POST.get("username") or "").strip()
    if username and not person:
        found = User.objects.filter(username=username, is_active=True).first()
        if found is None:
            raise InvalidInput(_("There is no user named “%(name)s”.") % {"name": username})
        person = found.pk
    add_participant(request.user, pk, person=person,
                    guest_name=request.POST.get("guest_name", ""),
                    role=request.POST.get("role") or ParticipantRole.DELEGATE)
    return _("Participant added.")


def _op_remove_participant(request, pk):
    remove_participant(request.user, request.POST.get("participant"))
    return _("Participant removed.")


def _op_add_item(request, pk):
    add_agenda_item(request.user, pk, data={
        k: request.POST.get(k) for k in ("title", "presenter", "presenter_name", "starts_at",
                                         "ends_at")})
    return _("Agenda item added.")


def _op_remove_item(request, pk):
    remove_agenda_item(request.user, request.POST.get("item"))
    return _("Agenda item removed.")


def _op_move_item(request, pk):
    move_agenda_item(request.user, request.POST.get("item"),
                     up=request.POST.get("direction") == "up")
    return ""


def _op_attach(request, pk):
    attach_paper(request.user, request.POST.get("item"),
                 document=request.POST.get("document"),
                 restricted_to=request.POST.getlist("restricted_to"))
    return _("Paper attached.")


def _op_draft_paper(request, pk):
    dtype = DocumentType.objects.filter(pk=request.POST.get("document_type") or 0,
                                        is_active=True).first()
    paper = draft_paper(request.user, request.POST.get("item"),
                        subject=request.POST.get("subject", ""), document_type=dtype,
                        body=request.POST.get("body", ""),
                        upload=request.FILES.get("file"))
    return _("Paper drafted as document “%(subject)s”; it goes through approval.") % {
        "subject": paper.document.subject}


def _op_detach(request, pk):
    detach_paper(request.user, request.POST.get("paper"))
    return _("Paper detached.")


def _op_restrict(request, pk):
    restrict_paper(request.user, request.POST.get("paper"),
                   user_ids=request.POST.getlist("restricted_to"))
    return _("Saved.")


def _op_send(request, pk):
    send_papers_for_approval(request.user, pk)
    return _("The papers are sent for approval.")


def _op_publish(request, pk):
    publish_meeting(request.user, pk, expected_state=request.POST.get("expected_state"))
    return _("The meeting is published; participants are notified.")


def _op_start(request, pk):
    start_meeting(request.user, pk, expected_state=request.POST.get("expected_state"))
    return _("The meeting is in session.")


def _op_close(request, pk):
    close_meeting(request.user, pk, paperless=request.POST.get("paperless") == "yes",
                  reason=request.POST.get("reason", ""),
                  expected_state=request.POST.get("expected_state"))
    return _("The meeting is closed.")


def _op_cancel(request, pk):
    cancel_meeting(request.user, pk, reason=request.POST.get("reason", ""))
    return _("The meeting is cancelled.")


def _op_postpone(request, pk):
    postpone_meeting(request.user, pk, reason=request.POST.get("reason", ""))
    return _("The meeting is postponed.")


def _op_reschedule(request, pk):
    reschedule_meeting(request.user, pk, starts_at=request.POST.get("starts_at"),
                       ends_at=request.POST.get("ends_at") or None)
    return _("The meeting is back in preparation with its new time.")


def _op_respond(request, pk):
    respond(request.user, pk, answer=request.POST.get("answer", ""),
            delegate_to=request.POST.get("delegate_to") or None)
    return _("Your answer is recorded.")


def _op_delegation(request, pk):
    approve = request.POST.get("approve") == "1"
    decide_delegation(request.user, pk, request.POST.get("participant"),
                      approve=approve)
    return _("Delegation confirmed.") if approve else _("Delegation refused.")


def _op_deputies(request, pk):
    names = [n.strip() for n in (request.POST.get("usernames") or "").split(",") if n.strip()]
    found = dict(User.objects.filter(username__in=names, is_active=True)
                 .values_list("username", "pk"))
    missing = [n for n in names if n not in found]
    if missing:
        raise InvalidInput(_("There is no user named “%(name)s”.") % {"name": missing[0]})
    set_deputies(request.user, request.POST.get("participant"),
                 user_ids=found.values())
    return _("Deputies saved.")


def _op_check_in(request, pk):
    check_in(request.user, pk, participant_id=request.POST.get("participant") or None)
    return _("Checked in.")


def _op_minutes(request, pk):
    draft_minutes(request.user, pk)
    return _("The minutes are drafted from the record; review them and submit.")


def _op_add_task(request, pk):
    add_task(request.user, pk, title=request.POST.get("title", ""),
             owner=request.POST.get("owner"), due_date=request.POST.get("due_date", ""))
    return _("Task added.")


def _op_conclusion(request, pk):
    draft_conclusion(request.user, pk, text=request.POST.get("text", ""))
    return _("The conclusion notice is drafted; review it and submit.")


def _op_conclude(request, pk):
    conclude_meeting(request.user, pk)
    return _("The meeting is concluded.")


OPS = {
    "update": _op_update, "add_participant": _op_add_participant,
    "remove_participant": _op_remove_participant, "add_item": _op_add_item,
    "remove_item": _op_remove_item, "move_item": _op_move_item, "attach": _op_attach,
    "draft_paper": _op_draft_paper, "detach": _op_detach, "restrict": _op_restrict,
    "send": _op_send, "publish": _op_publish, "start": _op_start, "close": _op_close,
    "cancel": _op_cancel, "postpone": _op_postpone, "reschedule": _op_reschedule,
    "respond": _op_respond, "check_in": _op_check_in, "minutes": _op_minutes,
    "add_task": _op_add_task, "conclusion": _op_conclusion, "conclude": _op_conclude,
    "delegation": _op_delegation, "deputies": _op_deputies,
}


@login_required
@require_POST
def meeting_op(request: HttpRequest, pk: int, op: str) -> HttpResponse:
    fallback = reverse("meetings:detail", args=[pk])
    handler = OPS.get(op)
    if handler is None:
        messages.error(request, _("Unknown action."))
        return redirect(fallback)
    try:
        text = handler(request, pk)
    except NotFound as exc:
        messages.error(request, exc.message)
        return redirect("meetings:list")
    except WorkflowError as exc:
        messages.error(request, exc.message)
    else:
        if text:
            messages.success(request, text)
    return _back(request, fallback)


@login_required
@require_http_methods(["GET", "POST"])
def tasks(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            set_task_state(request.user, request.POST.get("task"),
                           done=request.POST.get("done") == "1")
        except WorkflowError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Task updated."))
        return _back(request, reverse("meetings:tasks"))
    return render(request, "meetings/tasks.html", {
        "tasks": tasks_for(request.user).order_by("state", "due_date", "pk"),
        "today": timezone.localdate(),
    })


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    # Notices live in the one notification centre now.
    return redirect("notifications:list")


@login_required
@require_GET
def paperless_report(request: HttpRequest) -> HttpResponse:
    year_value = query.parse(request.GET, {"year": query.year_field()})["year"]
    rows = paperless.paperless_report(request.user, year=year_value)
    return render(request, "meetings/report.html", {
        "rows": rows, "summary": level_summary(rows), "year": year_value or "",
        "targets": paperless_targets(),
    })
