"""Deadlines and notices: the one ``notify`` of oversight (through the notification centre, once
per person and key), who is told (owners, the leaders of a unit) and ``flag_overdue`` (beat):
marking and announcing late replies, late recommendations, reminders, long-overdue notices to
the unit above and missing written opinions. It may call the notification centre and the audit
log; it imports no other module of this package.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow.audit.services import record
from workflow.organisation.models import Role

from .. import conf
from ..models import (
    CritiqueCase,
    CritiqueState,
    Recommendation,
    RecStatus,
    WrittenOpinion,
)


def notify(user, key: str, text: str, url: str = "") -> bool:
    """Record an in-app notice once per (person, key) through the notification centre;
    e-mail after commit when ``EMAIL_NOTICES`` is on (and the person's preferences allow)."""
    from workflow.notifications.services import notify as notify_centre

    if user is None:
        return False
    event = f"oversight.{key.rsplit(':', 1)[-1]}"
    return bool(notify_centre([user], event, text=text, url=url, kind="deadline",
                              key=f"oversight:{key}", email=bool(conf.get("EMAIL_NOTICES"))))


def _leaders(unit_id: int | None):
    from workflow.organisation.models import User

    if unit_id is None:
        return User.objects.none()
    return User.objects.filter(memberships__unit_id=unit_id, memberships__role=Role.LEADER,
                               memberships__is_active=True, is_active=True).distinct()


def _owners(obj) -> list:
    people = [p for p in (obj.owner, getattr(obj, "created_by", None)) if p is not None]
    return list(dict.fromkeys(people)) or list(_leaders(obj.unit_id))


def flag_overdue(now: dt.datetime | None = None) -> dict[str, int]:
    """Mark and announce what is late; safe to run as often as wanted (idempotent)."""
    today = timezone.localdate(now or timezone.now())
    remind = conf.get("REMIND_BEFORE_DAYS")
    escalate_after = conf.get("ESCALATE_NOTICE_AFTER_DAYS")
    counts = {"critique_overdue": 0, "critique_reminders": 0, "recommendations_overdue": 0,
              "recommendation_reminders": 0, "escalation_notices": 0, "opinions_overdue": 0}
    # Lock only the rows being flagged: the joined owner may be absent (outer join).
    critiques = CritiqueCase.objects.select_for_update(of=("self",))
    recommendations = Recommendation.objects.select_for_update(of=("self",))
    with transaction.atomic():
        for case in critiques.select_related("owner", "unit").filter(
                state=CritiqueState.AWAITING_REPLY, reply_due__lt=today,
                overdue_notified_on__isnull=True):
            url = reverse("oversight:critique_detail", args=[case.pk])
            text = _("Overdue: %(agency)s has not replied to the critique of “%(title)s” "
                     "(due %(due)s).") % {"agency": case.agency or case.unit.name,
                                          "title": case.title,
                                          "due": case.reply_due.strftime("%d/%m/%Y")}
            for person in _owners(case):
                notify(person, f"critique:{case.pk}:overdue", text, url)
            case.overdue_notified_on = today
            case.save(update_fields=["overdue_notified_on"])
            record(case, "critiquecase.overdue", from_state=case.state, to_state=case.state,
                   comment=str(case.reply_due))
            counts["critique_overdue"] += 1
        if remind:
            for case in critiques.select_related("owner").filter(
                state=CritiqueState.AWAITING_REPLY, reply_due__gte=today,
                reply_due__lte=today + dt.timedelta(days=remind), reminded_on__isnull=True,
            ):
                text = _("Reminder: the reply on “%(title)s” is due %(due)s.") % {
                    "title": case.title, "due": case.reply_due.strftime("%d/%m/%Y")}
                for person in _owners(case):
                    notify(person, f"critique:{case.pk}:remind", text,
                           reverse("oversight:critique_detail", args=[case.pk]))
                case.reminded_on = today
                case.save(update_fields=["reminded_on"])
                counts["critique_reminders"] += 1
        late_forward = Q(status__in=[RecStatus.NEW, RecStatus.AGGREGATED],
                         forward_due__lt=today)
        late_resolve = Q(status__in=[RecStatus.FORWARDED, RecStatus.RESPONDED],
                         due_date__lt=today)
        for rec in recommendations.select_related("owner", "unit").filter(
                late_forward | late_resolve):
            before = rec.status
            rec.mark_overdue()
            rec.overdue_notified_on = today
            rec.save()
            record(rec, "recommendation.overdue", from_state=before, to_state=rec.status)
            deadline = rec.due_date if rec.forwarded_on else rec.forward_due
            text = _("Overdue recommendation: “%(topic)s” (%(addressee)s, due %(due)s).") % {
                "topic": rec.topic, "addressee": rec.addressee,
                "due": deadline.strftime("%d/%m/%Y") if deadline else "—"}
            for person in _owners(rec):
                notify(person, f"rec:{rec.pk}:overdue", text,
                       reverse("oversight:recommendation_detail", args=[rec.pk]))
            counts["recommendations_overdue"] += 1
        if remind:
            soon = today + dt.timedelta(days=remind)
            due_soon = (Q(status__in=[RecStatus.NEW, RecStatus.AGGREGATED],
                          forward_due__range=(today, soon))
                        | Q(status__in=[RecStatus.FORWARDED, RecStatus.RESPONDED],
                            due_date__range=(today, soon)))
            for rec in recommendations.select_related("owner").filter(
                    due_soon, reminded_on__isnull=True):
                text = _("Reminder: the recommendation “%(topic)s” is due soon.") % {
                    "topic": rec.topic}
                for person in _owners(rec):
                    notify(person, f"rec:{rec.pk}:remind", text,
                           reverse("oversight:recommendation_detail", args=[rec.pk]))
                rec.reminded_on = today
                rec.save(update_fields=["reminded_on"])
                counts["recommendation_reminders"] += 1
        if escalate_after:
            limit = today - dt.timedelta(days=escalate_after)
            long_late = Recommendation.objects.select_related("unit").filter(
                status__in=[RecStatus.OVERDUE, RecStatus.ESCALATED]).filter(
                Q(forwarded_on__isnull=True, forward_due__lt=limit)
                | Q(forwarded_on__isnull=False, due_date__lt=limit))
            for rec in long_late:
                for person in _leaders(rec.unit.parent_id):
                    if notify(person, f"rec:{rec.pk}:escalate",
                              _("Long overdue in %(unit)s: “%(topic)s”.") % {
                                  "unit": rec.unit.name, "topic": rec.topic},
                              reverse("oversight:recommendation_detail", args=[rec.pk])):
                        counts["escalation_notices"] += 1
        for opinion in WrittenOpinion.objects.select_related("case__owner", "case__unit").filter(
            received_on__isnull=True, deadline__lt=today,
            case__state__in=[CritiqueState.PLANNED, CritiqueState.IN_PROGRESS],
        ):
            text = _("%(name)s has not sent a written opinion on “%(title)s”.") % {
                "name": opinion.name, "title": opinion.case.title}
            for person in _owners(opinion.case):
                if notify(person, f"opinion:{opinion.pk}:overdue", text,
                          reverse("oversight:critique_detail", args=[opinion.case_id])):
                    counts["opinions_overdue"] += 1
    return counts
