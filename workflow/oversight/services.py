"""Domain operations on critique and supervision cases, recommendations and reports.

Views, commands and tasks call these functions; nothing else changes the
oversight models. Each operation runs in one transaction, asks
:mod:`workflow.access`, writes an audit record and returns the changed object.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from html import escape

from django.db import transaction
from django.db.models import Model, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django_fsm import TransitionNotAllowed, can_proceed, has_transition_perm

from workflow import access
from workflow.audit.services import record
from workflow.documents import services as documents
from workflow.documents.errors import Conflict, InvalidInput, NotAllowed, NotFound
from workflow.documents.models import Document, DocumentType
from workflow.documents.models import State as DocState
from workflow.documents.uploads import check_upload
from workflow.organisation.models import Role, Unit

from . import conf
from .models import (
    OPEN_REC_STATUSES,
    ActivityKind,
    CaseFile,
    CritiqueCase,
    CritiqueForm,
    CritiqueState,
    FileKind,
    PeriodicReport,
    RecField,
    Recommendation,
    RecommendationReport,
    RecStatus,
    Source,
    SupervisionActivity,
    SupervisionCase,
    SupervisionState,
    WrittenOpinion,
)

APPROVED_ONWARDS = {DocState.APPROVED, DocState.SIGNED, DocState.ISSUED, DocState.ARCHIVED}
ISSUED = {DocState.ISSUED, DocState.ARCHIVED}

# Which document roles each case kind has, with the default subject prefix.
DOCUMENT_ROLES = {
    CritiqueCase: {"plan": "plan_document", "conclusion": "conclusion_document"},
    SupervisionCase: {"plan": "plan_document", "decision": "decision_document",
                      "report": "report_document"},
}


def role_subject(role: str, title: str) -> str:
    prefixes = {
        "plan": _("Plan: %(title)s"),
        "conclusion": _("Social critique of: %(title)s"),
        "decision": _("Decision forming the supervision team: %(title)s"),
        "report": _("Supervision report: %(title)s"),
    }
    return prefixes[role] % {"title": title}


# --- small helpers ----------------------------------------------------------------------------


def _date(value, label: str, *, required: bool = False) -> dt.date | None:
    if value in (None, ""):
        if required:
            raise InvalidInput(_("%(field)s is required.") % {"field": label})
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(_("%(field)s is not a valid date.") % {"field": label}) from None


def _text(value, label: str, *, required: bool = False, limit: int = 500) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(_("%(field)s is required.") % {"field": label})
    return text[:limit]


def _int_or_none(value, label: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(_("%(field)s must be a number.") % {"field": label}) from None
    if number <= 0:
        raise InvalidInput(_("%(field)s must be a number.") % {"field": label})
    return number


def _unit(user, unit) -> Unit:
    if not isinstance(unit, Unit):
        unit = Unit.objects.filter(pk=_int_or_none(unit, _("Unit"))).first()
    if unit is None or not access.case_units(user).filter(pk=unit.pk).exists():
        raise NotAllowed(_("You cannot open cases for this unit."))
    return unit


def _meeting(user, value):
    """A meeting the person may see, from an id typed in a form (or None)."""
    from workflow.meetings.models import Meeting

    if value in (None, ""):
        return None
    if isinstance(value, Meeting):
        meeting = value
    else:
        meeting = Meeting.objects.filter(pk=_int_or_none(value, _("Meeting"))).first()
    if meeting is None or not access.can_meeting(user, "view", meeting):
        raise InvalidInput(_("The meeting does not exist or you cannot see it."))
    return meeting


def _today(on=None) -> dt.date:
    return _date(on, _("Date")) or timezone.localdate()


def get_object(user, model: type[Model], pk, *, action: str = "view", lock: bool = False):
    """Load a case or recommendation the user may see (NotFound otherwise)."""
    qs = model.objects.select_related("unit")
    if lock:
        qs = qs.select_for_update(of=("self",))
    try:
        obj = qs.get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("The record does not exist or you cannot see it.")) from None
    if not access.can_case(user, "view", obj):
        raise NotFound(_("The record does not exist or you cannot see it."))
    if action != "view" and not access.can_case(user, action, obj):
        raise NotAllowed()
    return obj


def _run(user, obj, method_name: str, *args, label: str = "", comment: str = "", **kwargs):
    """Apply one FSM transition with permission, condition and audit."""
    method = getattr(obj, method_name)
    state_field = "status" if isinstance(obj, Recommendation) else "state"
    before = getattr(obj, state_field)
    if user is not None and not has_transition_perm(method, user):
        if not access.can_case(user, "view", obj):
            raise NotFound(_("The record does not exist or you cannot see it."))
        if can_proceed(method, check_conditions=False):
            raise NotAllowed(_("You are not allowed to do this."))
        raise Conflict(_("This action is not possible in the current state (%(state)s).")
                       % {"state": getattr(obj, f"get_{state_field}_display")()})
    if not can_proceed(method):
        raise Conflict(_("This action is not possible in the current state (%(state)s).")
                       % {"state": getattr(obj, f"get_{state_field}_display")()})
    try:
        method(*args, **kwargs)
    except TransitionNotAllowed:
        raise Conflict() from None
    obj.save()
    record(obj, f"{obj._meta.model_name}.{label or method_name}", actor=user,
           from_state=before, to_state=getattr(obj, state_field), comment=comment)
    return obj


def _check_expected(obj, expected_state: str | None) -> None:
    state = obj.status if isinstance(obj, Recommendation) else obj.state
    if expected_state and state != expected_state:
        raise Conflict(_("This record has already moved on; your action was not applied again."))


# --- files ----------------------------------------------------------------------------------


def attach_file(user, target, *, upload, kind: str = FileKind.OTHER) -> CaseFile:
    """Store a checked attachment on a case, an activity or a recommendation."""
    if kind not in FileKind.values:
        raise InvalidInput(_("Unknown file kind."))
    owner = target.case if isinstance(target, SupervisionActivity) else target
    if not access.can_case(user, "work", owner):
        raise NotAllowed()
    checked = check_upload(upload, main=False)
    links = {
        CritiqueCase: "critique", SupervisionCase: "supervision",
        SupervisionActivity: "activity", Recommendation: "recommendation",
    }
    item = CaseFile(kind=kind, original_name=upload.name[:255], content_type=checked.content_type,
                    size=checked.size, sha256=checked.sha256, uploaded_by=user)
    setattr(item, links[type(target)], target)
    upload.seek(0)
    item.blob.save(upload.name, upload, save=False)
    try:
        with transaction.atomic():
            item.save()
            record(owner, "file.upload", actor=user, comment=f"{item.get_kind_display()}: "
                   f"{item.original_name}")
    except Exception:
        item.blob.delete(save=False)
        raise
    return item


# --- documents linked to cases ------------------------------------------------------------------


def _document_type(role: str) -> DocumentType:
    code = conf.get("DOCUMENT_TYPES").get(role)
    dtype = DocumentType.objects.filter(code=code, is_active=True).first()
    if dtype is None:
        raise InvalidInput(
            _("The document type “%(code)s” for this step is not configured.") % {"code": code}
        )
    return dtype


@transaction.atomic
def create_case_document(user, case, role: str) -> Document:
    """Draft the plan/conclusion/decision/report of a case as a foundation document."""
    roles = DOCUMENT_ROLES[type(case)]
    if role not in roles:
        raise InvalidInput(_("Unknown document role."))
    case = get_object(user, type(case), case.pk, action="work", lock=True)
    if getattr(case, f"{roles[role]}_id"):
        raise Conflict(_("This case already has that document."))
    document = documents.create_document(
        user, unit=case.unit,
        data={"subject": role_subject(role, case.title), "document_type": _document_type(role),
              "body": f"<p>{escape(case.title)}</p>"},
    )
    setattr(case, roles[role], document)
    case.save(update_fields=[roles[role], "updated_at"])
    record(case, f"{case._meta.model_name}.document", actor=user,
           comment=f"{role}: {document.pk}")
    return document


@transaction.atomic
def link_document(user, case, role: str, document_id) -> Document:
    """Link an existing document of the case's unit (e.g. drafted before the case existed)."""
    roles = DOCUMENT_ROLES[type(case)]
    if role not in roles:
        raise InvalidInput(_("Unknown document role."))
    case = get_object(user, type(case), case.pk, action="work", lock=True)
    document = documents.get_for(user, _int_or_none(document_id, _("Document")))
    if document.unit_id != case.unit_id:
        raise InvalidInput(_("The document must be issued by the case's unit."))
    setattr(case, roles[role], document)
    case.save(update_fields=[roles[role], "updated_at"])
    record(case, f"{case._meta.model_name}.document", actor=user,
           comment=f"{role}: {document.pk}")
    _sync_case(case)
    return document


