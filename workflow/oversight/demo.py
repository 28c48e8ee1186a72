"""Demo data for oversight: cases in every state, recommendations, periodic filings.

``seed_demo`` calls :func:`extend_demo` after the core demo exists;
``manage.py seed_demo_oversight`` runs it on its own. Everything is looked up
before it is created, so running it again changes nothing.

The demo units (which have demo accounts) get cases driven through the real
flows, documents included. Every other unit gets a few closed cases and filings
made directly, so the dashboard for the whole province has figures at first run.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from workflow.organisation.models import Role, Unit

from .models import (
    CritiqueCase,
    CritiqueState,
    PeriodicReport,
    Recommendation,
    RecStatus,
    Source,
    SupervisionCase,
    SupervisionState,
)

FLOW = ["draft", "submitted", "reviewed", "approved", "signed", "issued", "archived"]
# Topics for the closed cases spread over every unit (without documents).
BULK_SUPERVISIONS = [
    "Giám sát thực hiện quy chế dân chủ ở cơ sở",
    "Giám sát việc quản lý, sử dụng Quỹ Vì người nghèo",
    "Giám sát công tác cấp giấy chứng nhận quyền sử dụng đất",
    "Giám sát thực hiện chính sách bảo hiểm xã hội tự nguyện",
]
BULK_CRITIQUES = [
    "Phản biện dự thảo kế hoạch phát triển kinh tế - xã hội năm",
    "Phản biện dự thảo đề án xây dựng nông thôn mới nâng cao",
    "Phản biện dự thảo quy định về quản lý chợ",
    "Phản biện dự thảo phương án sử dụng đất công ích",
]

CRITIQUE_TITLES = {
    CritiqueState.RECEIVED: ("Dự thảo Nghị quyết quy định mức thu học phí năm học mới",
                             "Sở Giáo dục và Đào tạo"),
    CritiqueState.PLANNED: ("Dự thảo Quy hoạch mạng lưới chợ trên địa bàn tỉnh",
                            "Sở Công Thương"),
    CritiqueState.IN_PROGRESS: ("Dự thảo Nghị quyết hỗ trợ phát triển nông nghiệp công nghệ "
                                "cao", "Sở Nông nghiệp và Phát triển nông thôn"),
    CritiqueState.CONCLUSION_DRAFTED: ("Dự thảo Đề án sắp xếp đơn vị hành chính cấp xã",
                                       "Sở Nội vụ"),
    CritiqueState.APPROVED: ("Dự thảo Quy định bảng giá đất giai đoạn 2025-2029",
                             "Sở Tài nguyên và Môi trường"),
    CritiqueState.ISSUED: ("Dự thảo Kế hoạch phát triển du lịch cộng đồng", "Sở Du lịch"),
    CritiqueState.AWAITING_REPLY: ("Dự thảo Nghị quyết chính sách thu hút nhân lực y tế",
                                   "Sở Y tế"),
    CritiqueState.REPLY_RECEIVED: ("Dự thảo Quy định hỗ trợ nhà ở cho hộ nghèo",
                                   "Sở Xây dựng"),
    CritiqueState.CLOSED: ("Dự thảo Nghị quyết về phí bảo vệ môi trường đối với khai thác "
                           "khoáng sản", "Sở Tài chính"),
}
SUPERVISION_TITLES = {
    SupervisionState.PLANNED: ("Giám sát việc thực hiện chính sách bảo hiểm y tế cho người "
                               "cận nghèo", "Bảo hiểm xã hội tỉnh"),
    SupervisionState.TEAM_FORMED: ("Giám sát công tác bồi thường, giải phóng mặt bằng dự án "
                                   "đường ven biển", "UBND huyện Nghi Lộc"),
    SupervisionState.IN_PROGRESS: ("Giám sát việc giải quyết đơn thư khiếu nại về đất đai",
                                   "Sở Tài nguyên và Môi trường"),
    SupervisionState.REPORTED: ("Giám sát thực hiện chương trình xây dựng nông thôn mới",
                                "UBND huyện Đô Lương"),
    SupervisionState.FOLLOWING_UP: ("Giám sát an toàn thực phẩm bếp ăn tập thể trường học",
                                    "Sở Y tế"),
    SupervisionState.CLOSED: ("Giám sát việc chi trả trợ cấp xã hội", "Sở Lao động - Thương "
                              "binh và Xã hội"),
}


class _People:
    """The demo people of one unit, and whether the seed has signing keys."""

    def __init__(self, demo, level: str):
        self.demo, self.level = demo, level
        self.signing = bool(getattr(demo, "signing_ready", False))

    def __call__(self, role: str):
        return self.demo.person(self.level, role)


def _drive(people: _People, document, target: str):
    """Move a demo document through the approval flow with the unit's demo people.

    With signing keys every step goes through ``services.perform`` as the UI does, so
    issued case documents carry real signed PDFs and count as digitally signed on the
    dashboard; without keys the bare transitions still give every state.
    """
    from workflow.documents import services

    step = services.perform if people.signing else services.transition

    while FLOW.index(document.state) < FLOW.index(target):
        state = document.state
        if state == "draft":
            actor, action = document.drafter, "submit"
        elif state == "submitted":
            role = document.awaiting_role or Role.LEADER
            actor, action = people(role), "forward"
        elif state == "reviewed":
            actor, action = people(Role.LEADER), "approve"
        elif state == "approved":
            actor, action = people(Role.LEADER), "sign"
        elif state == "signed":
            actor, action = people(Role.CLERK), "issue"
        else:
            actor, action = people(Role.CLERK), "archive"
        document = step(actor, document.pk, action)
    return document


def _critique(people, unit: Unit, target: str, title: str, agency: str, today: dt.date) -> bool:
    from .services.casedocs import create_case_document, sync_document
    from .services.critique import add_opinion, critique_action, open_critique

    if CritiqueCase.objects.filter(unit=unit, title=title).exists():
        return False
    spec, leader = people(Role.SPECIALIST), people(Role.LEADER)
    order = [s.value for s in CritiqueState]
    case = open_critique(spec, unit=unit, title=title, agency=agency,
                         received_on=today - dt.timedelta(days=90))

    def done() -> bool:
        case.refresh_from_db()
        return order.index(case.state) >= order.index(target)

    plan = create_case_document(spec, case, "plan")
    if target == CritiqueState.RECEIVED:
        return True
    _drive(people, plan, "approved")
    sync_document(plan.pk)
    if done():
        return True
    critique_action(spec, case.pk, "start", form="written" if "Quy hoạch" in title
                    else "conference")
    add_opinion(spec, case.pk, name="TS. Nguyễn Văn Hải (Hội đồng tư vấn)",
                deadline=today - dt.timedelta(days=5))
    if done():
        return True
    conclusion = create_case_document(spec, case, "conclusion")
    critique_action(spec, case.pk, "draft_conclusion")
    if done():
        return True
    critique_action(leader, case.pk, "approve")
    if done():
        return True
    _drive(people, conclusion, "issued")
    sync_document(conclusion.pk)
    if done():
        return True
    # The one waiting for a reply is late on purpose: the list shows it in red.
    critique_action(spec, case.pk, "send", on=today - dt.timedelta(days=40))
    if done():
        return True
    critique_action(spec, case.pk, "receive_reply", on=today - dt.timedelta(days=3),
                    accepted="Tiếp thu ý kiến về đối tượng và mức hỗ trợ.",
                    explained="Giải trình về nguồn kinh phí thực hiện.")
    if done():
        return True
    critique_action(leader, case.pk, "close", on=today)
    return True


def _supervision(people, unit: Unit, target: str, title: str, body: str,
                 today: dt.date) -> bool:
    from .services.casedocs import create_case_document, sync_document
    from .services.recommendations import add_recommendation, recommendation_action
    from .services.supervision import add_activity, open_supervision, supervision_action

    if SupervisionCase.objects.filter(unit=unit, title=title).exists():
        return False
    spec, leader = people(Role.SPECIALIST), people(Role.LEADER)
    order = [s.value for s in SupervisionState]
    case = open_supervision(spec, unit=unit, title=title, supervised_body=body,
                            planned_start=today - dt.timedelta(days=60),
                            planned_end=today + dt.timedelta(days=30))

    def done() -> bool:
        case.refresh_from_db()
        return order.index(case.state) >= order.index(target)

    decision = create_case_document(spec, case, "decision")
    if target == SupervisionState.PLANNED:
        return True
    _drive(people, decision, "issued")
    sync_document(decision.pk)
    if done():
        return True
    supervision_action(spec, case.pk, "start")
    add_activity(spec, case.pk, kind="visit", on=today - dt.timedelta(days=20),
                 place=body, description="Làm việc trực tiếp với đơn vị.")
    add_activity(spec, case.pk, kind="review", on=today - dt.timedelta(days=15),
                 description="Nghiên cứu hồ sơ, báo cáo của đơn vị.")
    if done():
        return True
    for topic, due in [("Đẩy nhanh tiến độ chi trả, giải quyết dứt điểm các trường hợp tồn "
                        "đọng", 30), ("Công khai danh sách đối tượng tại khu dân cư", 60)]:
        add_recommendation(spec, unit=None, source=Source.SUPERVISION,
                           supervision=case, topic=topic, addressee=body,
                           field="social", raised_on=today - dt.timedelta(days=10),
                           due_date=today + dt.timedelta(days=due - 40))
    report = create_case_document(spec, case, "report")
    supervision_action(spec, case.pk, "report")
    if done():
        return True
    _drive(people, report, "issued")
    sync_document(report.pk)
    if done():
        return True
    first = case.recommendations.order_by("pk").first()
    recommendation_action(spec, first.pk, "respond", text="Đã chỉ đạo khắc phục.")
    recommendation_action(spec, first.pk, "resolve")
    supervision_action(leader, case.pk, "close")
    return True


def _voters(people, unit: Unit, today: dt.date) -> int:
    """Voters' recommendations at a district: some aggregated and forwarded, some late."""
    from .services.casedocs import sync_document
    from .services.recommendations import add_recommendation
    from .services.reports import create_recommendation_report

    if Recommendation.objects.filter(unit=unit, source=Source.VOTER_MEETING).exists():
        return 0
    spec = people(Role.SPECIALIST)
    start = today - dt.timedelta(days=45)
    items = [
        ("Nâng cấp tuyến đường liên xã bị xuống cấp", "UBND huyện", "economy"),
        ("Cấp giấy chứng nhận quyền sử dụng đất còn chậm", "UBND huyện", "land"),
        ("Ô nhiễm từ trang trại chăn nuôi tập trung", "Phòng Tài nguyên và Môi trường",
         "land"),
        ("Chế độ cho người có công chưa kịp thời", "Phòng Lao động - Thương binh và Xã hội",
         "social"),
        ("Tình trạng xe quá tải trên tỉnh lộ", "Công an huyện", "security"),
    ]
    for i, (topic, addressee, field) in enumerate(items):
        add_recommendation(spec, unit=unit, source=Source.VOTER_MEETING, topic=topic,
                           addressee=addressee, field=field,
                           raised_on=start + dt.timedelta(days=i))
    report = create_recommendation_report(
        spec, unit=unit, period_start=start, period_end=start + dt.timedelta(days=2),
        sources=[Source.VOTER_MEETING])
    _drive(people, report.document, "issued")
    sync_document(report.document_id)
    # One more raised recently, not yet aggregated.
    add_recommendation(spec, unit=unit, source=Source.VOTER_MEETING,
                       topic="Thiếu điểm sinh hoạt cộng đồng ở khu dân cư mới",
                       addressee="UBND huyện", field="social",
                       raised_on=today - dt.timedelta(days=2))
    return len(items) + 1


