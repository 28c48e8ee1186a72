"""Dashboard figures against a fixture whose right answers are worked out by hand below."""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps
from django.utils import timezone

from workflow.documents.models import Document
from workflow.organisation.models import Role
from workflow.oversight import targets
from workflow.oversight.models import (
    CritiqueCase,
    PeriodicReport,
    Recommendation,
    SupervisionCase,
)

TODAY = dt.date(2025, 12, 31)
D = dt.date


def at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(9)))


def rec(unit, source, raised, *, forward_due=None, forwarded=None, due=None, resolved=None,
        legitimate=True):
    return Recommendation.objects.create(
        unit=unit, source=source, topic="x", addressee="UBND", raised_on=raised,
        forward_due=forward_due, forwarded_on=forwarded, due_date=due, resolved_on=resolved,
        legitimate=legitimate)


@pytest.fixture
def world(org, settings):
    settings.OVERSIGHT_SIGNATURE_MODEL = None
    u = org.units
    # Supervisions held (report issued) in 2025: province 2 (+1 in 2024), district 2,
    # commune 1; one planned province case with no report counts for nothing.
    for unit, days in [("province", [D(2025, 3, 1), D(2025, 9, 1), D(2024, 11, 1)]),
                       ("district", [D(2025, 4, 1), D(2025, 5, 1)]),
                       ("commune", [D(2025, 6, 1)])]:
        for day in days:
            SupervisionCase.objects.create(unit=u[unit], title="GS", supervised_body="X",
                                           state="following_up", held_on=day)
    SupervisionCase.objects.create(unit=u["province"], title="GS", supervised_body="X")
    # Critiques held in 2025: province 4, district 1.
    for unit, n in [("province", 4), ("district", 1)]:
        for i in range(n):
            CritiqueCase.objects.create(unit=u[unit], title="PB", state="closed",
                                        held_on=D(2025, 2 + i, 10))
    CritiqueCase.objects.create(unit=u["district"], title="PB", state="in_progress")
    # Issued documents: province 4 in 2025 (3 signed), 1 in 2024, 1 draft; district 2, signed.
    drafter = org.person("province", Role.SPECIALIST)
    dtype = org.types["cong-van"]

    def doc(unit, issued, signed, state="issued"):
        return Document.objects.create(unit=u[unit], document_type=dtype, subject="VB",
                                       drafter=drafter, state=state,
                                       issued_at=at(issued) if issued else None,
                                       signed_at=at(issued) if signed else None)

    for i, signed in enumerate([True, True, True, False]):
        doc("province", D(2025, 1 + i, 5), signed)
    doc("province", D(2024, 6, 1), True)
    doc("province", None, False, state="draft")
    doc("district", D(2025, 7, 1), True)
    doc("district", D(2025, 8, 1), True, state="archived")
    # Meetings: province 2 held (one paperless), 1 cancelled; district 1 concluded paperless.
    Meeting = apps.get_model("meetings", "Meeting")
    leader = org.person("province", Role.LEADER)
    for unit, state, paperless in [("province", "closed", True), ("province", "closed", False),
                                   ("province", "cancelled", True),
                                   ("district", "concluded", True)]:
        Meeting.objects.create(unit=u[unit], title="H", starts_at=at(D(2025, 5, 5)),
                               chair=leader, secretary=leader, created_by=leader, state=state,
                               paperless=paperless)
    # Voters' recommendations (district): A in time, B late, C never forwarded and past
    # due, D not yet due (not counted) -> 1 of 3.
    due = D(2025, 3, 16)
    rec(u["district"], "voter_meeting", D(2025, 3, 1), forward_due=due, forwarded=D(2025, 3, 10))
    rec(u["district"], "voter_meeting", D(2025, 3, 1), forward_due=due, forwarded=D(2025, 3, 20))
    rec(u["district"], "voter_meeting", D(2025, 3, 1), forward_due=due)
    rec(u["district"], "voter_meeting", D(2025, 12, 25), forward_due=D(2026, 1, 9))
    # Dialogue (commune): E on time, F late, G unresolved and past due, H not legitimate,
    # I on time, J not yet due -> 2 of 4.
    rec(u["commune"], "dialogue", D(2025, 4, 1), due=D(2025, 5, 1), resolved=D(2025, 4, 20))
    rec(u["commune"], "dialogue", D(2025, 4, 1), due=D(2025, 5, 1), resolved=D(2025, 5, 10))
    rec(u["commune"], "dialogue", D(2025, 4, 1), due=D(2025, 6, 1))
    rec(u["commune"], "dialogue", D(2025, 4, 1), due=D(2025, 6, 1), legitimate=False)
    rec(u["commune"], "dialogue", D(2025, 4, 1), due=D(2025, 6, 1), resolved=D(2025, 6, 1))
    rec(u["commune"], "dialogue", D(2025, 12, 1), due=D(2026, 2, 1))
    # Periodic reports: H1 and Y are due by the 31st of December. Province filed both,
    # district only H1.
    for unit, period in [("province", "H1"), ("province", "Y"), ("district", "H1")]:
        PeriodicReport.objects.create(unit=u[unit], year=2025, period=period,
                                      filed_on=D(2025, 6, 1))
    return org


def row(board, org, key):
    return next(r for r in board.rows if r.id == org.units[key].pk)


