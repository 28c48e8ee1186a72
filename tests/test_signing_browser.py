"""In a real browser: the leader signs, the clerk issues, anyone downloads and verifies.

Screenshots go to test-artifacts/signing/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.csp import watch_csp
from tests.factories import PASSWORD, advance, draft
from tests.second_factor import browser_login
from workflow.documents.models import Document

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# CSP violations and page errors of every context a test opens; each test starts empty.
CSP_ERRORS: list[str] = []
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "signing"


@pytest.fixture
def chromium(browser):
    """The shared Chromium of tests/conftest.py, under the name these tests use."""
    return browser


def session(browser, base: str, username: str | None):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN",
                                  accept_downloads=True)
    context.set_default_timeout(60_000)
    page = context.new_page()
    watch_csp(context, CSP_ERRORS)
    if username:
        browser_login(page, base, username, PASSWORD)
        page.wait_for_url(base + "/")
    return context, page


@pytest.mark.django_db(transaction=True)
def test_sign_issue_download_verify(signing_env, live_server, chromium, tmp_path):
    org, leader, clerk = signing_env["org"], signing_env["leader"], signing_env["clerk"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    CSP_ERRORS.clear()
    doc = draft(org, type_code="ke-hoach", subject="Kế hoạch tổ chức Ngày hội Đại đoàn kết",
                body="<p>Căn cứ Điều lệ Mặt trận Tổ quốc Việt Nam;</p><p>Nội dung kế hoạch.</p>")
    doc = advance(org, doc, "approved")
    base = live_server.url

    context, page = session(chromium, base, leader.username)
    page.goto(f"{base}/signing/documents/{doc.pk}/sign/")
    page.screenshot(path=str(ARTIFACTS / "01-sign-confirm.png"), full_page=True)
    page.click("[data-testid=confirm-sign]")
    page.wait_for_url(f"{base}/documents/{doc.pk}/")
    assert Document.objects.get(pk=doc.pk).state == "signed"
    context.close()

    context, page = session(chromium, base, clerk.username)
    page.goto(f"{base}/signing/documents/{doc.pk}/issue/")
    page.screenshot(path=str(ARTIFACTS / "02-issue-confirm.png"), full_page=True)
    page.click("[data-testid=confirm-issue]")
    page.wait_for_url(f"{base}/documents/{doc.pk}/")
    issued = Document.objects.get(pk=doc.pk)
    assert issued.state == "issued" and issued.symbol
    with page.expect_download() as info:
        page.evaluate("""url => { const a = document.createElement('a'); a.href = url;
                         a.download = ''; document.body.appendChild(a); a.click(); }""",
                      f"{base}/signing/documents/{doc.pk}/pdf/issued/?download=1")
    pdf = tmp_path / "issued.pdf"
    info.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    context.close()

    # Anyone, signed in or not, can verify it.
    context, page = session(chromium, base, None)
    page.goto(f"{base}/signing/verify/")
    page.set_input_files("#verify-file", str(pdf))
    page.click("form button[type=submit]")
    summary = page.locator("[data-testid=verify-summary]")
    summary.wait_for()
    page.screenshot(path=str(ARTIFACTS / "03-verify-report.png"), full_page=True)
    assert summary.get_attribute("data-verdict") == "PASSED"
    articles = page.locator("[data-testid=signature]")
    assert articles.count() == 3  # the person, the seal, the document timestamp
    texts = [articles.nth(i).inner_text() for i in range(3)]
    assert "Nguyễn Thị Hằng" in texts[0] and "Ủy ban MTTQ tỉnh (DEMO)" in texts[1]
    valid = page.locator("[data-testid=signature][data-kind=signature][data-intact=true]"
                         "[data-valid=true][data-trusted=true]")
    assert valid.count() == 2, texts
    # The number and date did not break the leader's signature; said in words, not codes.
    assert articles.nth(0).get_attribute("data-modification") == "FORM_FILLING"
    assert all("FORM_FILLING" not in text and "Common Name" not in text for text in texts)
    assert articles.nth(0).get_attribute("data-anchor") == "demo"  # named as the DEMO root
    context.close()
    assert not CSP_ERRORS, CSP_ERRORS