def sync_document(document_id: int) -> None:
    """Advance every case or report whose linked document was approved or issued."""
    with transaction.atomic():
        document = Document.objects.filter(pk=document_id).first()
        if document is None:
            return
        q = (Q(plan_document_id=document_id) | Q(conclusion_document_id=document_id))
        for case in CritiqueCase.objects.select_for_update().filter(q):
            _sync_case(case)
        q = (Q(plan_document_id=document_id) | Q(decision_document_id=document_id)
             | Q(report_document_id=document_id))
        for case in SupervisionCase.objects.select_for_update().filter(q):
            _sync_case(case)
        for report in RecommendationReport.objects.select_for_update().filter(
            document_id=document_id, forwarded_on__isnull=True
        ):
            if document.state in ISSUED:
                _forward_report(report, timezone.localdate(document.issued_at))


def _doc_state(document_id) -> str | None:
    if not document_id:
        return None
    return Document.objects.filter(pk=document_id).values_list("state", flat=True).first()


def _issued_on(document_id) -> dt.date:
    at = Document.objects.filter(pk=document_id).values_list("issued_at", flat=True).first()
    return timezone.localdate(at) if at else timezone.localdate()


def _system_step(case, method_name: str, *args, comment: str) -> None:
    method = getattr(case, method_name)
    if can_proceed(method):
        before = case.state
        method(*args)
        case.save()
        record(case, f"{case._meta.model_name}.{method_name}", actor=None, from_state=before,
               to_state=case.state, comment=comment)


