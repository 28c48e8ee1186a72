"""Browser views for meetings: thin wrappers around :mod:`workflow.meetings.services`."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)

from workflow import access, query
from workflow.access import MeetingAction as A
from workflow.audit import access_log
from workflow.documents.errors import InvalidInput, NotFound, WorkflowError
from workflow.documents.models import DocumentType
from workflow.notifications.services import unread_count
from workflow.ops.files import serve_file
from workflow.organisation.models import Membership, User
from workflow.viewer import viewer_strings

from . import services
from .models import (
    Kind,
    Meeting,
    MeetingState,
    ParticipantRole,
    TaskState,
)

# --- helpers ---------------------------------------------------------------------------------


def _json_error(exc: WorkflowError) -> JsonResponse:
    return JsonResponse({"error": exc.code, "message": str(exc.message)}, status=exc.status)


def json_view(func: Callable) -> Callable:
    """Turn domain errors and malformed bodies into JSON with a readable message."""

    @wraps(func)
    def wrapper(request, *args, **kwargs):
        try:
            return func(request, *args, **kwargs)
        except WorkflowError as exc:
            return _json_error(exc)

    return wrapper


def _body(request: HttpRequest) -> dict:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput(_("The request could not be read.")) from None
        if not isinstance(data, dict):
            raise InvalidInput(_("The request could not be read."))
        return data
    return request.POST.dict()


def _people_choices(meeting_or_unit) -> list[User]:
    unit_id = getattr(meeting_or_unit, "unit_id", None) or meeting_or_unit.pk
    ids = Membership.objects.filter(unit_id=unit_id, is_active=True).values("user_id")
    return list(User.objects.filter(pk__in=ids, is_active=True).order_by("full_name",
                                                                         "username"))


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next") or fallback
    if not target.startswith("/") or target.startswith("//"):
        target = fallback
    return redirect(target)


# --- list, create, detail --------------------------------------------------------------------


@login_required
@require_GET
def meeting_list(request: HttpRequest) -> HttpResponse:
    params = query.parse(request.GET, {"q": query.text_field(200), "state": query.text_field(30)})
    q = (params["q"] or "").strip()
    state = params["state"] or ""
    qs = services.visible_meetings_for(request.user, q=q, state=state)
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    return render(request, "meetings/list.html", {
        "page": page, "q": q, "state": state, "states": MeetingState.choices,
        "can_schedule": access.scheduling_units(request.user).exists(),
        "unread": unread_count(request.user),
        "open_tasks": services.tasks_for(request.user).filter(state=TaskState.OPEN).count(),
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
            meeting = services.schedule_meeting(
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
        meeting = services.get_meeting(request.user, pk)
    except NotFound as exc:
        return render(request, "meetings/not_found.html", {"message": exc.message}, status=404)
    user = request.user
    can = {a.value: access.can_meeting(user, a, meeting) for a in A}
    readable = {p.pk for p in services.readable_papers(user, meeting)}
    items = list(meeting.items.select_related("presenter").prefetch_related(
        "papers__document", "papers__restricted_to"))
    seats = list(meeting.participants.select_related("user", "delegated_to",
                                                     "delegation_requested")
                 .prefetch_related("deputies"))
    ready = services.readiness(meeting)
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
        "votes": [(v, services.vote_result(v)) for v in meeting.votes.all()]
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
    services.update_meeting(request.user, pk, data=data)
    return _("Saved.")


def _op_add_participant(request, pk):
    person = request.POST.get("person") or None
    username = (request.POST.get("username") or "").strip()
    if username and not person:
        found = User.objects.filter(username=username, is_active=True).first()
        if found is None:
            raise InvalidInput(_("There is no user named “%(name)s”.") % {"name": username})
        person = found.pk
    services.add_participant(request.user, pk, person=person,
                             guest_name=request.POST.get("guest_name", ""),
                             role=request.POST.get("role") or ParticipantRole.DELEGATE)
    return _("Participant added.")


def _op_remove_participant(request, pk):
    services.remove_participant(request.user, request.POST.get("participant"))
    return _("Participant removed.")


def _op_add_item(request, pk):
    services.add_agenda_item(request.user, pk, data={
        k: request.POST.get(k) for k in ("title", "presenter", "presenter_name", "starts_at",
                                         "ends_at")})
    return _("Agenda item added.")


def _op_remove_item(request, pk):
    services.remove_agenda_item(request.user, request.POST.get("item"))
    return _("Agenda item removed.")


def _op_move_item(request, pk):
    services.move_agenda_item(request.user, request.POST.get("item"),
                              up=request.POST.get("direction") == "up")
    return ""


def _op_attach(request, pk):
    services.attach_paper(request.user, request.POST.get("item"),
                          document=request.POST.get("document"),
                          restricted_to=request.POST.getlist("restricted_to"))
    return _("Paper attached.")


def _op_draft_paper(request, pk):
    dtype = DocumentType.objects.filter(pk=request.POST.get("document_type") or 0,
                                        is_active=True).first()
    paper = services.draft_paper(request.user, request.POST.get("item"),
                                 subject=request.POST.get("subject", ""), document_type=dtype,
                                 body=request.POST.get("body", ""),
                                 upload=request.FILES.get("file"))
    return _("Paper drafted as document “%(subject)s”; it goes through approval.") % {
        "subject": paper.document.subject}


def _op_detach(request, pk):
    services.detach_paper(request.user, request.POST.get("paper"))
    return _("Paper detached.")


def _op_restrict(request, pk):
    services.restrict_paper(request.user, request.POST.get("paper"),
                            user_ids=request.POST.getlist("restricted_to"))
    return _("Saved.")


def _op_send(request, pk):
    services.send_papers_for_approval(request.user, pk)
    return _("The papers are sent for approval.")


def _op_publish(request, pk):
    services.publish_meeting(request.user, pk, expected_state=request.POST.get("expected_state"))
    return _("The meeting is published; participants are notified.")


def _op_start(request, pk):
    services.start_meeting(request.user, pk, expected_state=request.POST.get("expected_state"))
    return _("The meeting is in session.")


def _op_close(request, pk):
    services.close_meeting(request.user, pk, paperless=request.POST.get("paperless") == "yes",
                           reason=request.POST.get("reason", ""),
                           expected_state=request.POST.get("expected_state"))
    return _("The meeting is closed.")


def _op_cancel(request, pk):
    services.cancel_meeting(request.user, pk, reason=request.POST.get("reason", ""))
    return _("The meeting is cancelled.")


def _op_postpone(request, pk):
    services.postpone_meeting(request.user, pk, reason=request.POST.get("reason", ""))
    return _("The meeting is postponed.")


def _op_reschedule(request, pk):
    services.reschedule_meeting(request.user, pk, starts_at=request.POST.get("starts_at"),
                                ends_at=request.POST.get("ends_at") or None)
    return _("The meeting is back in preparation with its new time.")


def _op_respond(request, pk):
    services.respond(request.user, pk, answer=request.POST.get("answer", ""),
                     delegate_to=request.POST.get("delegate_to") or None)
    return _("Your answer is recorded.")


def _op_delegation(request, pk):
    approve = request.POST.get("approve") == "1"
    services.decide_delegation(request.user, pk, request.POST.get("participant"),
                               approve=approve)
    return _("Delegation confirmed.") if approve else _("Delegation refused.")


def _op_deputies(request, pk):
    names = [n.strip() for n in (request.POST.get("usernames") or "").split(",") if n.strip()]
    found = dict(User.objects.filter(username__in=names, is_active=True)
                 .values_list("username", "pk"))
    missing = [n for n in names if n not in found]
    if missing:
        raise InvalidInput(_("There is no user named “%(name)s”.") % {"name": missing[0]})
    services.set_deputies(request.user, request.POST.get("participant"),
                          user_ids=found.values())
    return _("Deputies saved.")


def _op_check_in(request, pk):
    services.check_in(request.user, pk, participant_id=request.POST.get("participant") or None)
    return _("Checked in.")


def _op_minutes(request, pk):
    services.draft_minutes(request.user, pk)
    return _("The minutes are drafted from the record; review them and submit.")


def _op_add_task(request, pk):
    services.add_task(request.user, pk, title=request.POST.get("title", ""),
                      owner=request.POST.get("owner"), due_date=request.POST.get("due_date", ""))
    return _("Task added.")


def _op_conclusion(request, pk):
    services.draft_conclusion(request.user, pk, text=request.POST.get("text", ""))
    return _("The conclusion notice is drafted; review it and submit.")


def _op_conclude(request, pk):
    services.conclude_meeting(request.user, pk)
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


# --- the meeting room ------------------------------------------------------------------------


@login_required
@require_GET
def room(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        loaded, seen = services.load_room(request.user, pk)
        # The quick decision of load_room is enough to view; anything else asks access.
        meeting = loaded if seen else services.get_meeting(request.user, pk, loaded=loaded)
    except NotFound as exc:
        return render(request, "meetings/not_found.html", {"message": exc.message}, status=404)
    state = services.room_state(request.user, meeting, request.session.session_key)
    return render(request, "meetings/room.html", {
        "meeting": meeting, "state": state, "state_json": state,
        # The chair opens the session from the room itself ("Khai mạc").
        "can_start": access.can_meeting(request.user, A.START, meeting),
        "not_started": meeting.state == MeetingState.PUBLISHED,
        "poll_ms": 1000,
        "search_url": "/search/",
        "i18n": _room_strings(),
    })


def _room_strings() -> dict:
    """Every text the room's script shows, translated on the server."""
    return {
        **viewer_strings(),
        "live": _("Live"),
        "reconnecting": _("Connection lost, reconnecting…"),
        "current": _("Now"),
        "make_current": _("Make current"),
        "no_papers": _("No paper for this item."),
        "open_full": _("Open full screen"),
        "download": _("Download"),
        "render_failed": _("This paper could not be displayed here. Use the download link."),
        "no_pdf_viewer": _("Your browser cannot show PDF files inside the page."),
        "not_pdf": _("This file cannot be shown in the browser; download it to read it."),
        "checked_in": _("%(n)s of %(total)s checked in"),
        "yes": _("In favour"),
        "no": _("Against"),
        "abstain": _("Abstain"),
        "you_voted": _("You voted"),
        "voted": _("Your ballot is counted."),
        "close_vote": _("Close the vote"),
        "secret": _("secret ballot"),
        "named": _("named vote"),
        "ballots": _("ballots"),
        "result": _("Result"),
        "open_vote": _("Voting is open"),
        "saving": _("Saving…"),
        "saved": _("Saved at"),
        "save_failed": _("The note could not be saved; it will be retried."),
        "speaking": _("speaking"),
        "waiting": _("waiting"),
        "you": _("(you)"),
        "no_speakers": _("Nobody has asked to speak."),
        "no_votes": _("No vote yet."),
        "changed": _("changed after publication"),
        "pages": _("pages"),
        "error": _("The action failed."),
        "your_attendance": _("You:"),
        "vote_alert": _("A vote is open: %(question)s"),
        "go_to_vote": _("Vote now"),
    }


