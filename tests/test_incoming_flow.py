"""Incoming documents: delivery, register numbers, the handling flow, replies, sender's view."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.utils import timezone

from tests.factories import advance, pdf_bytes, upload
from tests.incoming_helpers import arrived, issue_to
from workflow.audit.services import history
from workflow.documents import services as doc_services
from workflow.documents.errors import Conflict, InvalidInput, NotAllowed, NotFound
from workflow.incoming import delivery, services
from workflow.incoming.models import (
    Delivery,
    DeliveryState,
    IncomingDocument,
    IncomingFile,
    State,
    Verdict,
)
from workflow.organisation.models import Role

pytestmark = pytest.mark.django_db(transaction=True)


def test_issue_delivers_once_per_unit_with_the_bytes_and_their_hash(org):
    from tests.factories import draft

    document = draft(org, "province")
    data = pdf_bytes("Kế hoạch", pages=2)
    doc_services.add_file(document.drafter, document.pk, upload=upload("kh.pdf", data),
                          kind="main")
    doc_services.update_document(document.drafter, document.pk, data={},
                                 recipient_unit_ids=[org.units["commune"].pk,
                                                     org.units["commune2"].pk])
    document = advance(org, document, "issued")
    deliveries = Delivery.objects.filter(document=document)
    assert sorted(d.unit_id for d in deliveries) == sorted(
        [org.units["commune"].pk, org.units["commune2"].pk])
    assert {d.state for d in deliveries} == {DeliveryState.SENT}
    incoming = arrived(org, document, "commune")
    attachment = incoming.attachments.get()
    assert attachment.file.read() == data
    assert attachment.file.sha256 == hashlib.sha256(data).hexdigest()
    # One stored copy and one verification for both units.
    assert IncomingFile.objects.count() == 1
    item = IncomingFile.objects.get()
    assert item.verdict == Verdict.INDETERMINATE  # no signature in this PDF
    assert item.flagged
    assert incoming.number_symbol == document.symbol
    assert incoming.issuer_name == document.unit.name
    assert incoming.page_count == 2
    # Running the delivery again creates nothing.
    assert delivery.deliver(document.pk)["created"] == 0
    assert Delivery.objects.filter(document=document).count() == 2
    assert IncomingDocument.objects.filter(delivery__document=document).count() == 2


def test_register_numbers_and_sender_sees_received(org):
    document = issue_to(org, ["commune", "commune2"])
    first = issue_to(org, ["commune"], subject="Văn bản thứ hai")
    clerk = org.person("commune", Role.CLERK)
    a = services.register(clerk, arrived(org, document, "commune").pk, expected_state="received")
    b = services.register(clerk, arrived(org, first, "commune").pk)
    assert (a.arrival_number, b.arrival_number) == (1, 2)
    assert a.arrival_year == timezone.localtime().year
    # The other commune has its own register.
    other = services.register(org.person("commune2", Role.CLERK),
                              arrived(org, document, "commune2").pk)
    assert other.arrival_number == 1
    # A double click is refused.
    with pytest.raises(Conflict):
        services.register(clerk, a.pk, expected_state="received")
    rows = services.deliveries_for(org.person("province", Role.CLERK), document)
    assert [r["delivery"].state for r in rows] == ["received", "received"]
    assert services.deliveries_for(org.person("commune", Role.CLERK), document) == []


def test_return_and_resend(org):
    document = issue_to(org, ["commune"])
    incoming = arrived(org, document, "commune")
    clerk = org.person("commune", Role.CLERK)
    with pytest.raises(InvalidInput):
        services.return_to_sender(clerk, incoming.pk, reason=" ")
    services.return_to_sender(clerk, incoming.pk, reason="Gửi nhầm nơi nhận")
    d = Delivery.objects.get(document=document)
    assert d.state == DeliveryState.RETURNED and d.return_reason == "Gửi nhầm nơi nhận"
    with pytest.raises(NotAllowed):
        services.resend(org.person("province", Role.SPECIALIST), d.pk)
    services.resend(org.person("province", Role.CLERK), d.pk)
    d.refresh_from_db()
    assert d.state == DeliveryState.SENT and d.attempts == 2
    fresh = arrived(org, document, "commune")
    assert fresh.pk != incoming.pk and fresh.state == State.RECEIVED
    with pytest.raises(Conflict):
        services.resend(org.person("province", Role.CLERK), d.pk)


def test_full_handling_flow_with_reply(org):
    document = issue_to(org, ["commune"], due_date=dt.date.today() + dt.timedelta(days=5))
    incoming = arrived(org, document, "commune")
    clerk = org.person("commune", Role.CLERK)
    leader = org.person("commune", Role.LEADER)
    specialist = org.person("commune", Role.SPECIALIST)
    head = org.person("commune", Role.HEAD)
    member = org.person("commune", Role.MEMBER)
    services.register(clerk, incoming.pk)
    services.present(clerk, incoming.pk, leader_id=leader.pk, expected_state="registered")
    with pytest.raises(NotAllowed):
        services.assign(clerk, incoming.pk, direction="x", lead_id=specialist.pk)
    with pytest.raises(InvalidInput):
        services.assign(leader, incoming.pk, direction="Giao", lead_id=org.person(
            "commune2", Role.SPECIALIST).pk)
    services.assign(leader, incoming.pk, direction="Ban Dân chủ chủ trì, trả lời trước hạn",
                    lead_id=specialist.pk, co_ids=[head.pk], info_ids=[member.pk],
                    expected_state="presented")
    incoming.refresh_from_db()
    assert incoming.state == State.ASSIGNED and incoming.directed_by == leader
    services.start(specialist, incoming.pk)
    services.add_note(head, incoming.pk, text="Đã phối hợp")
    with pytest.raises(NotAllowed):
        services.add_note(member, incoming.pk, text="x")
    reply = services.draft_reply(specialist, incoming.pk)
    assert reply.subject.startswith(f"V/v trả lời Công văn số {document.symbol} ngày ")
    assert list(reply.recipients.values_list("unit_id", flat=True)) == [org.units["province"].pk]
    advance(org, reply, "issued")
    incoming.refresh_from_db()
    assert incoming.state == State.DONE
    assert reply.symbol in incoming.result or IncomingDocument.objects.get(
        pk=incoming.pk).result.endswith(IncomingDocument.objects.get(pk=incoming.pk).reply.symbol)
    # The reply travelled back; the original sender sees "answered by".
    rows = services.deliveries_for(org.person("province", Role.SPECIALIST), document)
    assert rows[0]["answered_by"].pk == reply.pk
    assert IncomingDocument.objects.filter(origin=reply, unit=org.units["province"]).exists()
    services.file(clerk, incoming.pk)
    actions = [e.action for e in history(IncomingDocument.objects.get(pk=incoming.pk))]
    assert actions == ["incoming.register", "incoming.present", "incoming.assign",
                       "incoming.start", "incoming.note", "incoming.reply_drafted",
                       "incoming.complete", "incoming.file"]


def test_forward_within_department_only(org):
    from workflow.organisation.models import Department, Membership, User

    document = issue_to(org, ["commune"])
    incoming = arrived(org, document, "commune")
    clerk = org.person("commune", Role.CLERK)
    leader = org.person("commune", Role.LEADER)
    specialist = org.person("commune", Role.SPECIALIST)
    colleague = User.objects.create_user(username="colleague", password="x")
    Membership.objects.create(user=colleague, unit=org.units["commune"],
                              department=org.departments["commune"], role=Role.SPECIALIST)
    other_dept = Department.objects.create(unit=org.units["commune"], name="Ban Tuyên giáo")
    outsider = User.objects.create_user(username="outsider", password="x")
    Membership.objects.create(user=outsider, unit=org.units["commune"], department=other_dept,
                              role=Role.SPECIALIST)
    services.register(clerk, incoming.pk)
    services.assign(leader, incoming.pk, direction="Giao", lead_id=specialist.pk)
    with pytest.raises(InvalidInput):
        services.forward(specialist, incoming.pk, to_id=outsider.pk)
    services.forward(specialist, incoming.pk, to_id=colleague.pk, note="Nhờ xử lý")
    with pytest.raises(NotAllowed):
        services.complete(specialist, incoming.pk, result="x")
    services.complete(colleague, incoming.pk, result="Đã xử lý xong")
    assert IncomingDocument.objects.get(pk=incoming.pk).state == State.DONE
    # The one who forwarded still sees it.
    services.get_for(specialist, incoming.pk)
    with pytest.raises(NotFound):
        services.get_for(outsider, incoming.pk)


def test_external_registration_with_duplicate_warning(org):
    from workflow.incoming import intake

    clerk = org.person("commune", Role.CLERK)
    unit = org.units["commune"]
    item = intake.upload(clerk, unit, upload("scan.pdf", pdf_bytes("Giấy mời")))
    data = {"issuer_name": "UBND xã Kim Liên", "number_symbol": "15/GM-UBND",
            "subject": "Giấy mời họp", "priority": "urgent", "issued_on": "2026-12-01"}
    first = intake.register_external(clerk, unit, data=data, file_id=item.pk, source="paper")
    assert first.arrival_number == 1 and first.state == State.REGISTERED
    with pytest.raises(services.DuplicateWarning):
        intake.register_external(clerk, unit, data=data, source="email")
    assert IncomingDocument.objects.filter(unit=unit).count() == 1
    second = intake.register_external(clerk, unit, data=data, source="email",
                                      confirm_duplicate=True)
    assert second.arrival_number == 2
    with pytest.raises(NotAllowed):
        intake.register_external(org.person("commune", Role.SPECIALIST), unit, data=data)


def test_prefill_reads_number_date_and_issuer():
    from workflow.incoming.intake import prefill

    text = ("ỦY BAN MTTQ VIỆT NAM\nTỈNH NGHỆ AN\nCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\n"
            "Số: 12/KH-MTTQ-BTT\nNghệ An, ngày 04 tháng 12 năm 2026\n")
    assert prefill(text) == {"number_symbol": "12/KH-MTTQ-BTT",
                             "issued_on": dt.date(2026, 12, 4),
                             "issuer_name": "ỦY BAN MTTQ VIỆT NAM TỈNH NGHỆ AN"}


def test_urgent_first_and_overdue_and_reminders(org):
    old = issue_to(org, ["commune"], subject="Thường")
    hot = issue_to(org, ["commune"], subject="Hỏa tốc", priority="flash")
    clerk = org.person("commune", Role.CLERK)
    qs = services.urgent_first(services.visible(clerk))
    assert [i.subject for i in qs] == ["Hỏa tốc", "Thường"]
    incoming = arrived(org, old, "commune")
    services.register(clerk, incoming.pk)
    services.assign(org.person("commune", Role.LEADER), incoming.pk, direction="Giao",
                    lead_id=org.person("commune", Role.SPECIALIST).pk,
                    deadline=dt.date.today() - dt.timedelta(days=1))
    assert list(services.overdue(services.visible(clerk))) == [
        IncomingDocument.objects.get(pk=incoming.pk)]
    assert services.send_reminders() == 2  # the lead handler and the unit's leader (overdue)
    assert services.send_reminders() == 0  # once per event and person
    items = services.incoming_inbox_items(org.person("commune", Role.SPECIALIST))
    assert items[0]["kind"] == "incoming" and items[0]["url"].endswith(f"/{incoming.pk}/")
    assert hot.pk != old.pk


def test_handled_on_time_figure_on_the_targets_dashboard(org):
    from workflow.oversight import targets

    clerk = org.person("commune", Role.CLERK)
    leader = org.person("commune", Role.LEADER)
    lead = org.person("commune", Role.SPECIALIST)
    today = timezone.localdate()
    made = []
    for subject, due in (("Đúng hạn", today + dt.timedelta(days=3)),
                         ("Quá hạn", today - dt.timedelta(days=1)),
                         ("Còn hạn", today + dt.timedelta(days=9))):
        incoming = arrived(org, issue_to(org, ["commune"], subject=subject), "commune")
        services.register(clerk, incoming.pk)
        services.assign(leader, incoming.pk, direction="Giao", lead_id=lead.pk, deadline=due)
        made.append(incoming)
    services.complete(lead, made[0].pk, result="Xong")
    board = targets.compute(today.year, org.units["commune"])
    figure = next(r for r in board.rows if r.id == org.units["commune"].pk
                  ).figures["incoming_on_time"]
    # Done on time, and overdue; the one still within its deadline is not counted yet.
    assert (figure.num, figure.den) == (1, 2)
    missing = targets.records("incoming_on_time", today.year, org.units["commune"],
                              part="missing")
    assert [i.subject for i in missing] == ["Quá hạn"]


def test_delivery_interrupted_midway_is_finished_by_the_reconcile_task(org, monkeypatch):
    from tests.factories import draft
    from workflow.incoming import tasks

    document = draft(org, "province")
    doc_services.update_document(document.drafter, document.pk, data={}, recipient_unit_ids=[
        org.units[u].pk for u in ("commune", "commune2", "district2")])
    real = delivery._create_incoming
    calls = {"n": 0}

    def crash_on_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("worker lost")
        return real(*args, **kwargs)

    monkeypatch.setattr(delivery, "chunk_size", lambda: 1)
    monkeypatch.setattr(delivery, "_create_incoming", crash_on_third)
    # The issue commits; the delivery task fails on its third unit (logged, to be retried).
    advance(org, document, "issued")
    assert Delivery.objects.filter(document=document).count() == 2  # two chunks committed
    monkeypatch.setattr(delivery, "_create_incoming", real)
    assert tasks.reconcile_deliveries.apply().result["documents"] == 1
    assert Delivery.objects.filter(document=document).count() == 3
    assert IncomingDocument.objects.filter(delivery__document=document).count() == 3
    assert tasks.reconcile_deliveries.apply().result["documents"] == 0


def test_the_sender_is_told_of_a_return(org):
    from workflow.notifications.models import Notification

    document = issue_to(org, ["commune"])
    services.return_to_sender(org.person("commune", Role.CLERK),
                              arrived(org, document, "commune").pk, reason="Sai địa chỉ")
    notice = Notification.objects.get(recipient=org.person("province", Role.CLERK),
                                      event="incoming.returned")
    assert "Sai địa chỉ" in notice.text and document.symbol in notice.text
    assert notice.kind == "incoming" and notice.url == f"/documents/{document.pk}/"