def _sync_case(case) -> None:
    """Bring a case up to date with its documents (idempotent)."""
    if isinstance(case, CritiqueCase):
        if case.state == CritiqueState.RECEIVED and _doc_state(case.plan_document_id) in \
                APPROVED_ONWARDS:
            _system_step(case, "plan", comment=_("The plan document was approved."))
        state = _doc_state(case.conclusion_document_id)
        if case.state == CritiqueState.CONCLUSION_DRAFTED and state in APPROVED_ONWARDS:
            _system_step(case, "approve", comment=_("The conclusion document was approved."))
        if case.state == CritiqueState.APPROVED and state in ISSUED:
            _system_step(case, "issue", _issued_on(case.conclusion_document_id),
                         comment=_("The conclusion document was issued."))
    elif isinstance(case, SupervisionCase):
        if case.state == SupervisionState.PLANNED and _doc_state(case.decision_document_id) in \
                ISSUED:
            _system_step(case, "form_team", comment=_("The decision forming the team was issued."))
        if case.state == SupervisionState.REPORTED and _doc_state(case.report_document_id) in \
                ISSUED:
            on = _issued_on(case.report_document_id)
            _system_step(case, "issue_recommendations", on,
                         comment=_("The supervision report was issued."))
            for rec in case.recommendations.select_for_update().filter(
                status__in=[RecStatus.NEW, RecStatus.AGGREGATED]
            ):
                before = rec.status
                rec.forward(on)
                rec.save()
                record(rec, "recommendation.forward", from_state=before, to_state=rec.status,
                       comment=_("Issued with the supervision report."))


# --- social critique ----------------------------------------------------------------------------


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


# --- supervision ----------------------------------------------------------------------------


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


# --- recommendations ------------------------------------------------------------------------


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


def report_selection(user, *, unit, period_start, period_end, sources: Iterable[str] = (),
                     fields: Iterable[str] = (), addressee: str = ""):
    """The recommendations a report for this period and filter would aggregate."""
    unit = _unit(user, unit)
    start = _date(period_start, _("From"), required=True)
    end = _date(period_end, _("To"), required=True)
    if end < start:
        raise InvalidInput(_("The period ends before it starts."))
    qs = Recommendation.objects.filter(unit=unit, raised_on__range=(start, end),
                                       status=RecStatus.NEW, report__isnull=True)
    sources = [s for s in sources if s]
    fields = [f for f in fields if f]
    if sources:
        qs = qs.filter(source__in=sources)
    if fields:
        qs = qs.filter(field__in=fields)
    if addressee:
        qs = qs.filter(addressee__icontains=addressee.strip())
    return unit, start, end, qs.order_by("field", "addressee", "raised_on", "pk")


def group_recommendations(recs: Iterable[Recommendation]) -> list[dict]:
    """Group by field, then by competent body (the layout of the report)."""
    groups: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    labels = dict(RecField.choices)
    for rec in recs:
        groups[rec.field][rec.addressee].append(rec)
    return [
        {"field": f, "label": labels.get(f, f),
         "addressees": [{"name": a, "items": items} for a, items in sorted(by.items())],
         "count": sum(len(items) for items in by.values())}
        for f, by in sorted(groups.items(), key=lambda kv: str(labels.get(kv[0], kv[0])))
    ]


