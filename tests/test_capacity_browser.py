"""In the browser: the head records a delegation on its page, the delegate chooses the
capacity in the signing dialog and the signed PDF carries it; no CSP violation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from signing.models import PdfStage, SignedPdf, SigningDelegation
from tests.csp import watch_csp
from tests.factories import PASSWORD, advance, draft
from tests.second_factor import browser_login
from workflow.organisation.models import Membership, Role, User

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _page(browser, base, username):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN")
    context.set_default_timeout(30_000)
    errors = watch_csp(context, [])
    page = context.new_page()
    browser_login(page, base, username, PASSWORD)
    page.wait_for_url(base + "/")
    return context, page, errors


def test_delegation_then_signing_in_the_chosen_capacity(signing_env, live_server, browser):
    org, leader = signing_env["org"], signing_env["leader"]
    unit = org.units["province"]
    head = User.objects.create_user(username="chu-tich", password=PASSWORD,
                                    full_name="Chủ tịch Tỉnh")
    Membership.objects.create(user=head, unit=unit, role=Role.LEADER, title="Chủ tịch")
    context, page, errors = _page(browser, live_server.url, head.username)
    try:
        page.goto(f"{live_server.url}/signing/delegations/")
        page.select_option("#d-grantee", str(leader.pk))
        page.select_option("#d-capacity", "TUQ")
        today = timezone.localdate()
        page.fill("#d-from", (today - dt.timedelta(days=1)).isoformat())
        page.fill("#d-to", (today + dt.timedelta(days=30)).isoformat())
        page.fill("#d-note", "Giấy ủy quyền số 01/GUQ")
        with page.expect_navigation():
            page.click("form.stack button[type=submit]")
        assert "Giấy ủy quyền số 01/GUQ" in page.locator("[data-testid=delegations]").inner_text()
        assert not errors, errors
    finally:
        context.close()
    assert SigningDelegation.objects.get().capacity == "TUQ"

    doc = advance(org, draft(org, type_code="ke-hoach", subject="Kế hoạch ủy quyền"),
                  "approved")
    context, page, errors = _page(browser, live_server.url, leader.username)
    try:
        page.goto(f"{live_server.url}/documents/{doc.pk}/")
        page.click("button[data-action=sign]")
        dialog = page.locator("#sign-dialog")
        dialog.wait_for(state="visible")
        choice = dialog.locator("[data-testid=capacity-choice]")
        assert "TUQ. CHỦ TỊCH" in choice.inner_text()
        choice.locator("input[value=TUQ]").check()
        with page.expect_navigation():
            dialog.locator("[data-testid=dialog-confirm-sign]").click()
        assert not errors, errors
        assert "TUQ. CHỦ TỊCH / PHÓ CHỦ TỊCH" in page.locator(
            "[data-testid=pdf-capacity]").first.inner_text()
    finally:
        context.close()
    signed = SignedPdf.objects.get(document=doc, stage=PdfStage.SIGNED)
    assert signed.capacity == "TUQ" and signed.delegation_id is not None
