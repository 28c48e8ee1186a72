"""One inbox ("Việc cần xử lý") for every kind of work a person has.

Each kind of work is a *source*: a function returning :class:`WorkItem` rows for a
user, registered here under a kind name with its label. The inbox page lists them
together, nearest deadline first, with a filter per kind. Another module adds a kind
(incoming documents to handle, for instance) with::

    from workflow import inbox
    inbox.register("incoming", gettext_lazy("Incoming documents"), my_source, order=15)

A source decides nothing about permissions itself: it asks ``workflow.access`` (or
the app's own query built on it), as the pages behind its links do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# How far ahead meetings and recommendation deadlines are shown.
HORIZON_DAYS = 30
PER_SOURCE_LIMIT = 200


@dataclass
class WorkItem:
    kind: str
    title: str
    url: str
    action: str = ""  # what to do: "Review", "Attend", "Resolve"…
    subtitle: str = ""
    deadline: dt.date | None = None
    urgent: bool = False
    badge: str = ""  # a state label shown beside the title
    obj: object = field(default=None, repr=False)

    @property
    def overdue(self) -> bool:
        return self.deadline is not None and self.deadline < timezone.localdate()


@dataclass
class Source:
    kind: str
    label: object  # a lazy translation
    items: Callable[[object], list[WorkItem]]
    order: int = 50


_SOURCES: dict[str, Source] = {}


def register(kind: str, label, items: Callable[[object], list[WorkItem]], *,
             order: int = 50) -> None:
    """Add (or replace) the source of one kind of work."""
    _SOURCES[kind] = Source(kind, label, items, order)


def sources() -> list[Source]:
    _register_defaults()
    return sorted(_SOURCES.values(), key=lambda s: (s.order, s.kind))


def collect(user, kind: str | None = None) -> tuple[list[WorkItem], dict[str, int]]:
    """The person's work (of one kind, or all), nearest deadline first, and counts per kind."""
    everything: list[WorkItem] = []
    counts: dict[str, int] = {}
    for source in sources():
        found = source.items(user)
        counts[source.kind] = len(found)
        if kind in (None, "", source.kind):
            everything.extend(found)
    far = dt.date.max
    everything.sort(key=lambda item: (item.deadline or far, not item.urgent, item.title))
    return everything, counts


def count(user) -> int:
    return sum(collect(user)[1].values())


# --- the kinds of work there are now -------------------------------------------------------


def _documents(user) -> list[WorkItem]:
    from django.db.models import F

    from workflow import access
    from workflow.documents.templatetags.docui import task_label

    documents = (access.inbox(user).select_related("unit", "document_type")
                 .order_by(F("due_date").asc(nulls_last=True), "-updated_at", "-pk")
                 [:PER_SOURCE_LIMIT])
    items = []
    for doc in documents:
        subtitle = f"{doc.document_type} · {doc.unit}"
        if doc.symbol:
            subtitle = _("No. %(symbol)s") % {"symbol": doc.symbol} + " · " + subtitle
        items.append(WorkItem(
            kind="document", title=doc.subject, url=reverse("documents:detail", args=[doc.pk]),
            action=task_label(doc), subtitle=subtitle, deadline=doc.due_date,
            urgent=doc.priority not in ("", "normal"), badge=doc.get_state_display(), obj=doc))
    return items


