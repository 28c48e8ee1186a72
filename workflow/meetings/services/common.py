"""What every meetings service shares: loading a meeting the person may see (``get_meeting``, 404
otherwise) and the list of meetings they see, bumping the room version so open rooms refetch,
URLs, reading people, dates and times from forms, notices through the notification centre, the
one FSM transition runner (``_run_transition``: lock, ``expected_state``, permission, audit)
and who drafts a meeting's documents. It may call :mod:`workflow.access`, the audit log, the
documents app and :mod:`.poll` (to forget the cached room version); every other module of this
package builds on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime, parse_time
from django.utils.translation import gettext as _
from django_fsm import can_proceed, has_transition_perm

from workflow import access
from workflow.access import MeetingAction as A
from workflow.audit.services import record
from workflow.documents.errors import Conflict, InvalidInput, NotAllowed, NotFound
from workflow.documents.models import (
    DocumentType,
)
from workflow.organisation.models import User

from ..models import (
    Meeting,
    MeetingState,
)
from .poll import _room_changed

APPROVED_ONWARDS = access.APPROVED_ONWARDS


def _not_found() -> NotFound:
    return NotFound(_("The meeting does not exist or you cannot see it."))


def get_meeting(user, pk, *, action: str = A.VIEW, lock: bool = False,
                loaded: Meeting | None = None) -> Meeting:
    """Load a meeting the person may see (404 otherwise), optionally locked; check ``action``.

    ``loaded`` is the meeting already read (see :func:`load_room`): only the checks run.
    """
    if loaded is not None and not lock:
        meeting = loaded
    else:
        qs = Meeting.objects.select_related("unit", "unit__level", "chair", "secretary")
        if lock:
            qs = qs.select_for_update(of=("self",))
        try:
            meeting = qs.get(pk=pk)
        except (Meeting.DoesNotExist, ValueError, TypeError):
            raise _not_found() from None
    if not access.can_meeting(user, A.VIEW, meeting):
        raise _not_found()
    if action != A.VIEW and not access.can_meeting(user, action, meeting):
        raise NotAllowed(_("You cannot do this in this meeting now (it is “%(state)s”).")
                         % {"state": meeting.get_state_display()})
    return meeting


def _bump(meeting: Meeting) -> None:
    """Tell every open room that something changed (the meeting row is already locked)."""
    meeting.room_version = F("room_version") + 1
    meeting.save(update_fields=["room_version", "updated_at"])
    meeting.refresh_from_db(fields=["room_version"])
    _room_changed(meeting.pk)


def _bump_id(meeting_id: int) -> None:
    Meeting.objects.filter(pk=meeting_id).update(room_version=F("room_version") + 1)
    _room_changed(meeting_id)


def bump_room_version(meeting_id: int) -> None:
    """Make every open room refetch its state (benchmarks, repairs)."""
    with transaction.atomic():
        _bump_id(meeting_id)


def meeting_url(meeting: Meeting) -> str:
    return reverse("meetings:detail", args=[meeting.pk])


def room_url(meeting: Meeting) -> str:
    return reverse("meetings:room", args=[meeting.pk])


def _user(value) -> User | None:
    if value in (None, ""):
        return None
    if isinstance(value, User):
        return value
    try:
        return User.objects.filter(pk=int(value), is_active=True).first()
    except (TypeError, ValueError):
        return None


def _required_user(value, message: str) -> User:
    person = _user(value)
    if person is None:
        raise InvalidInput(message)
    return person


def notify(users: Iterable[User], text: str, url: str = "", *, email_subject: str = "",
           event: str = "meeting.notice", obj=None, kind: str = "meeting") -> int:
    """In-app notices through the notification centre; e-mail (after commit) only when
    ``email_subject`` is given, as each person's preferences allow."""
    from workflow.notifications.services import notify as notify_centre

    people = [u for u in users if u is not None]
    notify_centre(people, event, obj, text=text, url=url, kind=kind,
                  email=bool(email_subject), subject=email_subject)
    return len({u.pk for u in people})


def _participant_users(meeting: Meeting) -> list[User]:
    return [p.user for p in meeting.participants.select_related("user") if p.user_id]


def _parse_dt(value, message: str, *, required: bool = True):
    if value in (None, ""):
        if required:
            raise InvalidInput(message)
        return None
    if isinstance(value, dt.datetime):
        result = value
    else:
        try:
            result = parse_datetime(str(value).strip())
        except ValueError:
            result = None
        if result is None:
            raise InvalidInput(message)
    if timezone.is_naive(result):
        result = timezone.make_aware(result)
    return result


def _parse_time(value, message: str):
    if value in (None, ""):
        return None
    if isinstance(value, dt.time):
        return value
    try:
        result = parse_time(str(value).strip())
    except ValueError:
        result = None
    if result is None:
        raise InvalidInput(message)
    return result


def _run_transition(user, pk, name: str, *args, expected_state: str | None = None,
                    comment: str = "", **kwargs) -> Meeting:
    """Apply one state change of the meeting exactly once, permission-checked and audited."""
    with transaction.atomic():
        meeting = get_meeting(user, pk, lock=True)
        if expected_state and meeting.state != expected_state:
            raise Conflict(_("This meeting is already “%(state)s”; your action was not applied "
                             "again.") % {"state": meeting.get_state_display()})
        method = getattr(meeting, name)
        if not can_proceed(method, check_conditions=False):
            raise Conflict(_("This is not possible while the meeting is “%(state)s”.")
                           % {"state": meeting.get_state_display()})
        if not has_transition_perm(method, user):
            raise NotAllowed(_("You cannot do this in this meeting now (it is “%(state)s”).")
                             % {"state": meeting.get_state_display()})
        before = meeting.state
        method(*args, **kwargs)
        meeting.room_version += 1
        meeting.save()
        _room_changed(meeting.pk)
        record(meeting, f"meeting.{name}", actor=user, from_state=before, to_state=meeting.state,
               comment=comment)
        return meeting


def _document_type(abbreviation: str, code: str, name: str) -> DocumentType:
    found = DocumentType.objects.filter(abbreviation=abbreviation, is_active=True).first()
    if found:
        return found
    found, _created = DocumentType.objects.get_or_create(
        code=code, defaults={"name": name, "abbreviation": abbreviation})
    return found


def _drafter_for(meeting: Meeting, user) -> User | None:
    """Who drafts a generated document: the caller, else the secretary, if they may draft."""
    for person in (user, meeting.secretary):
        if access.can_create_in(person, meeting.unit):
            return person
    return None


def _fmt_when(meeting: Meeting) -> str:
    start = timezone.localtime(meeting.starts_at)
    text = start.strftime("%H:%M %d/%m/%Y")
    if meeting.ends_at:
        text += " – " + timezone.localtime(meeting.ends_at).strftime("%H:%M %d/%m/%Y")
    return text


def visible_meetings_for(user, *, q: str = "", state: str = ""):
    qs = access.visible_meetings(user).select_related("unit", "chair")
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(place__icontains=q))
    if state and state in MeetingState.values:
        qs = qs.filter(state=state)
    return qs
