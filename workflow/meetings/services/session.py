"""The session: starting it, moving the current agenda item, the speakers' queue, and closing the
meeting (paperless or not). It may call :mod:`.common`; votes are :mod:`.votes`.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow.access import MeetingAction as A
from workflow.audit.services import record
from workflow.documents.errors import InvalidInput
from workflow.inputs import is_id

from ..models import (
    Meeting,
    SpeakRequest,
    SpeakState,
    VoteState,
)
from .common import _bump, _run_transition, get_meeting


def start_meeting(user, pk, *, expected_state: str | None = None) -> Meeting:
    with transaction.atomic():
        meeting = _run_transition(user, pk, "start", timezone.now(),
                                  expected_state=expected_state)
        if meeting.current_item_id is None:
            first = meeting.items.order_by("order", "pk").first()
            if first:
                meeting.current_item = first
                meeting.save(update_fields=["current_item"])
        return meeting


@transaction.atomic
def set_current_item(user, pk, item_id) -> Meeting:
    meeting = get_meeting(user, pk, action=A.RUN, lock=True)
    item = meeting.items.filter(pk=item_id).first() if is_id(item_id) else None
    if item is None:
        raise InvalidInput(_("This agenda item does not exist."))
    if meeting.current_item_id != item.pk:
        meeting.current_item = item
        meeting.save(update_fields=["current_item"])
        _bump(meeting)
        record(meeting, "meeting.current_item", actor=user, from_state=meeting.state,
               to_state=meeting.state, comment=item.title)
    return meeting


@transaction.atomic
def step_item(user, pk, *, forward: bool = True) -> Meeting:
    meeting = get_meeting(user, pk, action=A.RUN)
    ids = list(meeting.items.order_by("order", "pk").values_list("pk", flat=True))
    if not ids:
        raise InvalidInput(_("The agenda is empty."))
    if meeting.current_item_id in ids:
        index = ids.index(meeting.current_item_id) + (1 if forward else -1)
    else:
        index = 0
    index = max(0, min(index, len(ids) - 1))
    return set_current_item(user, pk, ids[index])


@transaction.atomic
def request_to_speak(user, pk) -> SpeakRequest:
    meeting = get_meeting(user, pk, action=A.SPEAK, lock=True)
    existing = SpeakRequest.objects.filter(
        meeting=meeting, user=user, state__in=[SpeakState.WAITING, SpeakState.SPEAKING]).first()
    if existing:
        return existing
    req = SpeakRequest.objects.create(meeting=meeting, user=user, item=meeting.current_item)
    _bump(meeting)
    record(meeting, "meeting.speak.request", actor=user, from_state=meeting.state,
           to_state=meeting.state)
    return req


@transaction.atomic
def withdraw_speak_request(user, pk) -> None:
    meeting = get_meeting(user, pk, lock=True)
    changed = SpeakRequest.objects.filter(meeting=meeting, user=user,
                                          state=SpeakState.WAITING).update(
        state=SpeakState.WITHDRAWN)
    if changed:
        _bump(meeting)
        record(meeting, "meeting.speak.withdraw", actor=user, from_state=meeting.state,
               to_state=meeting.state)


@transaction.atomic
def next_speaker(user, pk) -> SpeakRequest | None:
    """Finish the current speaker and give the floor to the first one waiting."""
    meeting = get_meeting(user, pk, action=A.RUN, lock=True)
    SpeakRequest.objects.filter(meeting=meeting, state=SpeakState.SPEAKING).update(
        state=SpeakState.DONE)
    nxt = SpeakRequest.objects.filter(meeting=meeting, state=SpeakState.WAITING).order_by(
        "requested_at", "pk").first()
    if nxt:
        nxt.state = SpeakState.SPEAKING
        nxt.started_at = timezone.now()
        nxt.save(update_fields=["state", "started_at"])
    _bump(meeting)
    record(meeting, "meeting.speak.next", actor=user, from_state=meeting.state,
           to_state=meeting.state, comment=str(nxt.user) if nxt else "")
    return nxt


def close_meeting(user, pk, *, paperless: bool, reason: str = "",
                  expected_state: str | None = None) -> Meeting:
    reason = (reason or "").strip()
    if not paperless and not reason:
        raise InvalidInput(_("Say why paper was used."))
    with transaction.atomic():
        meeting = get_meeting(user, pk, lock=True)
        if meeting.votes.filter(state=VoteState.OPEN).exists():
            raise InvalidInput(_("Close the open vote first."))
        meeting = _run_transition(user, pk, "close", at=timezone.now(),
                                  paperless=bool(paperless), reason=reason,
                                  expected_state=expected_state,
                                  comment="" if paperless else reason)
        SpeakRequest.objects.filter(meeting=meeting, state__in=[
            SpeakState.WAITING, SpeakState.SPEAKING]).update(state=SpeakState.DONE)
        return meeting
