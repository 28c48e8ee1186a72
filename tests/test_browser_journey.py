"""The outgoing-document journey in a real browser (Chromium through Playwright).

A specialist drafts with the rich-text editor, attaches a PDF and submits; the
department head comments and returns it with a reason; the specialist revises
and resubmits; the head forwards; the leader approves. Each page is saved as a
screenshot under test-artifacts/journey/ for people to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.csp import watch_csp
from tests.factories import PASSWORD, make_org, pdf_bytes
from tests.second_factor import browser_login
from workflow.audit import access_log
from workflow.audit.services import history
from workflow.documents.models import Document, FileVersion, State

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "journey"
DESKTOP = {"width": 1366, "height": 900}
TABLET = {"width": 820, "height": 1180}




class Journey:
    def __init__(self, browser, base_url: str):
        self.base = base_url
        self.context = browser.new_context(viewport=DESKTOP, locale="vi-VN")
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        watch_csp(self.context, self.errors)
        self.shots = 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def shot(self, name: str) -> None:
        self.shots += 1
        # The sticky header would be drawn mid-page in a full-page shot taken while scrolled.
        self.page.evaluate("window.scrollTo(0, 0)")
        self.page.screenshot(path=str(ARTIFACTS / f"{self.shots:02d}-{name}.png"), full_page=True)

    def login(self, username: str) -> None:
        page = self.page
        browser_login(page, self.base, username, PASSWORD)
        page.wait_for_url(self.base + "/")

    def logout(self) -> None:
        self.page.click(".logout-form button")
        self.page.wait_for_url("**/accounts/login/**")

    def open_task(self, doc: Document) -> None:
        page = self.page
        page.goto(self.base + "/")
        page.click(f"#tasks a[href='/documents/{doc.pk}/']")
        page.wait_for_url(f"**/documents/{doc.pk}/")

    def act(self, action: str, comment: str = "") -> None:
        page = self.page
        if comment:
            page.fill("#action-comment", comment)
        with page.expect_navigation():
            page.click(f"button[data-action={action}]")

    def success_shown(self) -> bool:
        return self.page.locator(".message-success").count() > 0


def _state(doc: Document) -> str:
    doc.refresh_from_db()
    return doc.state


def test_outgoing_document_journey(live_server, transactional_db, browser, tmp_path):
    org = make_org()
    district = org.units["district"]
    pdf = tmp_path / "ke-hoach-ngay-hoi.pdf"
    pdf.write_bytes(pdf_bytes("Kế hoạch", pages=2))
    revised = tmp_path / "ke-hoach-ngay-hoi-v2.pdf"
    revised.write_bytes(pdf_bytes("Kế hoạch sửa", pages=3))

    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    journey = Journey(browser, live_server.url)
    page = journey.page

    # 1. The specialist logs in and drafts.
    page.goto(live_server.url + "/")
    page.wait_for_url("**/accounts/login/**")
    journey.shot("login")
    journey.login("province-specialist")
    journey.shot("inbox-specialist-empty")

    page.click("nav.main-nav a[href='/documents/new/']")
    page.wait_for_url("**/documents/new/")
    page.select_option("#id_document_type", str(org.types["ke-hoach"].pk))
    page.select_option("#id_priority", "urgent")
    page.fill(
        "#id_subject",
        "Kế hoạch tổ chức Ngày hội Đại đoàn kết toàn dân tộc năm 2025",
    )
    body = (
        "Căn cứ Điều lệ Mặt trận Tổ quốc Việt Nam, Ban Thường trực Ủy ban MTTQ Việt Nam "
        "tỉnh xây dựng kế hoạch tổ chức Ngày hội Đại đoàn kết toàn dân tộc tại các khu dân cư."
    )
    editor = page.locator(".tox-tinymce")
    try:
        editor.wait_for(timeout=10_000)
        used_editor = True
    except PlaywrightTimeout:  # no rich-text editor: the plain textarea still works
        used_editor = False
    if used_editor:
        frame = page.frame_locator("#id_body_ifr")
        frame.locator("body").click()
        frame.locator("body").press_sequentially(body, delay=0)
    else:
        page.fill("#id_body", body)
    page.fill("#id_due_date", "2025-12-01")
    # The filter box narrows the long unit list, typed without accents.
    page.fill(".option-filter", "nam dan")
    page.select_option("#id_recipient_units", [str(district.pk)])
    page.fill("#id_external_recipients", "UBND tỉnh Nghệ An\nBáo Nghệ An")
    journey.shot("draft-form")
    with page.expect_navigation():
        page.click("button[name=save]")

    doc = Document.objects.get()
    assert doc.drafter == org.person("province", "specialist")
    assert "Đại đoàn kết" in doc.body
    assert list(doc.recipients.values_list("unit_id", flat=True)) == [district.pk]
    assert doc.priority == "urgent"
    assert page.url.endswith(f"/documents/{doc.pk}/")
    assert journey.success_shown()

    # Attach the main PDF; the upload keeps to the permission-checked download view.
    page.set_input_files("#upload-file", str(pdf))
    with page.expect_navigation():
        page.click(".upload-form button[type=submit]")
    assert journey.success_shown()
    version = FileVersion.objects.get(file__document=doc)
    assert version.page_count == 2
    link = page.locator(f"a[href='/documents/{doc.pk}/files/versions/{version.pk}/']").first
    assert link.is_visible()
    journey.shot("draft-with-file")

    journey.act("submit")
    assert _state(doc) == State.SUBMITTED
    journey.shot("submitted")
    journey.logout()

    # 2. The head reviews: comments, then returns with a reason.
    journey.login("province-head")
    assert page.locator("#inbox-count").inner_text().strip() == "1"
    journey.shot("inbox-head")
    journey.open_task(doc)
    # With htmx built (scripts/build_assets.sh) the comment posts without a page load.
    htmx_built = (Path(__file__).resolve().parent.parent / "static/vendor/htmx.min.js").exists()
    page.evaluate("window.__samePage = true")
    page.fill("#comment-text", "Đề nghị bổ sung dự toán kinh phí.")
    page.click(".comment-form button[type=submit]")
    page.locator(".comment-text", has_text="dự toán kinh phí").wait_for()
    page.locator(".message-success").wait_for()
    page.locator("#history .tl-item").nth(3).wait_for()
    if htmx_built:
        assert page.evaluate("window.__samePage === true")
    # Returning without a reason is stopped in the page.
    page.fill("#action-comment", "")
    page.click("button[data-action=return]")
    assert page.url.endswith(f"/documents/{doc.pk}/")
    assert _state(doc) == State.SUBMITTED
    journey.act("return", "Chưa có dự toán kinh phí; bổ sung phụ lục và trình lại.")
    assert _state(doc) == State.RETURNED
    journey.shot("returned-by-head")
    journey.logout()

    # 3. The specialist sees the reason, revises, uploads a new version, resubmits.
    journey.login("province-specialist")
    journey.shot("inbox-specialist-returned")
    journey.open_task(doc)
    assert page.locator(".callout-warn").inner_text().find("dự toán kinh phí") >= 0
    journey.shot("returned-draft")
    page.click("#edit-link")
    page.wait_for_url(f"**/documents/{doc.pk}/edit/")
    page.fill("#id_subject", doc.subject + " (bổ sung dự toán)")
    with page.expect_navigation():
        page.click("button[name=save]")
    assert journey.success_shown()
    page.locator(".inline-upload input[type=file]").first.set_input_files(str(revised))
    with page.expect_navigation():
        page.locator(".inline-upload button[type=submit]").first.click()
    assert FileVersion.objects.filter(file__document=doc).count() == 2
    journey.act("submit")
    assert _state(doc) == State.SUBMITTED
    journey.shot("resubmitted")
    journey.logout()

    # 4. The head forwards; a double click acts once.
    journey.login("province-head")
    journey.open_task(doc)
    page.fill("#action-comment", "Đồng ý, kính trình lãnh đạo.")
    with page.expect_navigation():
        page.dblclick("button[data-action=forward]")
    page.wait_for_load_state()
    assert _state(doc) == State.REVIEWED
    assert [e.action for e in history(doc)].count("document.forward") == 1
    journey.shot("forwarded")
    journey.logout()

    # 5. The leader approves.
    journey.login("province-leader")
    journey.shot("inbox-leader")
    journey.open_task(doc)
    journey.shot("review-page-leader")
    journey.act("approve", "Đồng ý ban hành.")
    assert _state(doc) == State.APPROVED
    assert page.locator("button[data-action=approve]").count() == 0
    journey.shot("approved")

    page.click("nav.main-nav a[href='/documents/']")
    page.fill("#id_q", "Đại đoàn kết")
    page.press("#id_q", "Enter")
    page.wait_for_url("**/documents/?*q=*")
    page.locator(f"#results a[href='/documents/{doc.pk}/']").wait_for()
    journey.shot("document-list")

    # The review page on a portrait tablet.
    page.set_viewport_size(TABLET)
    page.goto(live_server.url + f"/documents/{doc.pk}/")
    journey.shot("tablet-review-page")
    page.goto(live_server.url + "/documents/")
    journey.shot("tablet-list")

    # Page views are access history (audited too); only the changes matter here.
    actions = [e.action for e in history(doc).exclude(action__in=access_log.ACCESS_ACTIONS)]
    assert actions == [
        "document.create", "file.upload", "document.submit", "document.comment",
        "document.return", "document.edit", "file.upload", "document.submit",
        "document.forward", "document.approve",
    ]
    # Another unit's leader cannot open it by URL.
    journey.logout()
    journey.login("district2-leader")
    response = page.goto(live_server.url + f"/documents/{doc.pk}/")
    assert response.status == 404
    assert not journey.errors, journey.errors
    journey.context.close()
