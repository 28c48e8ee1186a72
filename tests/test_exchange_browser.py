"""Recall in a real browser (Chromium through Playwright).

The province issues a document to a commune; the province's leader (the issue's rule
for who recalls: the issuing unit's leader) recalls it with a reason on the document
page; the commune clerk's incoming register and the document page show the red
"Recalled" banner; the clerk acknowledges it. Screenshots go to test-artifacts/exchange/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import advance, draft, pdf_bytes, upload
from tests.test_incoming_browser import Session
from workflow.documents import services as doc_services
from workflow.exchange.models import RecallNotice
from workflow.incoming.models import IncomingDocument, State

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "exchange"


@pytest.mark.django_db(transaction=True)
def test_leader_recalls_and_the_commune_sees_the_banner(live_server, org, browser):
    document = draft(org, "province", subject="V/v tổ chức Ngày hội Đại đoàn kết năm 2026")
    doc_services.add_file(document.drafter, document.pk,
                          upload=upload("kh.pdf", pdf_bytes("KH")), kind="main")
    doc_services.update_document(document.drafter, document.pk, data={},
                                 recipient_unit_ids=[org.units["commune"].pk])
    document = advance(org, document, "issued")
    incoming = IncomingDocument.objects.get(delivery__document=document)

    s = Session(browser, live_server.url)
    page = s.page
    s.login("province-leader")
    page.goto(f"{live_server.url}/documents/{document.pk}/")
    page.fill("#recall-reason", "Gửi nhầm nội dung, sẽ ban hành văn bản thay thế.")
    s.click_and_wait("button[data-action=recall]")
    assert page.locator("#recall-banner").count() == 1
    page.screenshot(path=str(_shot("01-province-recalled.png")), full_page=True)
    s.logout()

    s.login("commune-clerk")
    page.goto(f"{live_server.url}/incoming/")
    row = page.locator("#incoming-table tr", has=page.locator(
        f"a[href='/incoming/{incoming.pk}/']"))
    assert row.locator(".recalled-flag").count() == 1
    page.screenshot(path=str(_shot("02-commune-register.png")), full_page=True)
    page.click(f"#incoming-table a[href='/incoming/{incoming.pk}/']")
    page.wait_for_url(f"**/incoming/{incoming.pk}/")
    banner = page.locator("#recall-banner")
    assert "Gửi nhầm nội dung" in banner.inner_text()
    # Red: the banner's left border is the recall colour.
    colour = banner.evaluate("el => getComputedStyle(el).borderLeftColor")
    assert colour == "rgb(198, 40, 40)"
    page.screenshot(path=str(_shot("03-commune-banner.png")), full_page=True)
    s.click_and_wait("button[data-action=acknowledge-recall]")
    assert page.locator("#recall-acknowledged").count() == 1
    assert RecallNotice.objects.get().acknowledged_at is not None
    assert IncomingDocument.objects.get(pk=incoming.pk).state == State.RECALLED
    assert not s.errors


def _shot(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name
