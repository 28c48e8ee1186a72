"""Demo incoming documents: every state of the handling flow, at xã Kim Liên.

``seed_demo`` calls :func:`extend_demo` after the outgoing demo documents exist
(their issue already delivered the province's and the district's documents).
Here the province issues one document to every commune of the demo district and
one per handling state to the demo commune, and the commune's demo people take
each through the real services: registered, presented, assigned, in handling,
done, filed, one returned, one overdue, one answered by an issued reply; plus
one paper document registered from outside. Looked up by subject first, so
seeding twice changes nothing.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from workflow.organisation.models import Role, Unit

TO_COMMUNES = "V/v hướng dẫn tổ chức Ngày hội Đại đoàn kết toàn dân tộc năm 2026 ở các xã"
# subject -> the state the commune leaves it in
STATES: list[tuple[str, str]] = [
    ("V/v báo cáo kết quả thực hiện Cuộc vận động “Người Việt Nam ưu tiên dùng hàng Việt Nam”",
     "received"),
    ("V/v tổng hợp ý kiến, kiến nghị của cử tri trước kỳ họp", "registered"),
    ("V/v đăng ký chỉ tiêu giám sát, phản biện xã hội năm 2026", "presented"),
    ("V/v triển khai Quỹ “Vì người nghèo” năm 2026", "assigned"),
    ("V/v rà soát hộ nghèo, hộ cận nghèo cuối năm", "in_handling"),
    ("V/v cử cán bộ dự tập huấn công tác Mặt trận", "done"),
    ("V/v hưởng ứng Tháng hành động vì an toàn thực phẩm", "filed"),
    ("V/v gửi nhầm: kế hoạch của xã khác", "returned"),
    ("V/v báo cáo nhanh tình hình thiệt hại do mưa lũ", "overdue"),
    ("V/v góp ý dự thảo Quy chế phối hợp giữa Ủy ban MTTQ và chính quyền xã", "answered"),
]
PAPER = ("UBND xã Kim Liên", "45/GM-UBND", "Giấy mời dự hội nghị sơ kết công tác dân vận")


def extend_demo(demo) -> None:
    from workflow.documents.models import Document

    from . import intake, services
    from .models import IncomingDocument

    if not demo.signing_ready:
        return  # without signing keys nothing is issued, so nothing is delivered
    province, commune = demo.demo_units["tinh"], demo.demo_units["xa"]
    district = demo.demo_units["huyen"]
    existing = set(Document.objects.filter(unit=province).values_list("subject", flat=True))
    communes = list(Unit.objects.filter(parent=district, is_active=True).values_list(
        "pk", flat=True))
    if TO_COMMUNES not in existing:
        _issue(demo, TO_COMMUNES, communes, due=None)
    clerk = demo.person("xa", Role.CLERK)
    leader = demo.person("xa", Role.LEADER)
    specialist = demo.person("xa", Role.SPECIALIST)
    head = demo.person("xa", Role.HEAD)
    today = timezone.localdate()
    for subject, state in STATES:
        if subject in existing:
            continue
        due = today - dt.timedelta(days=3) if state == "overdue" else \
            today + dt.timedelta(days=10)
        document = _issue(demo, subject, [commune.pk], due=due,
                          priority="urgent" if state == "overdue" else "normal")
        incoming = IncomingDocument.objects.get(delivery__document=document, unit=commune)
        if state == "received":
            continue
        if state == "returned":
            services.return_to_sender(clerk, incoming.pk,
                                      reason="Văn bản gửi nhầm nơi nhận, đề nghị kiểm tra lại.")
            continue
        services.register(clerk, incoming.pk)
        if state == "registered":
            continue
        services.present(clerk, incoming.pk, leader_id=leader.pk)
        if state == "presented":
            continue
        services.assign(leader, incoming.pk,
                        direction="Giao Ban Dân chủ chủ trì, tham mưu trả lời đúng hạn.",
                        lead_id=specialist.pk, co_ids=[head.pk],
                        info_ids=[demo.person("xa", Role.MEMBER).pk], deadline=due)
        if state in ("assigned", "overdue"):
            continue
        services.start(specialist, incoming.pk)
        if state == "in_handling":
            continue
        if state == "answered":
            from workflow.organisation.demo import _advance

            reply = services.draft_reply(specialist, incoming.pk)
            reply = _advance(demo, "xa", reply, "issued")
            _deliver_now(reply.pk)
            continue
        services.complete(specialist, incoming.pk, result="Đã cử 02 cán bộ tham dự.")
        if state == "filed":
            services.file(clerk, incoming.pk)
    issuer, number, subject = PAPER
    if not services.duplicates(commune, issuer, number).exists():
        intake.register_external(clerk, commune, source="paper", data={
            "issuer_name": issuer, "number_symbol": number, "subject": subject,
            "type_name": "Giấy mời", "issued_on": today - dt.timedelta(days=2),
            "deadline": today + dt.timedelta(days=5)})
    demo.count("incoming documents", IncomingDocument.objects.filter(unit=commune).count())


def _issue(demo, subject: str, recipients: list[int], *, due, priority: str = "normal"):
    from workflow.documents import services as doc_services
    from workflow.documents.models import DocumentType
    from workflow.organisation.demo import _advance

    document = doc_services.create_document(
        demo.person("tinh", Role.SPECIALIST), unit=demo.demo_units["tinh"],
        data={"subject": subject, "document_type": DocumentType.objects.get(code="cong-van"),
              "body": f"<p>{subject}.</p><p>Văn bản mẫu gửi đến cơ sở.</p>",
              "due_date": due, "priority": priority},
        recipient_unit_ids=recipients)
    document = _advance(demo, "tinh", document, "issued")
    _deliver_now(document.pk)
    return document


def _deliver_now(document_id: int) -> None:
    """``seed`` runs in one transaction, so the on-commit delivery would come too late
    for the steps below; the same idempotent task body runs here, and again (creating
    nothing) on commit."""
    from .tasks import deliver_document

    deliver_document.apply(args=[document_id])
