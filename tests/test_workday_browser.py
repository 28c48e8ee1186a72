"""The main journeys at 1366, 800 and 390 px wide, in Chromium.

Each page is saved as a screenshot under test-artifacts/workday/ (git-ignored) and
checked for horizontal overflow: no element may reach past the viewport's right edge
unless it sits inside a box that scrolls or clips it on purpose (the PDF viewer, a
dialog). The signing dialog is opened and used on the document page.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.csp import watch_csp
from tests.factories import PASSWORD, advance, draft
from tests.meeting_helpers import people, published
from tests.second_factor import browser_login
from tests.test_meetings_browser import room_server  # noqa: F401 - fixture
from workflow.documents import services
from workflow.documents.models import Document

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "workday"
WIDTHS = [(1366, 800), (800, 1280), (390, 844)]

# Elements reaching past the right edge of the viewport, outside boxes that scroll or clip.
OVERFLOW_JS = """() => {
  const limit = document.documentElement.clientWidth + 1;
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || r.right <= limit) continue;
    let clipped = false;
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (['auto', 'scroll', 'hidden', 'clip'].includes(s.overflowX) ||
          p.tagName === 'DIALOG') { clipped = true; break; }
    }
    if (!clipped) out.push(el.tagName + '.' + el.className + ' ' + Math.round(r.right));
  }
  return {scroll: document.documentElement.scrollWidth - document.documentElement.clientWidth,
          items: out.slice(0, 8)};
}"""


# Content-Security-Policy violations seen by each logged-in page (checked by _check).
_CSP_ERRORS: dict[int, list[str]] = {}


def _login(context, base, username):
    errors = watch_csp(context, [])
    page = context.new_page()
    # Password, then the authenticator code (test people get a device).
    browser_login(page, base, username, PASSWORD)
    page.wait_for_url(base + "/")
    _CSP_ERRORS[id(page)] = errors
    return page


def _check(page, name: str, width: int) -> None:
    page.wait_for_load_state("networkidle")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / f"{width}-{name}.png"), full_page=True)
    assert not _CSP_ERRORS.get(id(page)), _CSP_ERRORS.get(id(page))
    found = page.evaluate(OVERFLOW_JS)
    assert found["scroll"] <= 0 and not found["items"], (name, width, found)


@pytest.fixture
def journey(transactional_db, signing_env):
    """Signed and issued before the browser starts: pyHanko runs its own event loop,
    which Playwright's (in this thread) would refuse."""
    org, leader, clerk = signing_env["org"], signing_env["leader"], signing_env["clerk"]
    body = "<p>Căn cứ Điều lệ Mặt trận Tổ quốc Việt Nam; nội dung văn bản mẫu.</p>"
    issued = advance(org, draft(org, type_code="ke-hoach", body=body,
                                subject="Kế hoạch tổ chức Ngày hội Đại đoàn kết toàn dân tộc"),
                     "approved")
    services.perform(leader, issued.pk, "sign", expected_state="approved")
    services.perform(clerk, issued.pk, "issue", expected_state="signed")
    waiting = [advance(org, draft(org, type_code="ke-hoach", body=body,
                                  subject=f"Kế hoạch giám sát số {i}"), "approved")
               for i in range(3)]
    meeting = published(org)
    return {"issued": issued, "waiting": waiting, "meeting": meeting, "leader": leader,
            "delegate": people(org)["delegate"]}