def _dialogue(people, unit: Unit, today: dt.date) -> int:
    from .services.recommendations import add_recommendation, recommendation_action

    if Recommendation.objects.filter(unit=unit, source=Source.DIALOGUE).exists():
        return 0
    spec = people(Role.SPECIALIST)
    raised = today - dt.timedelta(days=70)
    rows = [
        ("Hỗ trợ chuyển đổi cây trồng vùng đồi", 20, "resolve_on_time"),
        ("Sửa chữa kênh mương nội đồng", 30, "resolve_on_time"),
        ("Giải quyết tranh chấp ranh giới đất giữa hai thôn", 40, "resolve_late"),
        ("Bố trí điểm thu gom rác thải", 50, "open_late"),
        ("Đề nghị làm đường bê tông vào khu sản xuất", 120, "open"),
        ("Kiến nghị miễn toàn bộ các khoản đóng góp", 30, "not_legitimate"),
    ]
    for topic, days, fate in rows:
        due = raised + dt.timedelta(days=days)
        rec = add_recommendation(spec, unit=unit, source=Source.DIALOGUE, topic=topic,
                                 addressee="UBND xã", field="economy", raised_on=raised,
                                 due_date=due, legitimate=fate != "not_legitimate")
        recommendation_action(spec, rec.pk, "forward", on=raised + dt.timedelta(days=3))
        if fate == "resolve_on_time":
            recommendation_action(spec, rec.pk, "resolve", on=due - dt.timedelta(days=5))
        elif fate == "resolve_late":
            recommendation_action(spec, rec.pk, "resolve", on=due + dt.timedelta(days=7))
    return len(rows)


