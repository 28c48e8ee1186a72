"""Voters' recommendations (kiến nghị cử tri) one by one: recording them (from a supervision, a
critique, a meeting or voters' contact), their deadlines from the settings, the actions on them
(forward, respond, resolve, escalate to the unit above, mark legitimate) and the buttons shown.
It may call :mod:`.common` and, to tell the leaders above of an escalation, :mod:`.deadlines`;
aggregating many into a report lives in :mod:`.reports`.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed, has_transition_perm

from workflow import access
from workflow.audit.services import record
from workflow.documents.errors import Conflict, InvalidInput, NotAllowed

from .. import conf
from ..models import (
    OPEN_REC_STATUSES,
    RecField,
    Recommendation,
    Source,
    SupervisionCase,
    SupervisionState,
)
from .common import _check_expected, _date, _meeting, _run, _text, _today, _unit, get_object
from .deadlines import _leaders, notify


@transaction.atomic
def add_recommendation(user, *, unit, source, topic, addressee, raised_on=None, content="",
                       field=RecField.OTHER, due_date=None, legitimate=True, supervision=None,
                       critique=None, meeting=None, owner=None) -> Recommendation:
    if supervision is not None:
        case = get_object(user, SupervisionCase, getattr(supervision, "pk", supervision),
                          action="work")
        if case.state not in (SupervisionState.IN_PROGRESS, SupervisionState.REPORTED):
            raise Conflict(_("Recommendations are recorded while the report is being written."))
        unit, source, supervision = case.unit, Source.SUPERVISION, case
    else:
        unit = _unit(user, unit)
    if source not in Source.values:
        raise InvalidInput(_("Choose where the recommendation came from."))
    if field not in RecField.values:
        raise InvalidInput(_("Choose a field."))
    raised = _date(raised_on, _("Raised on")) or timezone.localdate()
    due = _date(due_date, _("Resolve by")) or raised + dt.timedelta(
        days=conf.get("RESOLVE_DUE_DAYS"))
    if due < raised:
        raise InvalidInput(_("The due date is before the date it was raised."))
    rec = Recommendation.objects.create(
        unit=unit, source=source, supervision=supervision, critique=critique,
        topic=_text(topic, _("Topic"), required=True),
        content=_text(content, "", limit=20000),
        addressee=_text(addressee, _("Competent body"), required=True, limit=255),
        field=field, raised_on=raised,
        forward_due=raised + dt.timedelta(days=conf.get("FORWARD_DUE_DAYS")),
        due_date=due, legitimate=bool(legitimate),
        meeting=_meeting(user, meeting), owner=owner or user,
        created_by=user,
    )
    record(rec, "recommendation.create", actor=user, to_state=rec.status, comment=rec.topic)
    return rec


RECOMMENDATION_ACTIONS = ("forward", "respond", "resolve", "escalate", "legitimate")


def recommendation_action(user, pk, action: str, *, expected_state: str | None = None,
                          **data) -> Recommendation:
    if action not in RECOMMENDATION_ACTIONS:
        raise InvalidInput(_("Unknown action."))
    with transaction.atomic():
        rec = get_object(user, Recommendation, pk, lock=True)
        _check_expected(rec, expected_state)
        comment = _text(data.get("comment"), "", limit=2000)
        if action == "legitimate":
            if not access.can_case(user, "work", rec):
                raise NotAllowed()
            rec.legitimate = bool(data.get("value"))
            rec.save(update_fields=["legitimate"])
            record(rec, "recommendation.legitimate", actor=user, from_state=rec.status,
                   to_state=rec.status, comment=str(rec.legitimate))
            return rec
        on = _today(data.get("on"))
        if action == "forward":
            return _run(user, rec, "forward", on, comment=comment)
        if action == "respond":
            text = _text(data.get("text"), _("Reply"), required=True, limit=20000)
            return _run(user, rec, "respond", on, text, comment=comment)
        if action == "resolve":
            return _run(user, rec, "resolve", on, comment=comment)
        rec = _run(user, rec, "escalate", on, comment=comment)
        # Escalating means telling the leaders of the unit above.
        url = reverse("oversight:recommendation_detail", args=[rec.pk])
        for person in _leaders(rec.unit.parent_id):
            notify(person, f"rec:{rec.pk}:escalate",
                   _("Escalated by %(unit)s: “%(topic)s” (%(addressee)s).") % {
                       "unit": rec.unit.name, "topic": rec.topic, "addressee": rec.addressee},
                   url)
        return rec


def recommendation_actions_for(user, rec: Recommendation) -> list[str]:
    methods = {"forward": rec.forward, "respond": rec.respond, "resolve": rec.resolve,
               "escalate": rec.escalate}
    return [name for name, method in methods.items()
            if can_proceed(method) and has_transition_perm(method, user)]


def open_statuses() -> list[str]:
    return list(OPEN_REC_STATUSES)