def _meetings(user) -> list[WorkItem]:
    from django.db.models import Q

    from workflow import access
    from workflow.meetings.models import Attendance, MeetingState

    now = timezone.now()
    soon = now + dt.timedelta(days=HORIZON_DAYS)
    uid = user.pk
    attend = Q(participants__user_id=uid, state__in=[MeetingState.PUBLISHED,
                                                     MeetingState.IN_SESSION],
               starts_at__lte=soon) & (Q(starts_at__gte=now - dt.timedelta(hours=12))
                                       | Q(state=MeetingState.IN_SESSION))
    prepare = (Q(secretary_id=uid) | Q(created_by_id=uid) | Q(chair_id=uid)) & Q(
        state__in=[MeetingState.DRAFT, MeetingState.PAPERS_UNDER_APPROVAL])
    meetings = (access.visible_meetings(user).filter(attend | prepare).distinct()
                .select_related("unit").order_by("starts_at")[:PER_SOURCE_LIMIT])
    seats = {}
    if meetings:
        from workflow.meetings.models import Participant

        seats = dict(Participant.objects.filter(meeting__in=meetings, user_id=uid)
                     .values_list("meeting_id", "attendance"))
    items = []
    for meeting in meetings:
        local = timezone.localtime(meeting.starts_at)
        if meeting.state == MeetingState.IN_SESSION:
            action = _("Join the meeting room")
        elif meeting.state in (MeetingState.DRAFT, MeetingState.PAPERS_UNDER_APPROVAL):
            if meeting.chair_id == uid and meeting.state == MeetingState.PAPERS_UNDER_APPROVAL:
                action = _("Approve the papers and publish")
            else:
                action = _("Prepare the agenda and papers")
        elif seats.get(meeting.pk) == Attendance.INVITED:
            action = _("Answer the invitation")
        else:
            action = _("Attend and read the papers")
        items.append(WorkItem(
            kind="meeting", title=meeting.title, url=reverse("meetings:detail", args=[meeting.pk]),
            action=action, subtitle=f"{local:%d/%m/%Y %H:%M} · {meeting.place or meeting.unit}",
            deadline=local.date(), urgent=meeting.state == MeetingState.IN_SESSION,
            badge=meeting.get_state_display(), obj=meeting))
    return items


def _tasks(user) -> list[WorkItem]:
    from workflow.meetings.models import TaskState
    from workflow.meetings.services.records import tasks_for

    tasks = tasks_for(user).filter(state=TaskState.OPEN).order_by("due_date", "pk")
    return [WorkItem(kind="task", title=task.title, url=reverse("meetings:tasks"),
                     action=_("Do and mark done"), subtitle=task.meeting.title,
                     deadline=task.due_date, obj=task)
            for task in tasks[:PER_SOURCE_LIMIT]]


def _recommendations(user) -> list[WorkItem]:
    from django.db.models import Q

    from workflow import access
    from workflow.oversight.models import Recommendation, RecStatus

    horizon = timezone.localdate() + dt.timedelta(days=HORIZON_DAYS)
    mine = Q(owner=user) | Q(owner__isnull=True, created_by=user)
    recs = (Recommendation.objects.filter(access.visible_cases_q(user)).filter(mine)
            .exclude(status=RecStatus.RESOLVED).select_related("unit")
            .order_by("due_date", "pk")[:PER_SOURCE_LIMIT])
    items = []
    for rec in recs:
        deadline = rec.current_deadline
        if deadline is not None and deadline > horizon:
            continue
        action = _("Forward to the competent body") if rec.forwarded_on is None \
            else _("Follow up until resolved")
        items.append(WorkItem(
            kind="recommendation", title=str(rec), action=action,
            url=reverse("oversight:recommendation_detail", args=[rec.pk]),
            subtitle=str(rec.unit), deadline=deadline, badge=rec.get_status_display(), obj=rec))
    return items


def _incoming(user) -> list[WorkItem]:
    from workflow.incoming.services import incoming_inbox_items

    return [WorkItem(kind="incoming", title=row["title"], url=row["url"],
                     action=_("Handle"), deadline=row["deadline"], urgent=row["urgent"],
                     badge=row["state_label"]) for row in incoming_inbox_items(user)]


_defaults_done = False


def _register_defaults() -> None:
    global _defaults_done
    if _defaults_done:
        return
    _defaults_done = True
    for kind, label, items, order in (
        ("document", gettext_lazy("Documents"), _documents, 10),
        ("incoming", gettext_lazy("Incoming documents"), _incoming, 15),
        ("meeting", gettext_lazy("Meetings"), _meetings, 20),
        ("task", gettext_lazy("Follow-up tasks"), _tasks, 30),
        ("recommendation", gettext_lazy("Recommendations"), _recommendations, 40),
    ):
        _SOURCES.setdefault(kind, Source(kind, label, items, order))
