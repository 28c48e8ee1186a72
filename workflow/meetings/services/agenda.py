"""The agenda: adding, editing, removing and reordering items while the meeting is prepared. It
may call :mod:`.common`; the papers of an item are :mod:`.papers`.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from workflow.access import MeetingAction as A
from workflow.audit.services import record
from workflow.documents.errors import InvalidInput, NotFound
from workflow.inputs import is_id

from ..models import (
    AgendaItem,
    Meeting,
)
from .common import _bump, _parse_time, _user, get_meeting


def _clean_item(data: dict) -> dict:
    cleaned: dict = {}
    if "title" in data:
        title = (data.get("title") or "").strip()
        if not title:
            raise InvalidInput(_("The agenda item needs a title."))
        cleaned["title"] = title[:500]
    if "presenter" in data:
        cleaned["presenter"] = _user(data.get("presenter"))
        if data.get("presenter") not in (None, "") and cleaned["presenter"] is None:
            raise InvalidInput(_("This person does not exist."))
    if "presenter_name" in data:
        cleaned["presenter_name"] = (data.get("presenter_name") or "").strip()[:200]
    for name in ("starts_at", "ends_at"):
        if name in data:
            cleaned[name] = _parse_time(data.get(name), _("Give the time as HH:MM."))
    if cleaned.get("starts_at") and cleaned.get("ends_at") and (
            cleaned["ends_at"] <= cleaned["starts_at"]):
        raise InvalidInput(_("An agenda item must end after it starts."))
    return cleaned


@transaction.atomic
def add_agenda_item(user, pk, *, data: dict) -> AgendaItem:
    meeting = get_meeting(user, pk, action=A.EDIT, lock=True)
    cleaned = _clean_item({"title": data.get("title"), **data})
    last = meeting.items.order_by("-order").values_list("order", flat=True).first() or 0
    item = AgendaItem.objects.create(meeting=meeting, order=last + 1, **cleaned)
    _bump(meeting)
    record(meeting, "meeting.agenda.add", actor=user, from_state=meeting.state,
           to_state=meeting.state, comment=item.title)
    return item


def _item_for(user, item_id, action: str = A.EDIT) -> tuple[AgendaItem, Meeting]:
    item = AgendaItem.objects.filter(pk=item_id).first() if is_id(item_id) else None
    if item is None:
        raise NotFound(_("This agenda item does not exist."))
    meeting = get_meeting(user, item.meeting_id, action=action, lock=True)
    return item, meeting


@transaction.atomic
def update_agenda_item(user, item_id, *, data: dict) -> AgendaItem:
    item, meeting = _item_for(user, item_id)
    for name, value in _clean_item(data).items():
        setattr(item, name, value)
    item.save()
    _bump(meeting)
    record(meeting, "meeting.agenda.edit", actor=user, from_state=meeting.state,
           to_state=meeting.state, comment=item.title)
    return item


@transaction.atomic
def remove_agenda_item(user, item_id) -> None:
    item, meeting = _item_for(user, item_id)
    if item.papers.exists():
        raise InvalidInput(_("Detach the papers of this item first."))
    if meeting.current_item_id == item.pk:
        meeting.current_item = None
        meeting.save(update_fields=["current_item"])
    item.delete()
    _bump(meeting)
    record(meeting, "meeting.agenda.remove", actor=user, from_state=meeting.state,
           to_state=meeting.state, comment=item.title)


@transaction.atomic
def move_agenda_item(user, item_id, *, up: bool) -> None:
    item, meeting = _item_for(user, item_id)
    items = list(meeting.items.order_by("order", "pk"))
    index = next(i for i, it in enumerate(items) if it.pk == item.pk)
    other = index - 1 if up else index + 1
    if 0 <= other < len(items):
        items[index], items[other] = items[other], items[index]
    for position, it in enumerate(items, start=1):
        if it.order != position:
            it.order = position
            it.save(update_fields=["order"])
    _bump(meeting)
    record(meeting, "meeting.agenda.reorder", actor=user, from_state=meeting.state,
           to_state=meeting.state)
