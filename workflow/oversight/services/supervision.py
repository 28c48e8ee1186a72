"""Supervision cases (giám sát): opening a case, its actions (start, report, close), the buttons
shown for them and the activities recorded while it is under way (visits, meetings, hearings).
It may call :mod:`.common`; the report's recommendations are recorded through
:mod:`.recommendations` and the case's documents through :mod:`.casedocs`.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from django_fsm import can_proceed, has_transition_perm

from workflow.audit.services import record
from workflow.documents.errors import Conflict, InvalidInput

from ..models import (
    ActivityKind,
    SupervisionActivity,
    SupervisionCase,
    SupervisionState,
)
from .common import _check_expected, _date, _meeting, _run, _text, _today, _unit, get_object


@transaction.atomic
def open_supervision(user, *, unit, title, supervised_body, planned_start=None,
                     planned_end=None, owner=None) -> SupervisionCase:
    unit = _unit(user, unit)
    start = _date(planned_start, _("Planned start"))
    end = _date(planned_end, _("Planned end"))
    if start and end and end < start:
        raise InvalidInput(_("The planned end is before the start."))
    case = SupervisionCase.objects.create(
        unit=unit, title=_text(title, _("Topic"), required=True),
        supervised_body=_text(supervised_body, _("Supervised body"), required=True, limit=255),
        planned_start=start, planned_end=end, owner=owner or user, created_by=user,
    )
    record(case, "supervisioncase.open", actor=user, to_state=case.state, comment=case.title)
    return case


SUPERVISION_ACTIONS = ("start", "report", "close")


def supervision_action(user, pk, action: str, *, expected_state: str | None = None,
                       **data) -> SupervisionCase:
    if action not in SUPERVISION_ACTIONS:
        raise InvalidInput(_("Unknown action."))
    with transaction.atomic():
        case = get_object(user, SupervisionCase, pk, lock=True)
        _check_expected(case, expected_state)
        comment = _text(data.get("comment"), "", limit=2000)
        if action == "start":
            return _run(user, case, "start", comment=comment)
        if action == "report":
            if not case.report_document_id:
                raise InvalidInput(_("Draft or link the supervision report first."))
            if not case.recommendations.exists():
                raise InvalidInput(_("Record the report's recommendations first."))
            return _run(user, case, "report", comment=comment)
        return _run(user, case, "close", _today(data.get("on")), comment=comment)


def supervision_actions_for(user, case: SupervisionCase) -> list[str]:
    methods = {"start": case.start, "report": case.report, "close": case.close}
    return [name for name, method in methods.items()
            if can_proceed(method, check_conditions=False) and has_transition_perm(method, user)]


@transaction.atomic
def add_activity(user, pk, *, kind, on, place="", description="",
                 meeting=None) -> SupervisionActivity:
    case = get_object(user, SupervisionCase, pk, action="work", lock=True)
    if case.state not in (SupervisionState.TEAM_FORMED, SupervisionState.IN_PROGRESS):
        raise Conflict(_("Activities are recorded while the supervision is under way."))
    if kind not in ActivityKind.values:
        raise InvalidInput(_("Choose the kind of activity."))
    activity = SupervisionActivity.objects.create(
        case=case, kind=kind, on=_date(on, _("Date"), required=True),
        place=_text(place, _("Place"), limit=255), description=_text(description, "",
                                                                      limit=20000),
        meeting=_meeting(user, meeting), created_by=user,
    )
    record(case, "supervisioncase.activity", actor=user, comment=str(activity))
    return activity
