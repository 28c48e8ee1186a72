"""One critique case end to end in Chromium, across the people who work it.

District specialist opens the case and drafts the plan; the department head
forwards and the leader approves it in the documents pages; the specialist runs
the critique and drafts the conclusion; the leader approves the conclusion in
the case page; the clerk issues it (through the document service: the signing
pipeline needs tokens the test does not have); the specialist records the
agency's reply; the leader closes the case; the provincial chair sees it counted
on the dashboard. Screenshots go to test-artifacts/oversight/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.csp import watch_csp
from tests.factories import PASSWORD, make_org
from tests.second_factor import browser_login
from workflow.documents import services as documents
from workflow.documents.models import Document
from workflow.organisation.models import Role
from workflow.oversight.models import CritiqueCase

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "oversight"




class Person:
    def __init__(self, browser, base: str, username: str):
        self.base = base
        self.context = browser.new_context(viewport={"width": 1366, "height": 900},
                                           locale="vi-VN")
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        watch_csp(self.context, self.errors)
        browser_login(self.page, base, username, PASSWORD)
        self.page.wait_for_url(base + "/")
        self.name = username

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)

    def click(self, selector: str) -> None:
        with self.page.expect_navigation():
            self.page.click(selector)

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_critique_case_across_users(browser, live_server):
    org = make_org()
    base = live_server.url
    spec = Person(browser, base, "district-specialist")
    head = Person(browser, base, "district-head")
    leader = Person(browser, base, "district-leader")
    chair = Person(browser, base, "province-leader")

    # The specialist opens the case and drafts the plan document.
    spec.go("/oversight/critiques/new/")
    spec.page.fill("#f-title", "Dự thảo Nghị quyết hỗ trợ giống cây trồng")
    spec.page.fill("#f-agency", "Phòng Nông nghiệp huyện")
    spec.page.fill("#f-received", "2025-03-02")
    spec.click("form.ov-form button[type=submit]")
    case = CritiqueCase.objects.get()
    assert spec.page.locator("#case-state").get_attribute("data-state") == "received"
    spec.click("#actions form:has(input[value=plan]) button")
    case.refresh_from_db()
    plan = case.plan_document
    spec.go(f"/documents/{plan.pk}/")
    spec.click("button[data-action=submit]")

    # The head forwards and the leader approves it in the documents pages.
    head.go(f"/documents/{plan.pk}/")
    head.click("button[data-action=forward]")
    leader.go(f"/documents/{plan.pk}/")
    leader.click("button[data-action=approve]")
    case.refresh_from_db()
    assert case.state == "planned"

    # The specialist runs it as a conference and drafts the conclusion.
    spec.go(f"/oversight/critiques/{case.pk}/")
    spec.page.select_option("select[name=form]", "conference")
    spec.click("button[data-action=start]")
    spec.click("#actions form:has(input[value=conclusion]) button")
    spec.click("button[data-action=draft_conclusion]")
    spec.shot("1-conclusion-drafted")
    case.refresh_from_db()
    assert case.state == "conclusion_drafted"

    # The leader approves the conclusion from the case page; the document follows the
    # documents flow (the specialist submits it, the head forwards, the leader approves).
    leader.go(f"/oversight/critiques/{case.pk}/")
    leader.click("button[data-action=approve]")
    case.refresh_from_db()
    assert case.state == "approved"
    conclusion = case.conclusion_document
    spec.go(f"/documents/{conclusion.pk}/")
    spec.click("button[data-action=submit]")
    head.go(f"/documents/{conclusion.pk}/")
    head.click("button[data-action=forward]")
    leader.go(f"/documents/{conclusion.pk}/")
    leader.click("button[data-action=approve]")
    documents.transition(org.person("district", Role.LEADER), conclusion.pk, "sign")
    documents.transition(org.person("district", Role.CLERK), conclusion.pk, "issue")
    assert Document.objects.get(pk=conclusion.pk).state == "issued"
    case.refresh_from_db()
    assert case.state == "issued"

    # Sent long ago: the case waits for the reply and turns red.
    spec.go(f"/oversight/critiques/{case.pk}/")
    spec.page.fill("input[name=on]", "2025-04-01")
    spec.click("button[data-action=send]")
    assert spec.page.locator("#case-overdue").is_visible()
    spec.go("/oversight/critiques/")
    assert spec.page.locator("tr.ov-late-row").count() == 1
    spec.shot("2-overdue-list")
    spec.go(f"/oversight/critiques/{case.pk}/")
    spec.page.fill("textarea[name=accepted]", "Tiếp thu đối tượng hỗ trợ")
    spec.page.fill("textarea[name=explained]", "Giải trình nguồn kinh phí")
    spec.click("button[data-action=receive_reply]")
    leader.go(f"/oversight/critiques/{case.pk}/")
    leader.click("button[data-action=close]")
    case.refresh_from_db()
    assert case.state == "closed"
    leader.shot("3-closed")

    # The provincial chair sees it counted for the district, read-only.
    chair.go(f"/oversight/?year={case.held_on.year}")
    row = chair.page.locator(f"tr[data-unit='{org.units['district'].pk}']")
    assert "1/2" in row.inner_text()
    chair.shot("4-dashboard")
    chair.go(f"/oversight/critiques/{case.pk}/")
    assert chair.page.locator("button[data-action]").count() == 0
    for person in (spec, head, leader, chair):
        assert not person.errors, (person.name, person.errors)