@pytest.mark.django_db
def test_unit_figures(world):
    org = world
    board = targets.compute(2025, org.units["province"], today=TODAY)
    assert len(board.rows) == 5
    p, d, d2, c, c2 = (row(board, org, k) for k in
                       ("province", "district", "district2", "commune", "commune2"))
    assert (p.figures["supervisions"].num, p.figures["supervisions"].den) == (2, 3)
    assert p.figures["supervisions"].light == "amber"
    assert d.figures["supervisions"].met and c.figures["supervisions"].met
    assert c2.figures["supervisions"].light == "red"
    assert (p.figures["critiques"].num, p.figures["critiques"].den) == (4, 4)
    assert (d.figures["critiques"].num, d.figures["critiques"].den) == (1, 2)
    assert (p.figures["signed"].num, p.figures["signed"].den) == (3, 4)
    assert p.figures["signed"].pct == 75.0
    assert (d.figures["signed"].num, d.figures["signed"].den) == (2, 2)
    assert d2.figures["signed"].pct is None and d2.figures["signed"].light == "grey"
    assert (p.figures["paperless"].num, p.figures["paperless"].den) == (1, 2)
    assert (d.figures["paperless"].num, d.figures["paperless"].den) == (1, 1)
    assert d.figures["paperless"].target == 90 and c.figures["paperless"].target == 80
    assert (d.figures["voters_forwarded"].num, d.figures["voters_forwarded"].den) == (1, 3)
    assert d.figures["voters_forwarded"].pct == 33.3
    assert (c.figures["dialogue_resolved"].num, c.figures["dialogue_resolved"].den) == (2, 4)
    assert (p.figures["periodic_reports"].num, p.figures["periodic_reports"].den) == (1, 1)
    assert (d.figures["periodic_reports"].num, d.figures["periodic_reports"].den) == (0, 1)
    assert p.light == "red"  # paperless 50% against 100%


@pytest.mark.django_db
def test_level_summary(world):
    board = targets.compute(2025, world.units["province"], today=TODAY)
    levels = {lv.code: lv for lv in board.levels}
    assert [lv.code for lv in board.levels] == ["tinh", "huyen", "xa"]
    # Quotas: share of units meeting them; totals are cases held.
    assert (levels["huyen"].figures["supervisions"].num,
            levels["huyen"].figures["supervisions"].den) == (1, 2)
    assert levels["huyen"].totals["supervisions"] == 2
    assert (levels["xa"].figures["supervisions"].num,
            levels["xa"].figures["supervisions"].den) == (1, 2)
    assert levels["tinh"].figures["critiques"].pct == 100.0
    # Shares are pooled over the units of the level.
    assert (levels["huyen"].figures["signed"].num, levels["huyen"].figures["signed"].den) \
        == (2, 2)
    assert (levels["huyen"].figures["periodic_reports"].num,
            levels["huyen"].figures["periodic_reports"].den) == (0, 2)


@pytest.mark.django_db
def test_periodic_reports_only_count_periods_already_due(world):
    board = targets.compute(2025, world.units["province"], today=D(2025, 7, 1))
    d = row(board, world, "district")
    assert (d.figures["periodic_reports"].num, d.figures["periodic_reports"].den) == (1, 1)
    board = targets.compute(2025, world.units["province"], today=D(2025, 3, 1))
    assert row(board, world, "province").figures["periodic_reports"].den == 0


@pytest.mark.django_db
def test_subtree_and_drilldown(world):
    org = world
    board = targets.compute(2025, org.units["province"], today=TODAY)
    assert targets.subtree_figure(board, org.units["province"].pk, "supervisions").num == 5
    assert targets.subtree_figure(board, org.units["district"].pk, "supervisions").num == 3
    missing = targets.records("voters_forwarded", 2025, org.units["district"], part="missing",
                              today=TODAY)
    assert missing.count() == 2
    assert targets.records("voters_forwarded", 2025, org.units["district"], part="ok",
                           today=TODAY).count() == 1
    assert targets.records("signed", 2025, org.units["province"], part="missing",
                           today=TODAY).count() == 1
    assert targets.records("supervisions", 2025, org.units["province"], subtree=True,
                           today=TODAY).count() == 5
    missing_units = targets.records("periodic_reports", 2025, org.units["province"],
                                    subtree=True, part="missing", today=TODAY)
    assert missing_units.count() == 4


@pytest.mark.django_db
def test_root_below_province_and_configured_quota(world, settings):
    settings.OVERSIGHT_QUOTAS = {"huyen": {"supervision": 1, "critique": 1}}
    board = targets.compute(2025, world.units["district"], today=TODAY)
    assert {r.id for r in board.rows} == {world.units[k].pk for k in
                                          ("district", "commune", "commune2")}
    d = row(board, world, "district")
    assert d.figures["supervisions"].den == 1 and d.figures["critiques"].met
    # No quota configured for communes: nothing is required, so no light.
    assert row(board, world, "commune").figures["supervisions"].light == "grey"


@pytest.mark.django_db
def test_signature_requires_signed_pdf_when_signing_installed(world, settings):
    settings.OVERSIGHT_SIGNATURE_MODEL = ("signing.SignedPdf", "document",
                                          {"stage__in": ["signed", "issued"]})
    SignedPdf = apps.get_model("signing", "SignedPdf")
    first = Document.objects.filter(unit=world.units["province"], signed_at__isnull=False,
                                    issued_at__year=2025).order_by("pk").first()
    SignedPdf.objects.create(document=first, stage="issued", blob="x.pdf", sha256="0" * 64,
                             size=1, page_count=1, content_hash="0" * 64)
    board = targets.compute(2025, world.units["province"], today=TODAY)
    p = row(board, world, "province")
    assert (p.figures["signed"].num, p.figures["signed"].den) == (1, 4)
