"""Which events tell whom: the document flow, comments, meetings, tasks and deadlines.

Who is told is decided by :mod:`workflow.access` (the person who may now act), so a
notice never points someone at a document they cannot open.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow import access
from workflow.access import Action

from .models import Kind
from .services import DeadlineItem, notify, remind_deadlines


def _unit_people(unit_ids):
    from workflow.organisation.models import User

    # Units merged into these count as part of them (access._merged_scope).
    return list(User.objects.filter(
        Q(memberships__unit_id__in=unit_ids) | Q(memberships__unit__merged_into_id__in=unit_ids),
        memberships__is_active=True, is_active=True).distinct())


def _who_may(document, action: str, people=None) -> list:
    people = people if people is not None else _unit_people([document.unit_id])
    access.prime_actors(people)
    return [p for p in people if access.can(p, action, document)]


def _recipient_readers(document, unit_ids) -> list:
    """Members of the recipient units who may read the issued document.

    The recipient clause of ``access.visible_documents_q`` as one query: a document
    issued to every commune reaches thousands of people, too many to ask ``access.can``
    one by one. Confidential ones only reach ``access.CONFIDENTIAL_READERS``.
    """
    from workflow.organisation.models import User

    seats = Q(memberships__unit_id__in=unit_ids) | Q(
        memberships__unit__merged_into_id__in=unit_ids)
    # One filter() call: the role must be held in the same membership as the unit.
    roles = ({"memberships__role__in": access.CONFIDENTIAL_READERS}
             if document.confidential else {})
    return list(User.objects.filter(seats, memberships__is_active=True, is_active=True,
                                    **roles).distinct())


def document_transition(document, action: str, actor, *, comment: str = "", entry=None) -> None:
    """After a flow action (inside its transaction): tell whoever it concerns now."""
    from workflow.documents.models import State

    url = reverse("documents:detail", args=[document.pk])
    key = f"document:{document.pk}:{entry.pk if entry is not None else action}"
    subject = document.subject[:80]
    values = {"subject": document.subject, "name": str(actor)}

    def tell(people, event, text, kind=Kind.DOCUMENT, exclude=actor):
        notify(people, event, document, text=text % values, url=url, kind=kind,
               key=f"{key}:{event}", subject=subject, exclude=exclude)

    state = document.state
    if state == State.SUBMITTED:
        tell(_who_may(document, Action.FORWARD), "document.submitted",
             _("%(name)s submitted “%(subject)s” for your review."))
    elif state == State.REVIEWED:
        tell(_who_may(document, Action.APPROVE), "document.awaiting_approval",
             _("“%(subject)s” is waiting for your approval."))
    elif state == State.APPROVED:
        # The approver is the signer: signing (often with a USB token, later) is still
        # their own next step, so they are told even though they just acted.
        tell(_who_may(document, Action.SIGN), "document.awaiting_signature",
             _("“%(subject)s” is waiting for your signature."), exclude=None)
    elif state == State.RETURNED:
        values["reason"] = comment or "—"
        tell([document.drafter], "document.returned",
             _("%(name)s returned “%(subject)s”: %(reason)s"))
    elif state == State.SIGNED:
        tell([document.drafter], "document.signed", _("“%(subject)s” was signed."))
        tell(_who_may(document, Action.ISSUE), "document.awaiting_issue",
             _("“%(subject)s” is signed and waiting to be numbered and issued."))
    elif state == State.ISSUED:
        values["symbol"] = document.symbol or ""
        tell([document.drafter], "document.issued",
             _("“%(subject)s” was issued as %(symbol)s."))
        units = list(document.recipients.values_list("unit_id", flat=True))
        if units:
            tell(_recipient_readers(document, units), "document.issued_to_unit",
                 _("A document was issued to your unit: %(symbol)s “%(subject)s”."))


def document_comment(document, comment, actor) -> None:
    notify([document.drafter], "document.comment", document,
           text=_("%(name)s commented on “%(subject)s”: %(text)s") % {
               "name": str(actor), "subject": document.subject, "text": comment.text[:200]},
           url=reverse("documents:detail", args=[document.pk]), kind=Kind.COMMENT,
           key=f"comment:{comment.pk}", subject=document.subject[:80], exclude=actor)


# --- deadlines (beat) -------------------------------------------------------------------------


def document_deadline_items(today: dt.date):
    """Documents in the flow with a due date near or past: the drafter and whoever holds it."""
    from workflow.documents.models import Document, State

    horizon = today + dt.timedelta(days=getattr(settings, "NOTIFICATIONS_REMIND_DAYS_BEFORE", 2))
    waiting = {State.SUBMITTED: Action.FORWARD, State.REVIEWED: Action.APPROVE,
               State.APPROVED: Action.SIGN, State.SIGNED: Action.ISSUE}
    docs = Document.objects.select_related("unit", "drafter").filter(
        due_date__isnull=False, due_date__lte=horizon,
        state__in=[State.DRAFT, State.RETURNED, *waiting])
    for doc in docs:
        people = [doc.drafter]
        if doc.state in waiting:
            people += _who_may(doc, waiting[doc.state])
        yield DeadlineItem(key=f"document:{doc.pk}", due=doc.due_date, title=doc.subject,
                           recipients=people, obj=doc,
                           url=reverse("documents:detail", args=[doc.pk]))


def task_deadline_items(today: dt.date):
    from workflow.meetings.models import FollowUpTask, TaskState

    horizon = today + dt.timedelta(days=getattr(settings, "NOTIFICATIONS_REMIND_DAYS_BEFORE", 2))
    for task in FollowUpTask.objects.select_related("owner").filter(
            state=TaskState.OPEN, due_date__isnull=False, due_date__lte=horizon):
        yield DeadlineItem(key=f"task:{task.pk}", due=task.due_date, title=task.title,
                           recipients=[task.owner], obj=task, kind=Kind.TASK,
                           url=reverse("meetings:tasks"))


def recommendation_deadline_items(today: dt.date):
    """Recommendations due today. Before and after the day ``oversight.flag_overdue``
    already reminds (REMIND_BEFORE_DAYS) and flags them overdue."""
    from workflow.oversight.models import Recommendation, RecStatus
    from workflow.oversight.services.deadlines import _owners

    due_today = (Q(status__in=[RecStatus.NEW, RecStatus.AGGREGATED], forward_due=today)
                 | Q(status__in=[RecStatus.FORWARDED, RecStatus.RESPONDED], due_date=today))
    for rec in Recommendation.objects.select_related("owner", "unit").filter(due_today):
        due = rec.due_date if rec.forwarded_on else rec.forward_due
        yield DeadlineItem(key=f"recommendation:{rec.pk}", due=due, title=rec.topic,
                           recipients=_owners(rec), obj=rec, stages=("today",),
                           url=reverse("oversight:recommendation_detail", args=[rec.pk]))


def remind_all(today: dt.date | None = None) -> int:
    today = today or timezone.localdate()
    total = 0
    for items in (document_deadline_items(today), task_deadline_items(today),
                  recommendation_deadline_items(today)):
        total += remind_deadlines(items, today)
    return total


def meetings_starting_soon(now: dt.datetime | None = None) -> int:
    """Participants of published meetings starting within the lead time; once per start time."""
    from workflow.meetings.models import Meeting, MeetingState
    from workflow.meetings.services.common import meeting_url

    now = now or timezone.now()
    lead = dt.timedelta(minutes=getattr(settings, "NOTIFICATIONS_MEETING_LEAD_MINUTES", 60))
    written = 0
    for meeting in Meeting.objects.filter(state=MeetingState.PUBLISHED,
                                          starts_at__gt=now, starts_at__lte=now + lead):
        people = [p.user for p in meeting.participants.select_related("user") if p.user_id]
        when = timezone.localtime(meeting.starts_at).strftime("%H:%M %d/%m/%Y")
        written += len(notify(
            people, "meeting.starting_soon", meeting,
            text=_("“%(title)s” starts at %(when)s.") % {"title": meeting.title, "when": when},
            url=meeting_url(meeting), kind=Kind.MEETING, subject=meeting.title,
            key=f"meeting:{meeting.pk}:soon:{meeting.starts_at.isoformat()}"))
    return written
