"""The incoming journey in a real browser (Chromium through Playwright).

The province issues a signed document to three communes; the commune clerk finds
it in the incoming register with its signature check, registers it and presents
it; the commune leader assigns it with a direction; the specialist drafts the
reply; the reply is signed and issued by the commune's clerk; the province's page
of the original shows it answered. Screenshots go to test-artifacts/incoming/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from signing.demo import attach_key, attach_seal
from tests.csp import watch_csp
from tests.factories import PASSWORD, advance, draft
from tests.second_factor import browser_login
from tests.signing_fixtures import LEADER_NAME
from workflow.documents import services as doc_services
from workflow.documents.models import Document, DocumentRecipient
from workflow.incoming.models import IncomingDocument, State
from workflow.organisation.models import Role
from workflow.organisation.services import create_unit

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "incoming"


class Session:
    def __init__(self, browser, base: str):
        self.base = base
        self.context = browser.new_context(viewport={"width": 1366, "height": 900},
                                           locale="vi-VN")
        self.context.set_default_timeout(20_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        watch_csp(self.context, self.errors)  # any Content-Security-Policy violation fails
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.shots = 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def shot(self, name: str) -> None:
        self.shots += 1
        self.page.screenshot(path=str(ARTIFACTS / f"{self.shots:02d}-{name}.png"),
                             full_page=True)

    def login(self, username: str) -> None:
        # Password, then the authenticator code (every test person has a device here).
        browser_login(self.page, self.base, username, PASSWORD)
        self.page.wait_for_url(self.base + "/")

    def logout(self) -> None:
        self.page.click(".logout-form button")
        self.page.wait_for_url("**/accounts/login/**")

    def click_and_wait(self, selector: str) -> None:
        with self.page.expect_navigation():
            self.page.click(selector)


def sign(leader, document) -> None:
    """pyHanko runs its own event loop; Playwright's sync API holds one in this thread."""
    import threading

    signer = threading.Thread(target=doc_services.perform, args=(leader, document.pk, "sign"))
    signer.start()
    signer.join(timeout=120)
    assert Document.objects.get(pk=document.pk).state == "signed"


def test_incoming_journey(live_server, signing_env, browser):
    org, demo = signing_env["org"], signing_env["demo"]
    commune = org.units["commune"]
    third = create_unit(name="Ủy ban MTTQ Việt Nam xã Nam Thanh", code="t-commune3",
                        level=org.levels["xa"], abbreviation="MTTQ-BTT",
                        parent=org.units["district"], place_name="Nghệ An")
    # The commune signs its own reply: its leader and seal get keys of the test PKI.
    commune_leader = org.person("commune", Role.LEADER)
    commune_leader.full_name = LEADER_NAME
    commune_leader.save()
    attach_key(commune_leader, demo, "leader", image=True)
    attach_seal(commune, demo, "seal")

    original = draft(org, "province", subject="V/v tổ chức Ngày hội Đại đoàn kết năm 2026")
    for unit in (commune, org.units["commune2"], third):
        DocumentRecipient.objects.create(document=original, unit=unit)
    original = advance(org, original, "approved")
    sign(signing_env["leader"], original)

    s = Session(browser, live_server.url)
    page = s.page
    # 1. The province's clerk issues it to the three communes.
    s.login("province-clerk")
    page.goto(f"{live_server.url}/documents/{original.pk}/")
    s.click_and_wait("button[data-action=issue]")
    original.refresh_from_db()
    assert original.state == "issued"
    assert IncomingDocument.objects.filter(delivery__document=original).count() == 3
    s.logout()

    # 2. The commune's clerk finds it in the incoming register and registers it.
    s.login("commune-clerk")
    page.click("nav.main-nav a[href='/incoming/']")
    page.wait_for_url("**/incoming/")
    incoming = IncomingDocument.objects.get(delivery__document=original, unit=commune)
    assert page.locator(f"#incoming-table a[href='/incoming/{incoming.pk}/']").count() == 1
    s.shot("register-list")
    page.click(f"#incoming-table a[href='/incoming/{incoming.pk}/']")
    page.wait_for_url(f"**/incoming/{incoming.pk}/")
    assert page.locator(".verdict[data-verdict=PASSED]").count() == 1
    s.shot("received")
    s.click_and_wait("button[data-action=register]")
    assert page.locator("#arrival-number").inner_text().endswith("01")
    page.select_option("#p-leader", str(commune_leader.pk))
    s.click_and_wait("button[data-action=present]")
    s.logout()

    # 3. The commune's leader assigns it from the task page.
    s.login("commune-leader")
    page.click(f"#tasks li[data-kind=incoming] a[href='/incoming/{incoming.pk}/']")
    page.wait_for_url(f"**/incoming/{incoming.pk}/")
    page.fill("#a-direction", "Ban Dân chủ chủ trì tham mưu văn bản trả lời.")
    page.select_option("#a-lead", str(org.person("commune", Role.SPECIALIST).pk))
    page.fill("#a-deadline", "2099-12-31")
    s.click_and_wait("button[data-action=assign]")
    assert "Ban Dân chủ chủ trì" in page.locator("#direction").inner_text()
    s.shot("assigned")
    s.logout()

    # 4. The specialist drafts the reply from it.
    s.login("commune-specialist")
    page.click(f"#tasks li[data-kind=incoming] a[href='/incoming/{incoming.pk}/']")
    page.wait_for_url(f"**/incoming/{incoming.pk}/")
    s.click_and_wait("button[data-action=reply]")
    incoming.refresh_from_db()
    reply = incoming.reply
    assert reply is not None and page.url.endswith(f"/documents/{reply.pk}/edit/")
    assert f"số {original.symbol}" in reply.subject
    assert list(reply.recipients.values_list("unit_id", flat=True)) == [
        org.units["province"].pk]
    s.shot("reply-draft")
    s.logout()

    # 5. Reviewed, approved and signed in the commune; its clerk issues it.
    reply = advance(org, reply, "approved")
    sign(commune_leader, reply)
    s.login("commune-clerk")
    page.goto(f"{live_server.url}/documents/{reply.pk}/")
    s.click_and_wait("button[data-action=issue]")
    reply = Document.objects.get(pk=reply.pk)
    assert reply.state == "issued"
    assert IncomingDocument.objects.get(pk=incoming.pk).state == State.DONE
    s.logout()

    # 6. The province's page of the original shows it answered.
    s.login("province-specialist")
    page.goto(f"{live_server.url}/documents/{original.pk}/")
    row = page.locator(f"#deliveries tr[data-unit='{commune.pk}']")
    assert reply.symbol in row.locator(".answered").inner_text()
    s.shot("answered")
    assert s.errors == []
