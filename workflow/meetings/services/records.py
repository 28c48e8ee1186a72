"""The record and the follow-up: minutes drafted from the session (agenda, attendance, votes and
results) as a document, the conclusion (a notice document) and concluding the meeting, and
follow-up tasks with their owners and due dates. It may call :mod:`.common`, :mod:`.votes`
(results) and the documents services.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, format_html, format_html_join
from django.utils.translation import gettext as _

from workflow import access
from workflow.access import MeetingAction as A
from workflow.audit.services import record
from workflow.documents import services as documents
from workflow.documents.errors import InvalidInput, NotAllowed, NotFound
from workflow.documents.models import (
    Document,
)
from workflow.inputs import is_id
from workflow.organisation.models import User

from ..models import (
    Attendance,
    Choice,
    FollowUpTask,
    Meeting,
    SpeakRequest,
    SpeakState,
    TaskState,
)
from .common import (
    _document_type,
    _drafter_for,
    _fmt_when,
    _required_user,
    _run_transition,
    get_meeting,
    notify,
)
from .votes import vote_result


def _minutes_body(meeting: Meeting) -> str:
    seats = list(meeting.participants.select_related("user", "delegated_to"))
    present = [s for s in seats if s.attendance == Attendance.CHECKED_IN]
    absent = [s for s in seats if s.attendance != Attendance.CHECKED_IN]
    speakers = SpeakRequest.objects.filter(meeting=meeting, state__in=[
        SpeakState.SPEAKING, SpeakState.DONE]).select_related("user", "item").order_by(
        "started_at", "pk")
    votes = list(meeting.votes.select_related("item"))
    parts = [
        format_html("<p><strong>{}</strong>: {}</p>", _("Meeting"), meeting.title),
        format_html("<p><strong>{}</strong>: {}</p>", _("Time"), _fmt_when(meeting)),
        format_html("<p><strong>{}</strong>: {}</p>", _("Place"),
                    meeting.place or meeting.online_link),
        format_html("<p><strong>{}</strong>: {}. <strong>{}</strong>: {}</p>", _("Chair"),
                    meeting.chair, _("Secretary"), meeting.secretary),
        format_html("<h3>{}</h3><p>{}: {}/{}</p>", _("Attendance"), _("Present"),
                    len(present), len(seats)),
        format_html("<ul>{}</ul>", format_html_join(
            "", "<li>{} ({})</li>", ((s.name, s.get_role_display()) for s in present))),
    ]
    if absent:
        parts.append(format_html("<p>{}:</p><ul>{}</ul>", _("Absent"), format_html_join(
            "", "<li>{} — {}{}</li>",
            ((s.name, s.get_attendance_display(),
              f" → {s.delegated_to}" if s.delegated_to_id else "") for s in absent))))
    parts.append(format_html("<h3>{}</h3><ol>{}</ol>", _("Agenda"), format_html_join(
        "", "<li>{}{}</li>",
        ((i.title, f" ({i.presenter_label})" if i.presenter_label else "")
         for i in meeting.items.select_related("presenter")))))
    parts.append(format_html("<h3>{}</h3>", _("Speakers")))
    parts.append(format_html("<ol>{}</ol>", format_html_join(
        "", "<li>{}{}</li>",
        ((str(s.user), f" — {s.item.title}" if s.item_id else "") for s in speakers)))
        if speakers else format_html("<p>{}</p>", _("Nobody asked to speak.")))
    parts.append(format_html("<h3>{}</h3>", _("Votes")))
    if not votes:
        parts.append(format_html("<p>{}</p>", _("No vote was held.")))
    for vote in votes:
        result = vote_result(vote)
        parts.append(format_html(
            "<p>{} ({}): {} {}, {} {}, {} {} — {} {}/{}</p>", vote.question,
            _("secret ballot") if vote.secret else _("named vote"),
            _("In favour"), result["yes"], _("Against"), result["no"],
            _("Abstain"), result["abstain"],
            _("ballots cast"), result["cast"], result["eligible"]))
        if not vote.secret:
            parts.append(format_html("<ul>{}</ul>", format_html_join(
                "", "<li>{}: {}</li>",
                ((Choice(c).label, ", ".join(n)) for c, n in result["names"].items() if n))))
    parts.append(format_html("<p>{}</p>", _("The meeting was held without paper.")
                             if meeting.paperless else
                             _("Paper was used: %(reason)s") % {"reason": meeting.paper_reason}))
    return "".join(str(p) for p in parts)


def _record_drafter(meeting: Meeting, user) -> User:
    """The minutes are drafted by the caller, or in the secretary's name when the caller
    (a meeting-secretary role without drafting rights) cannot draft documents."""
    drafter = _drafter_for(meeting, user)
    if drafter is None:
        raise NotAllowed(_("Neither you nor the meeting's secretary may draft documents for "
                           "this unit."))
    return drafter


def draft_minutes(user, pk) -> Document:
    """Draft the minutes (biên bản) from the record; they then enter the outgoing flow."""
    with transaction.atomic():
        meeting = get_meeting(user, pk, action=A.RECORD, lock=True)
        if meeting.minutes_id:
            raise InvalidInput(_("The minutes are already drafted."))
        document = documents.create_document(
            _record_drafter(meeting, user), unit=meeting.unit,
            data={"subject": _("Minutes: %(title)s") % {"title": meeting.title},
                  "document_type": _document_type("BB", "bien-ban", "Biên bản"),
                  "body": _minutes_body(meeting)})
        meeting.minutes = document
        meeting.save(update_fields=["minutes"])
        record(meeting, "meeting.minutes", actor=user, from_state=meeting.state,
               to_state=meeting.state, comment=str(document.pk))
        return document


@transaction.atomic
def add_task(user, pk, *, title: str, owner, due_date=None) -> FollowUpTask:
    meeting = get_meeting(user, pk, action=A.RECORD, lock=True)
    title = (title or "").strip()
    if not title:
        raise InvalidInput(_("Describe the task."))
    person = _required_user(owner, _("Choose who owns the task."))
    if isinstance(due_date, str):
        try:
            due_date = dt.date.fromisoformat(due_date) if due_date.strip() else None
        except ValueError:
            raise InvalidInput(_("The due date is not a valid date.")) from None
    task = FollowUpTask.objects.create(meeting=meeting, title=title[:500], owner=person,
                                       due_date=due_date, created_by=user)
    record(task, "task.create", actor=user, to_state=task.state, comment=task.title)
    notify([person], _("New task from “%(title)s”: %(task)s") % {"title": meeting.title,
                                                                 "task": task.title},
           reverse("meetings:tasks"), email_subject=meeting.title,
           event="task.assigned", obj=task, kind="task")
    return task


@transaction.atomic
def set_task_state(user, task_id, *, done: bool) -> FollowUpTask:
    task = FollowUpTask.objects.select_for_update().select_related("meeting").filter(
        pk=task_id).first() if is_id(task_id) else None
    if task is None:
        raise NotFound(_("This task does not exist."))
    if task.owner_id != user.pk and not access.is_meeting_organiser(user, task.meeting):
        raise NotAllowed(_("Only the owner or the meeting's secretary can update this task."))
    before = task.state
    task.state = TaskState.DONE if done else TaskState.OPEN
    task.done_at = timezone.now() if done else None
    task.save(update_fields=["state", "done_at"])
    record(task, "task.done" if done else "task.reopen", actor=user, from_state=before,
           to_state=task.state)
    return task


def tasks_for(user):
    return FollowUpTask.objects.filter(owner=user).select_related("meeting")


def _conclusion_body(meeting: Meeting, text: str) -> str:
    tasks = list(meeting.tasks.select_related("owner"))
    parts = [format_html("<p>{}</p>", line) for line in text.splitlines() if line.strip()]
    if tasks:
        parts.append(format_html("<h3>{}</h3>", _("Follow-up tasks")))
        parts.append(format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody>"
            "</table>", _("Task"), _("Owner"), _("Due date"),
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                             ((t.title, str(t.owner),
                               t.due_date.strftime("%d/%m/%Y") if t.due_date else "")
                              for t in tasks))))
    return "".join(str(p) for p in parts)


def draft_conclusion(user, pk, *, text: str) -> Document:
    """Draft the conclusion notice (thông báo kết luận) with the follow-up tasks."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput(_("Write the conclusions."))
    with transaction.atomic():
        meeting = get_meeting(user, pk, action=A.RECORD, lock=True)
        if meeting.conclusion_id:
            raise InvalidInput(_("The conclusion notice is already drafted."))
        document = documents.create_document(
            _record_drafter(meeting, user), unit=meeting.unit,
            data={"subject": _("Conclusions of %(title)s") % {"title": meeting.title},
                  "document_type": _document_type("TB", "thong-bao", "Thông báo"),
                  "body": _conclusion_body(meeting, escape(text))})
        meeting.conclusion = document
        meeting.save(update_fields=["conclusion"])
        record(meeting, "meeting.conclusion", actor=user, from_state=meeting.state,
               to_state=meeting.state, comment=str(document.pk))
        return document


def conclude_meeting(user, pk) -> Meeting:
    with transaction.atomic():
        meeting = get_meeting(user, pk, lock=True)
        if not (meeting.minutes_id and meeting.conclusion_id):
            raise InvalidInput(_("Draft the minutes and the conclusion notice first."))
        return _run_transition(user, pk, "conclude")