def test_main_journeys_fit_every_width(journey, live_server, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    issued, waiting, meeting = journey["issued"], journey["waiting"], journey["meeting"]
    leader, delegate = journey["leader"], journey["delegate"]
    base = live_server.url
    for width, height in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": height},
                                      locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
        context.set_default_timeout(20_000)
        try:
            page = _login(context, base, leader.username)
            _check(page, "leader-inbox", width)
            page.goto(f"{base}/documents/{issued.pk}/")
            _check(page, "issued-document", width)
            assert page.locator("#signed-pdfs .pdf-row").count() >= 2
            page.goto(f"{base}/documents/{waiting[0].pk}/")
            _check(page, "document-to-sign", width)
            page.goto(f"{base}/signing/documents/{waiting[0].pk}/sign/")
            _check(page, "sign-page", width)
            page.goto(f"{base}/meetings/{meeting.pk}/")
            _check(page, "meeting", width)
            assert page.locator(".main-nav a[aria-current=page]").inner_text().strip() \
                in ("Cuộc họp", "Meetings")
            page.goto(f"{base}/meetings/")
            _check(page, "meetings", width)
            page.goto(f"{base}/meetings/{meeting.pk}/room/")
            _check(page, "meeting-room", width)
            # The chair opens the session from the room; the dock stays on screen.
            assert page.locator("#room-start").is_visible()
            if width < 1200:
                dock = page.locator("#room-dock").bounding_box()
                assert dock and dock["y"] + dock["height"] <= height + 1
                page.click("#agenda-toggle")
                page.locator("#room-agenda.is-open").wait_for()
                page.wait_for_timeout(300)
                page.screenshot(path=str(ARTIFACTS / f"{width}-meeting-room-agenda.png"))
            page.goto(f"{base}/oversight/")
            _check(page, "targets", width)
            page.goto(f"{base}/documents/new/")
            _check(page, "new-document", width)
            page = _login(context.browser.new_context(
                viewport={"width": width, "height": height}, locale="vi-VN"),
                base, delegate.username)
            _check(page, "delegate-inbox", width)
            assert page.locator("#tasks .work-item[data-kind=meeting]").count() == 1
            page.context.close()
        finally:
            context.close()


@pytest.mark.django_db(transaction=True)
def test_signing_dialog_signs_with_progress(signing_env, live_server, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    org, leader = signing_env["org"], signing_env["leader"]
    doc = advance(org, draft(org, type_code="ke-hoach", body="<p>Nội dung.</p>",
                             subject="Kế hoạch ký trong hộp thoại"), "approved")
    context = browser.new_context(viewport={"width": 1366, "height": 800}, locale="vi-VN")
    context.set_default_timeout(30_000)
    try:
        page = _login(context, live_server.url, leader.username)
        page.goto(f"{live_server.url}/documents/{doc.pk}/")
        page.click("button[data-action=sign]")
        dialog = page.locator("#sign-dialog")
        dialog.wait_for(state="visible")
        assert "Nguyễn" in dialog.locator(".sign-capacity").inner_text() or \
            dialog.locator(".sign-capacity strong").inner_text().strip()
        page.wait_for_timeout(1500)
        page.screenshot(path=str(ARTIFACTS / "1366-sign-dialog.png"))
        # Nothing was signed by opening the dialog.
        doc.refresh_from_db()
        assert doc.state == "approved"
        # The progress shows while the server signs; the page then navigates, so what
        # was seen is kept in sessionStorage.
        page.evaluate("""() => document.addEventListener('submit', () => setTimeout(() => {
            const box = document.querySelector('#sign-dialog [data-progress]');
            sessionStorage.setItem('progress', box && !box.hidden ? 'shown' : 'hidden');
        }, 100))""")
        with page.expect_navigation():
            dialog.locator("[data-testid=dialog-confirm-sign]").click()
        assert page.evaluate("sessionStorage.getItem('progress')") == "shown"
        message = " ".join(page.locator(".message").all_inner_texts())
        doc.refresh_from_db()
        assert doc.state == "signed", message
        clerk = signing_env["clerk"]
        assert str(clerk) in message, message
        page.screenshot(path=str(ARTIFACTS / "1366-signed.png"), full_page=True)
    finally:
        context.close()
    assert Document.objects.get(pk=doc.pk).state == "signed"


@pytest.mark.django_db(transaction=True)
def test_tablet_room_alerts_a_new_vote(room_server, browser):  # noqa: F811 - the fixture
    """On a tablet the delegate's vote buttons are in the dock at the bottom of the screen,
    and a vote opened by the chair is announced without scrolling."""
    from django.test import Client

    from tests.factories import make_org
    from tests.meeting_helpers import in_session
    from workflow.meetings.services.attendance import check_in
    from workflow.meetings.services.votes import open_vote

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    org = make_org()
    meeting = in_session(org)
    cast = people(org)
    delegate = cast["delegate"]
    check_in(delegate, meeting.pk)
    context = browser.new_context(viewport={"width": 800, "height": 1280}, locale="vi-VN")
    context.set_default_timeout(15_000)
    try:
        client = Client()
        client.force_login(delegate)
        live_server = room_server
        host = live_server.url.split("//", 1)[1].split(":")[0]
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                              "domain": host, "path": "/"}])
        page = context.new_page()
        page.goto(f"{live_server.url}/meetings/{meeting.pk}/room/")
        page.locator("#items .room-item").first.wait_for(state="attached")
        assert page.locator("#vote-alert").is_hidden()
        open_vote(cast["chair"], meeting.pk, question="Thông qua chương trình")
        page.locator("#vote-alert").wait_for(state="visible", timeout=8_000)
        assert "Thông qua chương trình" in page.locator("#vote-alert").inner_text()
        yes = page.locator("#dock-vote .btn-vote-yes")
        yes.wait_for()
        box = yes.bounding_box()
        assert box and box["y"] + box["height"] <= 1280  # on screen, no scrolling
        page.screenshot(path=str(ARTIFACTS / "800-room-vote-alert.png"))
        yes.click()
        page.locator("#dock-vote .vote-done").wait_for(timeout=8_000)
        assert page.locator("#vote-alert").is_hidden()
    finally:
        context.close()
