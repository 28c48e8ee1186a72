"""Shared helpers for the oversight tests."""

from __future__ import annotations

from workflow.documents.models import DocumentType
from workflow.organisation.models import Role
from workflow.oversight.models import CritiqueCase, SupervisionCase
from workflow.oversight.services.casedocs import create_case_document
from workflow.oversight.services.critique import critique_action, open_critique
from workflow.oversight.services.recommendations import add_recommendation
from workflow.oversight.services.supervision import (
    add_activity,
    open_supervision,
    supervision_action,
)


def ensure_types() -> None:
    DocumentType.objects.get_or_create(code="quyet-dinh",
                                       defaults={"name": "Quyết định", "abbreviation": "QĐ"})


def unit_key(org, unit_id: int) -> str:
    return next(k for k, u in org.units.items() if u.pk == unit_id)


def issue_doc(org, document, capture, target: str = "issued"):
    from tests.factories import advance

    with capture(execute=True):
        return advance(org, document, target)


def critique_to(org, capture, target: str, unit: str = "province") -> CritiqueCase:
    """Drive a critique case up to ``target`` with the right people at each step."""
    spec = org.person(unit, Role.SPECIALIST)
    leader = org.person(unit, Role.LEADER)
    case = open_critique(spec, unit=org.units[unit], title="Dự thảo Nghị quyết đất đai",
                         agency="Sở Tài nguyên và Môi trường",
                         received_on="2025-03-01")
    order = ["received", "planned", "in_progress", "conclusion_drafted", "approved", "issued",
             "awaiting_reply", "reply_received", "closed"]

    def reached() -> bool:
        case.refresh_from_db()
        return order.index(case.state) >= order.index(target)

    if reached():
        return case
    plan = create_case_document(spec, case, "plan")
    issue_doc(org, plan, capture, "approved")
    if reached():
        return case
    critique_action(spec, case.pk, "start", form="conference")
    if reached():
        return case
    conclusion = create_case_document(spec, case, "conclusion")
    critique_action(spec, case.pk, "draft_conclusion")
    if reached():
        return case
    critique_action(leader, case.pk, "approve")
    if reached():
        return case
    issue_doc(org, conclusion, capture)
    if reached():
        return case
    critique_action(spec, case.pk, "send", on="2025-04-01")
    if reached():
        return case
    critique_action(spec, case.pk, "receive_reply", on="2025-04-20",
                    accepted="Điểm 1, 2", explained="Điểm 3")
    if reached():
        return case
    critique_action(leader, case.pk, "close", on="2025-04-25")
    case.refresh_from_db()
    return case


def supervision_to(org, capture, target: str, unit: str = "province") -> SupervisionCase:
    ensure_types()
    spec = org.person(unit, Role.SPECIALIST)
    leader = org.person(unit, Role.LEADER)
    case = open_supervision(spec, unit=org.units[unit], title="Giám sát bồi thường",
                            supervised_body="UBND huyện Nam Đàn")
    order = ["planned", "team_formed", "in_progress", "reported", "following_up", "closed"]

    def reached() -> bool:
        case.refresh_from_db()
        return order.index(case.state) >= order.index(target)

    if reached():
        return case
    decision = create_case_document(spec, case, "decision")
    issue_doc(org, decision, capture)
    if reached():
        return case
    supervision_action(spec, case.pk, "start")
    add_activity(spec, case.pk, kind="visit", on="2025-05-02", place="Xã Kim Liên")
    if reached():
        return case
    add_recommendation(spec, unit=None, source="supervision", supervision=case,
                       topic="Chi trả bồi thường chậm", addressee="UBND huyện Nam Đàn",
                       raised_on="2025-05-10", due_date="2025-07-10")
    report = create_case_document(spec, case, "report")
    supervision_action(spec, case.pk, "report")
    if reached():
        return case
    issue_doc(org, report, capture)
    if reached():
        return case
    supervision_action(leader, case.pk, "close", on="2025-08-01")
    case.refresh_from_db()
    return case