def _not_modified(token: str) -> HttpResponse:
    response = HttpResponseNotModified()
    response["ETag"] = f'W/"{token}"'
    patch_cache_control(response, private=True, no_cache=True)
    return response


def _poll_token(request: HttpRequest) -> str:
    token = request.GET.get("v") or ""
    if not token:
        match = request.headers.get("If-None-Match", "")
        token = match.removeprefix("W/").strip('"')
    return token


@require_GET
def room_state(request: HttpRequest, pk: int) -> HttpResponse:
    """The poll: 304 while the room version is unchanged, else the full state for this person.

    "Unchanged" is answered from the session and the cached room version alone, when
    the poll carries the token of the person's last state (``services.room_poll_token``):
    no user, seat or meeting query for the 150 polls a second of a full room. A
    delegate who reconnects has an old version, so gets everything at once.
    """
    token = _poll_token(request)
    if token and services.room_token_current(pk, token, request.session.get(SESSION_KEY),
                                             request.session.session_key):
        return _not_modified(token)
    return _room_state_checked(request, pk, token)


@login_required
@json_view
def _room_state_checked(request: HttpRequest, pk: int, token: str) -> HttpResponse:
    loaded, seen = services.load_room(request.user, pk)
    session_key = request.session.session_key
    if seen and token and services.room_token_current(
            pk, token, request.user.pk, session_key, version=loaded.room_version):
        # Still the person's token for this version, access and period: keep it.
        return _not_modified(token)
    # The quick decision of load_room is enough to view; anything else asks access.
    meeting = loaded if seen else services.get_meeting(request.user, pk, loaded=loaded)
    state = services.room_state(request.user, meeting, session_key)
    response = JsonResponse(state)
    response["ETag"] = f'W/"{state["v"]}"'
    patch_cache_control(response, private=True, no_cache=True)
    return response