def _report_body(unit: Unit, start: dt.date, end: dt.date, groups: list[dict]) -> str:
    total = sum(g["count"] for g in groups)
    parts = [
        "<p>" + escape(_("Recommendations raised from %(start)s to %(end)s: %(count)s.") % {
            "start": start.strftime("%d/%m/%Y"), "end": end.strftime("%d/%m/%Y"),
            "count": total}) + "</p>",
    ]
    number = 0
    for group in groups:
        parts.append(f"<h3>{escape(str(group['label']))} ({group['count']})</h3>")
        for addressee in group["addressees"]:
            parts.append(f"<p><strong>{escape(_('To'))}: {escape(addressee['name'])}</strong></p>")
            ordinal_head = escape(pgettext("ordinal column", "No."))
            parts.append("<table><thead><tr><th>" + ordinal_head + "</th><th>"
                         + escape(_("Topic")) + "</th><th>" + escape(_("Content"))
                         + "</th><th>" + escape(_("Source")) + "</th></tr></thead><tbody>")
            for rec in addressee["items"]:
                number += 1
                parts.append(
                    f"<tr><td>{number}</td><td>{escape(rec.topic)}</td>"
                    f"<td>{escape(rec.content)}</td><td>{escape(rec.get_source_display())}</td></tr>"
                )
            parts.append("</tbody></table>")
    return "".join(parts)


@transaction.atomic
def create_recommendation_report(user, *, unit, period_start, period_end, title="",
                                 sources=(), fields=(), addressee="") -> RecommendationReport:
    """Aggregate the selected recommendations into a report (an outgoing BC document)."""
    unit, start, end, qs = report_selection(
        user, unit=unit, period_start=period_start, period_end=period_end, sources=sources,
        fields=fields, addressee=addressee)
    recs = list(qs.select_for_update(of=("self",)))
    if not recs:
        raise InvalidInput(_("No new recommendations match this period and filter."))
    groups = group_recommendations(recs)
    title = _text(title, "") or _("Report aggregating voters' opinions and recommendations, "
                                  "%(start)s to %(end)s") % {
        "start": start.strftime("%d/%m/%Y"), "end": end.strftime("%d/%m/%Y")}
    document = documents.create_document(
        user, unit=unit,
        data={"subject": title, "document_type": _document_type("recommendation_report"),
              "body": _report_body(unit, start, end, groups)},
    )
    report = RecommendationReport.objects.create(
        unit=unit, title=title, period_start=start, period_end=end, document=document,
        filters={"sources": list(sources), "fields": list(fields), "addressee": addressee},
        created_by=user,
    )
    for rec in recs:
        _run(user, rec, "aggregate", report, comment=title)
    record(report, "recommendationreport.create", actor=user,
           comment=f"{len(recs)} / document {document.pk}")
    return report


def _forward_report(report: RecommendationReport, on: dt.date) -> None:
    report.forwarded_on = on
    report.save(update_fields=["forwarded_on"])
    record(report, "recommendationreport.forward", comment=str(on))
    for rec in report.items.select_for_update().filter(forwarded_on__isnull=True):
        method = rec.forward
        if can_proceed(method):
            before = rec.status
            method(on)
            rec.save()
            record(rec, "recommendation.forward", from_state=before, to_state=rec.status,
                   comment=report.title)


# --- periodic reports ---------------------------------------------------------------------------


@transaction.atomic
def file_periodic_report(user, *, unit, year, period, filed_on=None,
                         document_id=None) -> PeriodicReport:
    unit = _unit(user, unit)
    periods = conf.get("PERIODIC_REPORT_PERIODS")
    if period not in periods:
        raise InvalidInput(_("Unknown reporting period."))
    year = _int_or_none(year, _("Year"))
    if year is None or not 2000 <= year <= 2100:
        raise InvalidInput(_("Year must be a number."))
    document = None
    if document_id:
        document = documents.get_for(user, _int_or_none(document_id, _("Document")))
    report, created = PeriodicReport.objects.update_or_create(
        unit=unit, year=year, period=period,
        defaults={"filed_on": _today(filed_on), "document": document, "filed_by": user},
    )
    record(report, "periodicreport.file" if created else "periodicreport.update", actor=user,
           comment=f"{year} {period}")
    return report


# --- deadlines and notices ----------------------------------------------------------------------


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


def open_statuses() -> list[str]:
    return list(OPEN_REC_STATUSES)
