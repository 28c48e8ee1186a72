"""Social critique cases (phản biện xã hội): opening a case, the actions a person takes on it
(plan, start, draft the conclusion, approve, send, record the agency's reply, close), the
buttons shown for them, and written opinions asked of experts and members. It may call
:mod:`.common` (parsing, loading with permission, the transition runner); the documents a case
links live in :mod:`.casedocs`.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _
from django_fsm import can_proceed, has_transition_perm

from workflow import access
from workflow.audit.services import record
from workflow.documents.errors import Conflict, InvalidInput, NotAllowed, NotFound

from .. import conf
from ..models import (
    CritiqueCase,
    CritiqueForm,
    CritiqueState,
    WrittenOpinion,
)
from .common import (
    _check_expected,
    _date,
    _int_or_none,
    _meeting,
    _run,
    _text,
    _today,
    _unit,
    get_object,
)


@transaction.atomic
def open_critique(user, *, unit, title, agency="", received_on=None, self_initiated=False,
                  owner=None) -> CritiqueCase:
    unit = _unit(user, unit)
    title = _text(title, _("Draft policy under critique"), required=True)
    self_initiated = bool(self_initiated)
    agency = _text(agency, _("Drafting agency"), required=not self_initiated, limit=255)
    received = _date(received_on, _("Received on"), required=not self_initiated)
    case = CritiqueCase.objects.create(
        unit=unit, title=title, agency=agency, received_on=received,
        self_initiated=self_initiated, owner=owner or user, created_by=user,
    )
    record(case, "critiquecase.open", actor=user, to_state=case.state, comment=title)
    return case


CRITIQUE_ACTIONS = ("plan", "start", "draft_conclusion", "approve", "send", "receive_reply",
                    "close")


def critique_action(user, pk, action: str, *, expected_state: str | None = None,
                    **data) -> CritiqueCase:
    """Apply one action a person takes on a critique case (see CRITIQUE_ACTIONS)."""
    if action not in CRITIQUE_ACTIONS:
        raise InvalidInput(_("Unknown action."))
    with transaction.atomic():
        case = get_object(user, CritiqueCase, pk, lock=True)
        _check_expected(case, expected_state)
        comment = _text(data.get("comment"), "", limit=2000)
        if action == "plan":
            if not case.plan_document_id:
                raise InvalidInput(_("Draft or link the plan document first."))
            return _run(user, case, "plan", comment=comment)
        if action == "start":
            form = data.get("form") or ""
            if form not in CritiqueForm.values:
                raise InvalidInput(_("Choose how the critique is held."))
            case.meeting = _meeting(user, data.get("meeting"))
            return _run(user, case, "start", form, comment=comment)
        if action == "draft_conclusion":
            if not case.conclusion_document_id:
                raise InvalidInput(_("Draft or link the conclusion document first."))
            return _run(user, case, "draft_conclusion", comment=comment)
        if action == "approve":
            return _run(user, case, "approve", comment=comment)
        if action == "send":
            on = _today(data.get("on"))
            days = _int_or_none(data.get("reply_days"), _("Days to reply")) or conf.get(
                "REPLY_DUE_DAYS")
            return _run(user, case, "send", on, on + dt.timedelta(days=days), comment=comment)
        if action == "receive_reply":
            accepted = _text(data.get("accepted"), _("Points accepted"), limit=20000)
            explained = _text(data.get("explained"), _("Points explained"), limit=20000)
            if not accepted and not explained:
                raise InvalidInput(_("Record what the agency accepted or explained."))
            case = _run(user, case, "receive_reply", _today(data.get("on")), accepted,
                        explained, comment=comment)
            return case
        return _run(user, case, "close", _today(data.get("on")), comment=comment)


def critique_actions_for(user, case: CritiqueCase) -> list[str]:
    """Actions the person can take now (for buttons)."""
    out = []
    methods = {"plan": case.plan, "start": case.start, "draft_conclusion": case.draft_conclusion,
               "approve": case.approve, "send": case.send, "receive_reply": case.receive_reply,
               "close": case.close}
    for name, method in methods.items():
        if can_proceed(method, check_conditions=False) and has_transition_perm(method, user):
            out.append(name)
    return out


@transaction.atomic
def add_opinion(user, pk, *, name, deadline=None, person=None) -> WrittenOpinion:
    case = get_object(user, CritiqueCase, pk, action="work", lock=True)
    if case.state not in (CritiqueState.PLANNED, CritiqueState.IN_PROGRESS):
        raise Conflict(_("Opinions are asked while the critique is planned or under way."))
    opinion = WrittenOpinion.objects.create(
        case=case, name=_text(name, _("Expert or member"), required=True, limit=255),
        deadline=_date(deadline, _("Deadline")), user=person,
    )
    record(case, "critiquecase.opinion_asked", actor=user, comment=opinion.name)
    return opinion


@transaction.atomic
def record_opinion(user, opinion_pk, *, text, on=None) -> WrittenOpinion:
    opinion = WrittenOpinion.objects.select_related("case__unit").filter(pk=opinion_pk).first()
    if opinion is None or not access.can_case(user, "view", opinion.case):
        raise NotFound(_("The record does not exist or you cannot see it."))
    # The expert writes their own opinion; case workers may record one handed in on paper.
    if opinion.user_id != user.pk and not access.can_case(user, "work", opinion.case):
        raise NotAllowed()
    opinion.text = _text(text, _("Opinion"), required=True, limit=20000)
    opinion.received_on = _today(on)
    opinion.save()
    record(opinion.case, "critiquecase.opinion_received", actor=user, comment=opinion.name)
    return opinion