def _bulk(today: dt.date) -> int:
    """Closed cases and filings for every other unit, spread deterministically."""
    if SupervisionCase.objects.filter(title__in=BULK_SUPERVISIONS,
                                      created_by__isnull=True).exists():
        return 0
    year = today.year
    units = list(Unit.objects.filter(is_active=True).select_related("level"))
    sup, crit, filings, recs = [], [], [], []
    done_until = max(today - dt.timedelta(days=1), dt.date(year, 1, 1))
    span = max((done_until - dt.date(year, 1, 1)).days, 1)
    for unit in units:
        rank = unit.level.rank
        if rank > 2:
            continue
        seed = unit.pk * 7919
        quotas = {0: (3, 4), 1: (2, 2), 2: (1, 1)}[rank]
        n_sup = max(quotas[0] - seed % 3, 0) if rank else 1
        n_crit = max(quotas[1] - (seed // 3) % 3, 0) if rank else 2
        for kind, count, bucket in (("sup", n_sup, sup), ("crit", n_crit, crit)):
            for i in range(count):
                held = dt.date(year, 1, 1) + dt.timedelta(days=(seed + 37 * i) % span)
                titles = BULK_SUPERVISIONS if kind == "sup" else BULK_CRITIQUES
                title = titles[(seed + i) % len(titles)]
                if kind == "sup":
                    bucket.append(SupervisionCase(unit=unit, title=title, held_on=held,
                                                  supervised_body="UBND cùng cấp",
                                                  state=SupervisionState.CLOSED,
                                                  closed_on=held))
                else:
                    bucket.append(CritiqueCase(unit=unit, title=title, agency="UBND cùng cấp",
                                               held_on=held, state=CritiqueState.CLOSED,
                                               closed_on=held, received_on=held))
        # About nine in ten units filed their reports.
        if seed % 10:
            for period, (month, day) in {"H1": (6, 20), "Y": (12, 20)}.items():
                if dt.date(year, month, day) < today:
                    filings.append(PeriodicReport(unit=unit, year=year, period=period,
                                                  filed_on=dt.date(year, month, day)))
        if rank == 1:
            raised = dt.date(year, 1, 1) + dt.timedelta(days=seed % span)
            for i in range(4):
                forwarded = raised + dt.timedelta(days=10 if (seed + i) % 5 else 25)
                recs.append(Recommendation(
                    unit=unit, source=Source.VOTER_MEETING,
                    topic=VOTER_TOPICS[(seed + i) % len(VOTER_TOPICS)],
                    addressee="UBND tỉnh", raised_on=raised,
                    forward_due=raised + dt.timedelta(days=15),
                    forwarded_on=forwarded if forwarded < today else None,
                    due_date=raised + dt.timedelta(days=75), status=RecStatus.FORWARDED
                    if forwarded < today else RecStatus.NEW))
    SupervisionCase.objects.bulk_create(sup)
    CritiqueCase.objects.bulk_create(crit)
    PeriodicReport.objects.bulk_create(filings, ignore_conflicts=True)
    Recommendation.objects.bulk_create(recs)
    return len(sup) + len(crit) + len(filings) + len(recs)


VOTER_TOPICS = [
    "Đề nghị đầu tư hệ thống nước sạch nông thôn",
    "Đề nghị sửa chữa trường mầm non xuống cấp",
    "Kiến nghị về giá thu mua nông sản",
    "Đề nghị tăng cường kiểm tra an toàn giao thông",
]


@transaction.atomic
def extend_demo(demo) -> None:
    """Hook called by the core ``seed_demo``; ``demo`` is its DemoData."""
    today = timezone.localdate()

    def people_of(level: str) -> _People:
        return _People(demo, level)

    province = demo.demo_units["tinh"]
    made = 0
    for state, (title, agency) in CRITIQUE_TITLES.items():
        made += _critique(people_of("tinh"), province, state, title, agency, today)
    for state, (title, body) in SUPERVISION_TITLES.items():
        made += _supervision(people_of("tinh"), province, state, title, body, today)
    demo.count("oversight cases", made)
    demo.count("recommendations", _voters(people_of("huyen"), demo.demo_units["huyen"], today))
    demo.count("recommendations", _dialogue(people_of("xa"), demo.demo_units["xa"], today))
    demo.count("oversight records (bulk)", _bulk(today))