def _room_op(request, pk, op: str, data: dict):
    user = request.user
    match op:
        case "check_in":
            services.check_in(user, pk)
        case "speak":
            services.request_to_speak(user, pk)
        case "withdraw_speak":
            services.withdraw_speak_request(user, pk)
        case "next_speaker":
            services.next_speaker(user, pk)
        case "set_item":
            services.set_current_item(user, pk, data.get("item"))
        case "next_item":
            services.step_item(user, pk, forward=True)
        case "previous_item":
            services.step_item(user, pk, forward=False)
        case "open_vote":
            services.open_vote(user, pk, question=data.get("question", ""),
                               secret=data.get("secret") in (True, "true", "on", "1"))
        case "close_vote":
            _vote_of(pk, data)
            services.close_vote(user, data.get("vote"))
        case "ballot":
            _vote_of(pk, data)
            services.cast_ballot(user, data.get("vote"), str(data.get("choice", "")))
        case _:
            raise InvalidInput(_("Unknown action."))


def _vote_of(pk: int, data: dict) -> None:
    """The vote must belong to the meeting of the URL."""
    from .models import Vote

    raw = str(data.get("vote", "")).strip()
    if not raw.isdigit() or not Vote.objects.filter(pk=raw, meeting_id=pk).exists():
        raise NotFound(_("This vote does not exist."))


