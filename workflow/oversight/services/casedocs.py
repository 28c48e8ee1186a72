"""The foundation documents of a case (plan, conclusion, decision forming the team, report):
drafting or linking them, and moving cases and recommendation reports forward when those
documents are approved or issued (``sync_document``, called from the ``document_changed``
receiver). It may call the documents services, :mod:`.common` and :mod:`.reports` (to forward
a report whose document was issued).
"""

from __future__ import annotations

import datetime as dt
from html import escape

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from workflow.audit.services import record
from workflow.documents import services as documents
from workflow.documents.errors import Conflict, InvalidInput
from workflow.documents.models import Document
from workflow.documents.models import State as DocState

from ..models import (
    CritiqueCase,
    CritiqueState,
    RecommendationReport,
    RecStatus,
    SupervisionCase,
    SupervisionState,
)
from .common import _document_type, _int_or_none, get_object
from .reports import _forward_report

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
