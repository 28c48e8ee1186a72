"""Critique, supervision and recommendation flows, and who may move them (a matrix)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.oversight_helpers import critique_to, ensure_types, supervision_to
from workflow import access
from workflow.audit.services import history
from workflow.documents.errors import Conflict, InvalidInput, NotAllowed, NotFound
from workflow.documents.models import Document
from workflow.organisation.models import Role
from workflow.oversight.models import CritiqueCase, Recommendation, RecStatus
from workflow.oversight.services.common import get_object
from workflow.oversight.services.critique import (
    add_opinion,
    critique_action,
    open_critique,
    record_opinion,
)
from workflow.oversight.services.recommendations import add_recommendation, recommendation_action
from workflow.oversight.services.reports import create_recommendation_report
from workflow.oversight.services.supervision import supervision_action


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


CRITIQUE_STATES = ["received", "planned", "in_progress", "conclusion_drafted", "approved",
                   "issued", "awaiting_reply", "reply_received", "closed"]


@pytest.mark.django_db
@pytest.mark.parametrize("target", CRITIQUE_STATES)
def test_critique_reaches_every_state(org, capture, target):
    case = critique_to(org, capture, target)
    assert case.state == target
    if target in ("issued", "awaiting_reply", "reply_received", "closed"):
        assert case.held_on is not None
        conclusion = Document.objects.get(pk=case.conclusion_document_id)
        assert conclusion.state == "issued"
    if target == "awaiting_reply":
        assert case.reply_due == dt.date(2025, 4, 1) + dt.timedelta(days=30)


@pytest.mark.django_db
def test_critique_full_flow_is_audited(org, capture):
    case = critique_to(org, capture, "closed")
    actions = [e.action for e in history(case)]
    for expected in ["critiquecase.open", "critiquecase.plan", "critiquecase.start",
                     "critiquecase.draft_conclusion", "critiquecase.approve",
                     "critiquecase.issue", "critiquecase.send", "critiquecase.receive_reply",
                     "critiquecase.close"]:
        assert expected in actions
    assert case.reply_accepted == "Điểm 1, 2"


@pytest.mark.django_db
def test_conclusion_approved_in_documents_approves_case(org, capture):
    case = critique_to(org, capture, "conclusion_drafted")
    from tests.oversight_helpers import issue_doc

    issue_doc(org, Document.objects.get(pk=case.conclusion_document_id), capture, "approved")
    case.refresh_from_db()
    assert case.state == "approved"


@pytest.mark.django_db
def test_reply_due_days_is_configuration(org, capture, settings):
    settings.OVERSIGHT_REPLY_DUE_DAYS = 10
    case = critique_to(org, capture, "awaiting_reply")
    assert case.reply_due == dt.date(2025, 4, 11)


@pytest.mark.django_db
def test_overdue_is_computed(org, capture):
    case = critique_to(org, capture, "awaiting_reply")
    assert case.is_overdue  # due 2025-05-01, long past


# Critique actions × people: who may do it from the state where it is possible.
MATRIX = [
    # action, from-state, {role: allowed}
    ("start", "planned", {"specialist": True, "head": True, "leader": True, "clerk": False,
                          "member": False, "province-leader": False, "district2-leader": False}),
    ("approve", "conclusion_drafted", {"specialist": False, "head": False, "leader": True,
                                       "clerk": False, "province-leader": False}),
    ("send", "issued", {"specialist": True, "clerk": False, "member": False,
                        "province-specialist": False}),
    ("close", "reply_received", {"specialist": False, "head": False, "leader": True,
                                 "province-leader": False}),
]


@pytest.mark.django_db
@pytest.mark.parametrize("action,state,table", MATRIX)
def test_critique_permission_matrix(org, capture, action, state, table):
    case = critique_to(org, capture, state, unit="district")
    data = {"start": {"form": "written"}, "send": {"on": "2025-04-01"},
            "close": {"on": "2025-05-01"}}.get(action, {})
    for who, allowed in table.items():
        user = (org.people[tuple(who.split("-"))] if "-" in who
                else org.person("district", who))
        if allowed:
            critique_action(user, case.pk, action, **data)
            case.refresh_from_db()
            assert case.state != state
            break
        with pytest.raises((NotAllowed, NotFound)):
            critique_action(user, case.pk, action, **data)
        case.refresh_from_db()
        assert case.state == state


@pytest.mark.django_db
def test_visibility_rules(org, capture):
    case = critique_to(org, capture, "in_progress", unit="district")
    visible = set(CritiqueCase.objects.filter(access.visible_cases_q(
        org.person("province", Role.LEADER))).values_list("pk", flat=True))
    assert case.pk in visible  # parent unit leader reads
    for outsider in [org.person("district2", Role.LEADER), org.person("commune", Role.LEADER)]:
        assert not access.can_case(outsider, "view", case)
        assert not CritiqueCase.objects.filter(access.visible_cases_q(outsider)).exists()
        with pytest.raises(NotFound):
            get_object(outsider, CritiqueCase, case.pk)
    province_leader = org.person("province", Role.LEADER)
    assert access.can_case(province_leader, "view", case)
    assert not access.can_case(province_leader, "work", case)
    # Only the leaders of an ancestor unit follow it; other provincial staff do not.
    province_spec = org.person("province", Role.SPECIALIST)
    assert not access.can_case(province_spec, "view", case)
    assert not CritiqueCase.objects.filter(access.visible_cases_q(province_spec)).exists()
    assert not access.dashboard_units(province_spec).filter(pk=case.unit_id).exists()
    assert access.dashboard_units(province_leader).filter(pk=case.unit_id).exists()
    assert access.can_case(org.person("district", Role.MEMBER), "view", case)
    assert not access.can_case(org.person("district", Role.MEMBER), "work", case)


@pytest.mark.django_db
def test_double_click_is_refused(org, capture):
    case = critique_to(org, capture, "planned")
    spec = org.person("province", Role.SPECIALIST)
    critique_action(spec, case.pk, "start", form="dialogue", expected_state="planned")
    with pytest.raises(Conflict):
        critique_action(spec, case.pk, "start", form="dialogue",
                        expected_state="planned")


@pytest.mark.django_db
def test_bad_input_is_a_clear_error(org):
    spec = org.person("province", Role.SPECIALIST)
    with pytest.raises(InvalidInput):
        open_critique(spec, unit=org.units["province"], title="", agency="X",
                      received_on="2025-01-01")
    with pytest.raises(InvalidInput):
        open_critique(spec, unit=org.units["province"], title="T", agency="X",
                      received_on="not a date")
    with pytest.raises(NotAllowed):
        open_critique(spec, unit=org.units["district"], title="T", agency="X",
                      received_on="2025-01-01")
    case = open_critique(spec, unit=org.units["province"], title="T",
                         self_initiated=True)
    with pytest.raises(InvalidInput):
        critique_action(spec, case.pk, "plan")
    with pytest.raises(InvalidInput):
        critique_action(spec, case.pk, "fly")


@pytest.mark.django_db
def test_written_opinions(org, capture):
    case = critique_to(org, capture, "in_progress")
    spec = org.person("province", Role.SPECIALIST)
    expert = org.person("province", Role.MEMBER)
    opinion = add_opinion(spec, case.pk, name="TS. Nguyễn Văn A", deadline="2025-03-20",
                          person=expert)
    record_opinion(expert, opinion.pk, text="Đồng ý với dự thảo")
    opinion.refresh_from_db()
    assert opinion.received_on is not None
    with pytest.raises(NotAllowed):
        record_opinion(org.person("province", Role.CLERK), opinion.pk, text="x")


SUPERVISION_STATES = ["planned", "team_formed", "in_progress", "reported", "following_up",
                      "closed"]


@pytest.mark.django_db
@pytest.mark.parametrize("target", SUPERVISION_STATES)
def test_supervision_reaches_every_state(org, capture, target):
    case = supervision_to(org, capture, target)
    assert case.state == target
    if target in ("following_up", "closed"):
        rec = case.recommendations.get()
        assert rec.status == RecStatus.FORWARDED
        assert rec.forwarded_on == case.held_on


@pytest.mark.django_db
def test_supervision_close_needs_leader(org, capture):
    case = supervision_to(org, capture, "following_up")
    with pytest.raises(NotAllowed):
        supervision_action(org.person("province", Role.SPECIALIST), case.pk, "close")
    supervision_action(org.person("province", Role.LEADER), case.pk, "close")


@pytest.mark.django_db
def test_recommendation_flow_and_report(org, capture):
    ensure_types()
    spec = org.person("district", Role.SPECIALIST)
    recs = [
        add_recommendation(spec, unit=org.units["district"], source=source,
                           topic=f"Kiến nghị {i}", addressee=addressee, field=field,
                           raised_on=f"2025-02-0{i + 1}")
        for i, (source, addressee, field) in enumerate([
            ("voter_meeting", "UBND huyện", "land"),
            ("voter_meeting", "UBND huyện", "social"),
            ("voter_meeting", "Công an huyện", "security"),
            ("dialogue", "UBND huyện", "land"),
        ])
    ]
    report = create_recommendation_report(
        spec, unit=org.units["district"], period_start="2025-02-01", period_end="2025-02-28",
        sources=["voter_meeting"])
    assert report.items.count() == 3
    assert report.document.document_type.abbreviation == "BC"
    assert "Công an huyện" in report.document.body
    for rec in recs[:3]:
        rec.refresh_from_db()
        assert rec.status == RecStatus.AGGREGATED
    with pytest.raises(InvalidInput):
        create_recommendation_report(
            spec, unit=org.units["district"], period_start="2025-02-01",
            period_end="2025-02-28", sources=["voter_meeting"])
    from tests.oversight_helpers import issue_doc

    issue_doc(org, report.document, capture)
    report.refresh_from_db()
    assert report.forwarded_on is not None
    rec = Recommendation.objects.get(pk=recs[0].pk)
    assert rec.status == RecStatus.FORWARDED
    recommendation_action(spec, rec.pk, "respond", text="Đã trả lời", on="2025-03-10")
    recommendation_action(spec, rec.pk, "resolve", on="2025-03-20")
    rec.refresh_from_db()
    assert rec.status == RecStatus.RESOLVED and rec.resolved_on_time
    with pytest.raises(Conflict):
        recommendation_action(spec, recs[3].pk, "respond", text="x")
    with pytest.raises(NotAllowed):
        recommendation_action(org.person("district", Role.CLERK), recs[3].pk,
                              "forward")


@pytest.mark.django_db
def test_conference_links_a_meeting_the_person_can_see(org, capture):
    from django.utils import timezone

    from workflow.meetings.models import Meeting

    spec = org.person("province", Role.SPECIALIST)
    leader = org.person("province", Role.LEADER)
    own = Meeting.objects.create(unit=org.units["province"], title="Hội nghị phản biện",
                                 kind="critique", starts_at=timezone.now(), chair=leader,
                                 secretary=spec, created_by=spec)
    other_leader = org.person("district2", Role.LEADER)
    foreign = Meeting.objects.create(unit=org.units["district2"], title="Họp riêng",
                                     starts_at=timezone.now(), chair=other_leader,
                                     secretary=other_leader, created_by=other_leader)
    case = critique_to(org, capture, "planned")
    with pytest.raises(InvalidInput):
        critique_action(spec, case.pk, "start", form="conference", meeting=foreign.pk)
    with pytest.raises(InvalidInput):
        critique_action(spec, case.pk, "start", form="conference", meeting="x")
    critique_action(spec, case.pk, "start", form="conference", meeting=own.pk)
    case.refresh_from_db()
    assert case.meeting == own


# Who may forward a district recommendation / start a district supervision.
WORKERS = {("district", "specialist"): True, ("district", "head"): True,
           ("district", "leader"): True, ("district", "clerk"): False,
           ("district", "member"): False, ("province", "leader"): False,
           ("province", "specialist"): False, ("commune", "leader"): False,
           ("district2", "specialist"): False}


@pytest.mark.django_db
@pytest.mark.parametrize("who,allowed", list(WORKERS.items()), ids=lambda v: str(v))
def test_recommendation_and_supervision_matrix(org, capture, who, allowed):
    spec = org.person("district", Role.SPECIALIST)
    rec = add_recommendation(spec, unit=org.units["district"], source="dialogue",
                             topic="Đường", addressee="UBND huyện")
    case = supervision_to(org, capture, "team_formed", unit="district")
    user = org.people[who]
    for call in (lambda: recommendation_action(user, rec.pk, "forward"),
                 lambda: supervision_action(user, case.pk, "start")):
        if allowed:
            call()
        else:
            with pytest.raises((NotAllowed, NotFound)):
                call()
    rec.refresh_from_db()
    case.refresh_from_db()
    assert (rec.status == RecStatus.FORWARDED) is allowed
    assert (case.state == "in_progress") is allowed