@login_required
@require_POST
@json_view
def room_op(request: HttpRequest, pk: int, op: str) -> HttpResponse:
    _room_op(request, pk, op, _body(request))
    meeting = services.get_meeting(request.user, pk)
    return JsonResponse(services.room_state(request.user, meeting, request.session.session_key))


# --- papers ----------------------------------------------------------------------------------


@require_safe
def paper_file(request: HttpRequest, paper_id: int) -> HttpResponse:
    """Stream a paper's file to someone who may read it: inline for the viewer, or download.

    A link from the room state carries a token that already says so for this session
    (``services.paper_link_version``); it is served without touching the session or
    the user, which is what keeps 150 delegates opening one paper at once fast.
    Anything else goes through the full check.
    """
    token = request.GET.get("t")
    if token and "version" not in request.GET:
        version = services.paper_link_version(token, paper_id, request.session.session_key)
        if version is not None:
            # The token names the reader (under its MAC): logged with no session query.
            access_log.record_paper_read(
                version.link_reader_id, version.link_document_id, name=version.original_name,
                paper_id=paper_id, download=request.GET.get("download") == "1")
            return _file_response(request, version)
    return _paper_file_checked(request, paper_id)


@login_required
def _paper_file_checked(request: HttpRequest, paper_id: int) -> HttpResponse:
    try:
        paper = services.get_paper(request.user, paper_id)
    except NotFound as exc:
        return HttpResponse(exc.message, status=404, content_type="text/plain; charset=utf-8")
    version = services.paper_file_version(paper, request.GET.get("version"))
    if version is None:
        return HttpResponse(_("This paper has no file."), status=404,
                            content_type="text/plain; charset=utf-8")
    access_log.record_paper_read(request.user.pk, version.file.document_id,
                                 name=version.original_name, paper_id=paper.pk,
                                 download=request.GET.get("download") == "1")
    return _file_response(request, version)


def _file_response(request: HttpRequest, version) -> HttpResponse:
    download = request.GET.get("download") == "1" or version.content_type != "application/pdf"
    try:
        response = serve_file(version.blob, content_type=version.content_type,
                              as_attachment=download, filename=version.original_name)
    except OSError:
        return HttpResponse(_("The file could not be read from storage."), status=503,
                            content_type="text/plain; charset=utf-8")
    response["ETag"] = f'"{version.sha256}"'
    patch_cache_control(response, private=True, max_age=300)
    return response


@login_required
@require_GET
def paper_body(request: HttpRequest, paper_id: int) -> HttpResponse:
    """A paper drafted as text (no file): its body, to show in the viewer frame."""
    try:
        paper = services.get_paper(request.user, paper_id)
    except NotFound as exc:
        return render(request, "meetings/not_found.html", {"message": exc.message}, status=404)
    return render(request, "meetings/paper_body.html", {
        "paper": paper, "document": paper.document, "versions": services.paper_versions(paper)})


@login_required
@require_http_methods(["GET", "POST"])
@json_view
def paper_note(request: HttpRequest, paper_id: int) -> HttpResponse:
    if request.method == "POST":
        note = services.save_note(request.user, paper_id, text=str(_body(request).get("text",
                                                                                      "")))
        return JsonResponse({"saved": True,
                             "at": timezone.localtime(note.updated_at).strftime("%H:%M:%S")})
    return JsonResponse({"text": services.get_note(request.user, paper_id)})


# --- tasks, notices, report ------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def tasks(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            services.set_task_state(request.user, request.POST.get("task"),
                                    done=request.POST.get("done") == "1")
        except WorkflowError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Task updated."))
        return _back(request, reverse("meetings:tasks"))
    return render(request, "meetings/tasks.html", {
        "tasks": services.tasks_for(request.user).order_by("state", "due_date", "pk"),
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
    rows = services.paperless_report(request.user, year=year_value)
    return render(request, "meetings/report.html", {
        "rows": rows, "summary": services.level_summary(rows), "year": year_value or "",
        "targets": services.paperless_targets(),
    })

