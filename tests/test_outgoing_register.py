"""The outgoing register as a document (Decree 30 Art. 16 §2b): the XLSX and PDF hold the
register's rows for the chosen series and period, and the printed register is signed."""

from __future__ import annotations

import datetime as dt
import io
import subprocess

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from tests.factories import advance, draft
from workflow.audit.models import AuditEntry
from workflow.documents import register_exports, services
from workflow.documents.errors import InvalidInput, NotAllowed
from workflow.documents.models import RegisterEntry
from workflow.organisation.models import Role

pytestmark = [pytest.mark.django_db(transaction=False)]


@pytest.fixture
def issued(org):
    docs = []
    for index, extra in enumerate([{}, {"priority": "flash"}, {"secrecy": "mat"}, {}]):
        doc = draft(org, type_code="ke-hoach", subject=f"Kế hoạch số {index}", **extra)
        services.update_document(doc.drafter, doc.pk, data={}, recipient_unit_ids=[
            org.units["district"].pk])
        docs.append(advance(org, doc, "issued"))
    return docs


def _period():
    today = timezone.localdate()
    return today.replace(month=1, day=1), today


def test_rows_follow_the_register(org, issued):
    unit, clerk = org.units["province"], org.person("province", Role.CLERK)
    start, end = _period()
    rows = register_exports.rows(unit, "general", start, end)
    entries = RegisterEntry.objects.filter(register__unit=unit, register__series="general")\
        .order_by("number")
    assert [r[0] for r in rows] == [e.symbol for e in entries]
    assert len(rows) == 3  # the confidential one is numbered in its own series
    flash = next(r for r in rows if "Kế hoạch số 1" in r[2])
    assert flash[9] == "HOẢ TỐC" and flash[4] == "Ủy ban MTTQ Việt Nam huyện Nam Đàn"
    assert flash[5] == "VT, BDC" and flash[3]
    secret = register_exports.rows(unit, "confidential", start, end)
    assert len(secret) == 1 and secret[0][9] == "MẬT"
    # XLSX read back: the title, the decree's columns, then exactly the rows.
    book = load_workbook(io.BytesIO(register_exports.xlsx(clerk, unit, "general", start, end)))
    values = list(book.active.iter_rows(values_only=True))
    assert values[0][0].startswith("SỔ ĐĂNG KÝ VĂN BẢN ĐI")
    assert list(values[1]) == register_exports.COLUMNS
    assert [[c or "" for c in row] for row in values[2:]] == rows
    # PDF: every symbol, in register order.
    text = _pdf_text(register_exports.pdf(clerk, unit, "general", start, end))
    positions = [text.index(r[0]) for r in rows]
    assert positions == sorted(positions)
    assert "Tổng số: 3 văn bản." in text


def test_period_limits_and_permission(org, issued):
    unit = org.units["province"]
    clerk = org.person("province", Role.CLERK)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert register_exports.rows(unit, "general", tomorrow, tomorrow) == []
    with pytest.raises(InvalidInput):
        register_exports.xlsx(clerk, unit, "general", tomorrow, tomorrow - dt.timedelta(2))
    with pytest.raises(InvalidInput):
        register_exports.pdf(clerk, unit, "general", dt.date(2020, 1, 1), tomorrow)
    with pytest.raises(NotAllowed):
        register_exports.pdf(org.person("province", Role.SPECIALIST), unit, "general",
                             *_period())


def test_page_lists_series_and_rows(org, issued, client):
    client.force_login(org.person("province", Role.CLERK))
    start, end = _period()
    page = client.get(reverse("documents:register"), {"series": "confidential",
                                                      "from": start, "to": end})
    body = page.content.decode()
    assert page.status_code == 200 and "Kế hoạch số 2" in body and "Kế hoạch số 0" not in body
    bad = client.get(reverse("documents:register_export", args=["pdf"]),
                     {"from": end, "to": start})
    assert bad.status_code == 400


def _pdf_text(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True,
                         check=True).stdout.decode()
    return out


@pytest.mark.slow
def test_printed_register_is_signed_with_the_seal(signing_env, client):
    from signing.validation import verify_pdf

    org = signing_env["org"]
    doc = draft(org, type_code="ke-hoach", subject="Kế hoạch ký sổ")
    advance(org, doc, "issued")
    clerk = signing_env["clerk"]
    client.force_login(clerk)
    start, end = _period()
    response = client.post(reverse("documents:register"), {
        "unit": org.units["province"].pk, "series": "general", "from": start, "to": end})
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/pdf"
    report = verify_pdf(response.content)
    assert report.signatures and report.signatures[0].intact and report.signatures[0].valid
    assert "Kế hoạch ký sổ" in _pdf_text(response.content)
    assert AuditEntry.objects.filter(action="signing.register.signed").exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_printed_incoming_register_is_signed(signing_env, client):
    from signing.validation import verify_pdf
    from tests.incoming_helpers import arrived, issue_to
    from workflow.incoming import services as incoming_services

    org = signing_env["org"]
    document = issue_to(org, ["commune"], subject="Công văn đến để ký sổ")
    incoming = arrived(org, document, "commune")
    clerk = org.person("commune", Role.CLERK)
    incoming_services.register(clerk, incoming.pk)
    client.force_login(clerk)
    start, end = _period()
    assert client.get(reverse("incoming:export", args=["signed"])).status_code == 404
    refused = client.post(reverse("incoming:export", args=["signed"]),
                          {"from": start, "to": end})
    assert refused.status_code == 302  # the commune has no key: a message, nothing signed
    from tests.signing_fixtures import attach_seal

    attach_seal(org.units["commune"], signing_env["demo"], "seal")
    response = client.post(reverse("incoming:export", args=["signed"]),
                           {"from": start, "to": end})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    report = verify_pdf(response.content)
    assert report.signatures[0].intact and report.signatures[0].valid
    assert "Công văn đến để ký sổ" in _pdf_text(response.content)
