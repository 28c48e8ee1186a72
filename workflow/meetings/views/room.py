"""The meeting room: the page, its poll (``room_state``: a 304 from the session and the cached
room version alone while nothing changed, else the person's state) and its actions (check in,
speakers, the current item, votes and ballots), each answered with the new state. It may call
the meetings services (room state, poll tokens, the actions) and :mod:`.common`; the poll's
layers are explained in docs/architecture.md.
"""

from __future__ import annotations

from django.contrib.auth import SESSION_KEY
from django.contrib.auth.decorators import login_required
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
    JsonResponse,
)
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import (
    require_GET,
    require_POST,
)

from workflow import access
from workflow.access import MeetingAction as A
from workflow.documents.errors import InvalidInput, NotFound
from workflow.viewer import viewer_strings

from ..models import (
    MeetingState,
)
from ..services import room as meeting_room
from ..services.attendance import check_in
from ..services.common import get_meeting
from ..services.poll import room_token_current
from ..services.room import load_room
from ..services.session import (
    next_speaker,
    request_to_speak,
    set_current_item,
    step_item,
    withdraw_speak_request,
)
from ..services.votes import cast_ballot, close_vote, open_vote
from .common import _body, json_view


@login_required
@require_GET
def room(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        loaded, seen = load_room(request.user, pk)
        # The quick decision of load_room is enough to view; anything else asks access.
        meeting = loaded if seen else get_meeting(request.user, pk, loaded=loaded)
    except NotFound as exc:
        return render(request, "meetings/not_found.html", {"message": exc.message}, status=404)
    state = meeting_room.room_state(request.user, meeting, request.session.session_key)
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
    the poll carries the token of the person's last state (``services.poll.room_poll_token``):
    no user, seat or meeting query for the 150 polls a second of a full room. A
    delegate who reconnects has an old version, so gets everything at once.
    """
    token = _poll_token(request)
    if token and room_token_current(pk, token, request.session.get(SESSION_KEY),
                                    request.session.session_key):
        return _not_modified(token)
    return _room_state_checked(request, pk, token)


@login_required
@json_view
def _room_state_checked(request: HttpRequest, pk: int, token: str) -> HttpResponse:
    loaded, seen = load_room(request.user, pk)
    session_key = request.session.session_key
    if seen and token and room_token_current(
            pk, token, request.user.pk, session_key, version=loaded.room_version):
        # Still the person's token for this version, access and period: keep it.
        return _not_modified(token)
    # The quick decision of load_room is enough to view; anything else asks access.
    meeting = loaded if seen else get_meeting(request.user, pk, loaded=loaded)
    state = meeting_room.room_state(request.user, meeting, session_key)
    response = JsonResponse(state)
    response["ETag"] = f'W/"{state["v"]}"'
    patch_cache_control(response, private=True, no_cache=True)
    return response


def _room_op(request, pk, op: str, data: dict):
    user = request.user
    match op:
        case "check_in":
            check_in(user, pk)
        case "speak":
            request_to_speak(user, pk)
        case "withdraw_speak":
            withdraw_speak_request(user, pk)
        case "next_speaker":
            next_speaker(user, pk)
        case "set_item":
            set_current_item(user, pk, data.get("item"))
        case "next_item":
            step_item(user, pk, forward=True)
        case "previous_item":
            step_item(user, pk, forward=False)
        case "open_vote":
            open_vote(user, pk, question=data.get("question", ""),
                      secret=data.get("secret") in (True, "true", "on", "1"))
        case "close_vote":
            _vote_of(pk, data)
            close_vote(user, data.get("vote"))
        case "ballot":
            _vote_of(pk, data)
            cast_ballot(user, data.get("vote"), str(data.get("choice", "")))
        case _:
            raise InvalidInput(_("Unknown action."))


def _vote_of(pk: int, data: dict) -> None:
    """The vote must belong to the meeting of the URL."""
    from ..models import Vote

    raw = str(data.get("vote", "")).strip()
    if not raw.isdigit() or not Vote.objects.filter(pk=raw, meeting_id=pk).exists():
        raise NotFound(_("This vote does not exist."))


@login_required
@require_POST
@json_view
def room_op(request: HttpRequest, pk: int, op: str) -> HttpResponse:
    _room_op(request, pk, op, _body(request))
    meeting = get_meeting(request.user, pk)
    return JsonResponse(meeting_room.room_state(request.user, meeting, request.session.session_key))
