"""Demo case files (``seed_demo`` calls :func:`extend_demo` after the documents exist).

The province gets last year's file plan (approved) and this year's made from it, a file
of last year closed with its documents and an open file of this year holding the
province's issued documents. Idempotent: a plan that exists is left alone.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from workflow.organisation.models import Role

PLAN = [
    ("I. Công tác tổng hợp", "01.VP", "Hồ sơ hội nghị Ủy ban MTTQ tỉnh", None),
    ("I. Công tác tổng hợp", "02.VP", "Chương trình, kế hoạch công tác năm", 10),
    ("I. Công tác tổng hợp", "03.VP", "Báo cáo định kỳ tháng, quý, năm", 5),
    ("II. Công tác dân chủ - pháp luật", "01.BDC", "Hồ sơ giám sát, phản biện xã hội", 20),
    ("II. Công tác dân chủ - pháp luật", "02.BDC", "Tổng hợp ý kiến, kiến nghị cử tri", 10),
    ("III. Văn thư", "01.VT", "Công văn trao đổi về công tác văn thư", 2),
]


def extend_demo(demo) -> None:
    from workflow.documents.models import PUBLISHED_STATES, Document

    from . import services
    from .models import FilePlan

    province = demo.demo_units["tinh"]
    clerk, leader = demo.person("tinh", Role.CLERK), demo.person("tinh", Role.LEADER)
    year = timezone.localdate().year
    if FilePlan.objects.filter(unit=province, year__in=[year - 1, year]).exists():
        return
    plan = services.create_plan(clerk, province, year - 1)
    for heading, code, title, retention in PLAN:
        services.add_plan_entry(clerk, plan.pk, code=code, title=title, retention=retention,
                                heading=heading, responsible_id=clerk.pk)
    services.approve_plan(leader, plan.pk)
    current = services.copy_plan(clerk, province, year)
    services.approve_plan(leader, current.pk)
    demo.count("file plans", 2)
    issued = list(Document.objects.filter(unit=province, state__in=PUBLISHED_STATES)
                  .order_by("issued_at", "pk").values_list("pk", flat=True))
    if len(issued) < 2:
        return
    old = services.open_case_file(clerk, province, code="", title="",
                                  plan_entry_id=plan.entries.get(code="02.VP").pk,
                                  start_date=dt.date(year - 1, 1, 2))
    services.file_documents(clerk, old.pk, documents=issued[:1])
    services.close_case_file(clerk, old.pk, end_date=timezone.localdate())
    ongoing = services.open_case_file(clerk, province, code="", title="",
                                      plan_entry_id=current.entries.get(code="01.VP").pk)
    services.file_documents(clerk, ongoing.pk, documents=issued[1:6])
    demo.count("case files", 2)
