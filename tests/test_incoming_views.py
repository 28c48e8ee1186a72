"""Incoming pages over HTTP: register, detail and actions, intake, exports, sender's view."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, pdf_bytes
from tests.incoming_helpers import arrived, issue_to
from workflow.incoming.models import Delivery, IncomingDocument, State
from workflow.organisation.models import Role

pytestmark = pytest.mark.django_db(transaction=True)


def client_for(user) -> Client:
    c = Client()
    assert c.login(username=user.username, password=PASSWORD)
    return c


def test_clerk_registers_leader_assigns_sender_sees_it(org):
    document = issue_to(org, ["commune", "commune2"], subject="Kế hoạch tổ chức Ngày hội")
    incoming = arrived(org, document, "commune")
    clerk = client_for(org.person("commune", Role.CLERK))
    page = clerk.get(reverse("incoming:list"))
    assert page.status_code == 200 and "Kế hoạch tổ chức Ngày hội" in page.content.decode()
    assert "flag-signature" not in page.content.decode()  # no file, nothing to flag
    detail = clerk.get(reverse("incoming:detail", args=[incoming.pk]))
    assert detail.status_code == 200 and 'data-action="register"' in detail.content.decode()
    url = reverse("incoming:act", args=[incoming.pk, "register"])
    assert clerk.post(url, {"expected_state": "received"}).status_code == 302
    # The double click is refused and changes nothing.
    clerk.post(url, {"expected_state": "received"})
    incoming.refresh_from_db()
    assert incoming.state == State.REGISTERED and incoming.arrival_number == 1
    leader = client_for(org.person("commune", Role.LEADER))
    specialist = org.person("commune", Role.SPECIALIST)
    leader.post(reverse("incoming:act", args=[incoming.pk, "assign"]),
                {"expected_state": "registered", "direction": "Giao Ban Dân chủ",
                 "lead": specialist.pk, "deadline": "2099-01-01"})
    incoming.refresh_from_db()
    assert incoming.state == State.ASSIGNED
    # Another commune's clerk, who received the same document, cannot open this one.
    other = client_for(org.person("commune2", Role.CLERK))
    assert other.get(reverse("incoming:detail", args=[incoming.pk])).status_code == 404
    # The sender sees each recipient's state with the arrival number.
    sender = client_for(org.person("province", Role.SPECIALIST))
    html = sender.get(reverse("documents:detail", args=[document.pk])).content.decode()
    assert 'id="deliveries"' in html and "1 received, 1 not yet registered" in html


def test_returned_delivery_can_be_sent_again(org):
    document = issue_to(org, ["commune"])
    incoming = arrived(org, document, "commune")
    clerk = client_for(org.person("commune", Role.CLERK))
    clerk.post(reverse("incoming:act", args=[incoming.pk, "return"]),
               {"expected_state": "received", "reason": "Sai nơi nhận"})
    d = Delivery.objects.get(document=document)
    assert d.state == "returned"
    sender_clerk = client_for(org.person("province", Role.CLERK))
    html = sender_clerk.get(reverse("documents:detail", args=[document.pk])).content.decode()
    assert "Sai nơi nhận" in html and "Send again" in html
    sender_clerk.post(reverse("incoming:resend", args=[d.pk]))
    d.refresh_from_db()
    assert d.state == "sent" and d.attempts == 2


def test_intake_prefill_duplicate_and_exports(org):
    clerk = client_for(org.person("commune", Role.CLERK))
    from django.core.files.uploadedfile import SimpleUploadedFile

    page = clerk.post(reverse("incoming:intake"), {
        "unit": org.units["commune"].pk, "read": "1",
        "scan": SimpleUploadedFile("scan.pdf", pdf_bytes("Giấy mời"))})
    assert page.status_code == 200 and "File kept" in page.content.decode()
    file_id = page.context["file_id"]
    data = {"unit": org.units["commune"].pk, "file_id": file_id, "source": "paper",
            "issuer_name": "UBND xã", "number_symbol": "15/GM-UBND", "subject": "Giấy mời",
            "priority": "normal"}
    assert clerk.post(reverse("incoming:intake"), data).status_code == 302
    again = clerk.post(reverse("incoming:intake"), data)
    assert again.status_code == 409 and 'id="duplicate-warning"' in again.content.decode()
    assert clerk.post(reverse("incoming:intake"), {**data, "confirm": "1"}).status_code == 302
    assert IncomingDocument.objects.filter(unit=org.units["commune"]).count() == 2
    # A specialist has no intake page.
    assert client_for(org.person("commune", Role.SPECIALIST)).get(
        reverse("incoming:intake")).status_code == 404
    pdf = clerk.get(reverse("incoming:export", args=["pdf"]),
                    {"unit": org.units["commune"].pk})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    xlsx = clerk.get(reverse("incoming:export", args=["xlsx"]),
                     {"unit": org.units["commune"].pk})
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet[2]][:3] == ["Ngày đến", "Số đến", "Tác giả"]
    assert [sheet.cell(row=r, column=2).value for r in (3, 4)] == ["01", "02"]


def test_an_unsigned_pdf_arrives_flagged(org):
    from tests.factories import draft, upload
    from workflow.documents import services as doc_services

    document = draft(org, "province", subject="Công văn kèm tệp chưa ký")
    doc_services.add_file(document.drafter, document.pk, kind="main",
                          upload=upload("cv.pdf", pdf_bytes("Chưa ký")))
    from tests.factories import advance

    doc_services.update_document(document.drafter, document.pk, data={},
                                 recipient_unit_ids=[org.units["commune"].pk])
    advance(org, document, "issued")
    clerk = client_for(org.person("commune", Role.CLERK))
    assert "flag-signature" in clerk.get(reverse("incoming:list")).content.decode()
    incoming = arrived(org, document, "commune")
    html = clerk.get(reverse("incoming:detail", args=[incoming.pk])).content.decode()
    assert 'data-verdict="INDETERMINATE"' in html and "The PDF has no digital signature." in html
