"""The notification centre in Chromium: header count, open a notice, e-mail settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import PASSWORD, advance, draft, make_org
from workflow.notifications.models import Notification, Preference
from workflow.organisation.models import Role

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "var" / "test-artifacts" / "notifications"


def test_returned_draft_reaches_the_drafter_in_the_header(live_server, transactional_db,
                                                          browser):
    from workflow.documents import services

    org = make_org()
    doc = advance(org, draft(org, "district", subject="Kế hoạch thi đua"), "submitted")
    services.transition(org.person("district", Role.HEAD), doc.pk, "return",
                        comment="Bổ sung số liệu")
    drafter = org.person("district", Role.SPECIALIST)
    page = browser.new_page(locale="en-GB")
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", drafter.username)
    page.fill("#id_password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    assert page.locator("#notices-unread").inner_text() == "1"
    page.click(".header-notices")
    page.wait_for_url("**/notifications/")
    notice = page.locator("ul.notices li.unread")
    assert "Bổ sung số liệu" in notice.inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "list.png"), full_page=True)
    notice.locator("button.link-button").click()
    page.wait_for_url(f"**/documents/{doc.pk}/")
    assert page.locator("#notices-unread").inner_text() == "0"
    assert Notification.objects.get(recipient=drafter).read_at is not None
    page.goto(live_server.url + "/notifications/")
    page.select_option("#pref-deadline", "digest")
    page.click("form[action$='/notifications/preferences/'] button[type=submit]")
    page.wait_for_url("**/notifications/")
    assert Preference.objects.get(user=drafter, kind="deadline").mode == "digest"
    assert page.locator("#pref-deadline").input_value() == "digest"
