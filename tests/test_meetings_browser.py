"""The meeting room in real browsers: three people at once (Chromium through Playwright).

The secretary advances the agenda and both delegates' pages follow within 2 s; a
delegate's private note is invisible to the other; both delegates vote from two
tabs each at the same moment and each is counted once. Screenshots go to
test-artifacts/meetings/.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from tests.conftest import PDFJS_BUILT
from tests.csp import watch_csp
from tests.factories import make_org
from tests.meeting_helpers import in_session, people
from workflow.meetings.models import Ballot, PrivateNote, Vote
from workflow.meetings.services.links import paper_file_version

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "meetings"
DESKTOP = {"width": 1366, "height": 900}
TABLET = {"width": 820, "height": 1180}
FOLLOW_MS = 2000




@pytest.fixture
def room_server(live_server):
    """The live server; on the in-memory SQLite test database, one request at a time.

    There the server threads share the test's single connection, which cannot run
    two transactions at once; a file or PostgreSQL database needs no such lock.
    """
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        httpd = live_server.thread.httpd
        app = httpd.get_app()
        lock = threading.Lock()

        def locked(environ, start_response):
            with lock:
                result = app(environ, start_response)
                try:
                    body = b"".join(result)
                finally:
                    if hasattr(result, "close"):
                        result.close()
            return [body]

        httpd.set_app(locked)
    return live_server


class Seat:
    """One person's browser context, logged in through a session cookie."""

    def __init__(self, browser, base: str, user, name: str, viewport=DESKTOP):
        self.name = name
        self.base = base
        self.context = browser.new_context(viewport=viewport, locale="vi-VN")
        self.context.set_default_timeout(15_000)
        client = Client()
        client.force_login(user)
        host = base.split("//", 1)[1].split(":")[0]
        self.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                                   "domain": host, "path": "/"}])
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        watch_csp(self.context, self.errors)

    def open_room(self, meeting, page=None):
        page = page or self.page
        page.goto(f"{self.base}/meetings/{meeting.pk}/room/")
        page.locator("#items .room-item").first.wait_for()
        return page

    def shot(self, label: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        # The sticky header would be drawn mid-page in a full-page shot taken while scrolled.
        self.page.evaluate("window.scrollTo(0, 0)")
        self.page.screenshot(path=str(ARTIFACTS / f"{label}-{self.name}.png"), full_page=True)


def _current_title(page) -> str:
    return page.locator("#items .room-item.is-current .item-title").inner_text()


def test_meeting_room_three_browsers(room_server, transactional_db, browser):
    org = make_org()
    cast = people(org)
    meeting = in_session(org)
    items = list(meeting.items.order_by("order"))
    base = room_server.url

    secretary = Seat(browser, base, cast["secretary"], "secretary")
    d1 = Seat(browser, base, cast["delegate"], "delegate1")
    d2 = Seat(browser, base, cast["commune_delegate"], "delegate2-tablet", viewport=TABLET)
    seats = [secretary, d1, d2]
    for seat in seats:
        seat.open_room(meeting)
        assert items[0].title in _current_title(seat.page)
    secretary.shot("01-room-start")

    # 1. The secretary moves to the next item; every delegate follows within 2 s.
    started = time.monotonic()
    secretary.page.click("#next-item")
    for seat in (d1, d2):
        seat.page.locator("#items .room-item.is-current", has_text=items[1].title).wait_for(
            timeout=FOLLOW_MS + 500)
    followed = time.monotonic() - started
    assert followed <= FOLLOW_MS / 1000 + 0.5, followed
    d2.shot("02-followed-item-2")

    # 2. A delegate opens a paper and writes a private note; the other cannot see it.
    note = "Ghi chú riêng: đề nghị bổ sung số liệu quý IV"
    d1.page.locator("#papers .paper-button").first.click()
    if PDFJS_BUILT:
        # pdf.js draws the paper's pages inside the page: no browser PDF plugin needed.
        d1.page.locator("#viewer .pdf-page canvas").first.wait_for()
        assert d1.page.locator("#viewer .pdf-page").count() >= 1
        assert d1.page.locator("#viewer .pdf-toolbar input").input_value() == "1"
    else:
        d1.page.locator("#viewer .viewer-frame, #viewer .render-failed").first.wait_for()
    d1.page.fill("#note-text", note)
    d1.page.locator("#note-status", has_text=":").wait_for()  # "Saved at HH:MM:SS"
    d1.shot("03-paper-and-note")
    d2.page.locator("#papers .paper-button").first.click()
    d2.page.wait_for_function("() => !document.getElementById('note-text').disabled")
    assert d2.page.input_value("#note-text") == ""
    d2.shot("04-other-delegate-empty-note")
    assert PrivateNote.objects.get().text == note
    # Reloading brings the note back for its author only.
    d1.open_room(meeting)
    d1.page.locator("#papers .paper-button").first.click()
    d1.page.wait_for_function("() => !document.getElementById('note-text').disabled")
    assert d1.page.input_value("#note-text") == note

    # 3. Check in, then the secretary opens a vote.
    for seat in (d1, d2):
        seat.page.click("#check-in")
        seat.page.locator("#check-in").wait_for(state="hidden")
    secretary.page.fill("#vote-q", "Thông qua báo cáo kết quả công tác năm?")
    secretary.page.click("#open-vote button[type=submit]")
    for seat in (d1, d2):
        seat.page.locator(".vote-open .btn-vote-yes").wait_for(timeout=FOLLOW_MS + 500)
    d1.shot("05-vote-open")

    # 4. Each delegate votes from two tabs at the same moment: counted once each.
    second_tabs = []
    for seat in (d1, d2):
        tab = seat.context.new_page()
        seat.open_room(meeting, tab)
        tab.locator(".vote-open .btn-vote-no").wait_for()
        second_tabs.append(tab)
    # Fire all four clicks without waiting for any answer.
    for page, selector in ((d1.page, ".btn-vote-yes"), (second_tabs[0], ".btn-vote-no"),
                           (d2.page, ".btn-vote-yes"), (second_tabs[1], ".btn-vote-no")):
        page.evaluate("sel => document.querySelector('.vote-open ' + sel).click()", selector)
    for page in (d1.page, d2.page, *second_tabs):
        page.locator(".vote-open .vote-done").wait_for(timeout=FOLLOW_MS + 3000)
    vote = Vote.objects.get(meeting=meeting)
    assert Ballot.objects.filter(vote=vote).count() == 2
    for person in (cast["delegate"], cast["commune_delegate"]):
        assert Ballot.objects.filter(vote=vote, voter=person).count() == 1
    vote.refresh_from_db()
    assert vote.cast_count == 2
    d2.shot("06-voted")

    # 5. The secretary closes the vote; everyone sees the result.
    secretary.page.click(".vote-open .btn-warning")
    for seat in seats:
        seat.page.locator(".vote-closed .vote-result").wait_for(timeout=FOLLOW_MS + 500)
    secretary.shot("07-vote-result")

    # 6. A paper whose file is gone shows a clear message and the download link.
    paper = meeting.papers.order_by("pk").first()
    version = paper_file_version(paper)
    version.blob.storage.delete(version.blob.name)
    secretary.page.locator("#items .room-item", has_text=paper.item.title).locator(
        ".item-button").click()
    secretary.page.locator("#papers .paper-button", has_text=paper.document.subject).click()
    secretary.page.locator("#viewer .render-failed").wait_for()
    assert secretary.page.locator("#viewer a", has_text="").count() >= 1
    secretary.shot("08-render-failed")

    for seat in seats:
        assert not seat.errors, (seat.name, seat.errors)
        seat.context.close()
