"""Searching during a meeting, in a real browser (Chromium through Playwright).

A commune member types an unaccented query into the header search box, narrows
the results with a facet, uses the number/symbol typeahead with the keyboard and
opens the hit's file at the page the passage is on. Screenshots go to
test-artifacts/search/.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import PDFJS_BUILT
from tests.csp import watch_csp
from tests.factories import PASSWORD, advance, draft, make_org
from tests.second_factor import browser_login
from tests.test_browser_journey import DESKTOP
from workflow.documents import services
from workflow.organisation.models import Role

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "search"




def _archive(org):
    """Issued documents of the commune; the plan's passage is on page 2 of its PDF."""
    from tests.test_search_quality import make_pdf

    plan = draft(org, "commune", type_code="ke-hoach",
                 subject="Kế hoạch giám sát việc thực hiện chính sách an sinh năm 2023")
    pdf = make_pdf([
        "Căn cứ Điều lệ Mặt trận Tổ quốc Việt Nam, Ban Thường trực xây dựng kế hoạch.",
        "Nội dung: tổ chức giám sát việc thực hiện chính sách an sinh xã hội trên địa bàn "
        "xã trong năm 2023, tập trung vào hộ nghèo và người có công.",
        "Tổ chức thực hiện: các ban chuyên môn phối hợp thực hiện.",
    ])
    services.add_file(plan.drafter, plan.pk, upload=SimpleUploadedFile("ke-hoach.pdf", pdf),
                      kind="main")
    plan = advance(org, plan, "issued")
    report = advance(org, draft(org, "commune", type_code="bao-cao",
                                subject="Báo cáo kết quả giám sát năm 2023 theo kế hoạch"),
                     "issued")
    secret = draft(org, "commune2", type_code="ke-hoach",
                   subject="Kế hoạch giám sát 2023 của xã bên cạnh (dự thảo)")
    return plan, report, secret


def test_search_filter_typeahead_and_open_at_page(live_server, transactional_db, browser):
    org = make_org()
    plan, report, secret = _archive(org)  # no broker: indexed as each change commits
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=DESKTOP, locale="vi-VN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    watch_csp(page.context, errors)
    shots = iter(range(1, 100))

    def shot(name: str) -> None:
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(ARTIFACTS / f"{next(shots):02d}-{name}.png"), full_page=True)

    member = org.person("commune", Role.MEMBER)
    browser_login(page, live_server.url, member.username, PASSWORD)
    page.wait_for_url(live_server.url + "/")

    # 1. An unaccented query typed into the header box, as during a session.
    page.fill("#header-q", "ke hoach giam sat 2023")
    page.press("#header-q", "Enter")
    page.wait_for_url("**/search/?q=*")
    hits = page.locator("ol.hits > li.hit")
    assert hits.count() == 2
    titles = hits.locator("h3 a").all_inner_texts()
    assert any("Kế hoạch giám sát" in t for t in titles)
    assert not any("xã bên cạnh" in t for t in titles)  # another commune's draft
    assert page.locator("ol.hits mark").count() > 0
    assert "giám sát" in " ".join(page.locator("ol.hits mark").all_inner_texts()).lower()
    shot("results-unaccented")

    # 2. Narrow by a facet: the type "Kế hoạch".
    page.click("section.facet[data-facet=type] a.facet-value:has-text('Kế hoạch')")
    page.wait_for_url("**type=ke-hoach*")
    assert hits.count() == 1
    assert page.locator("section.facet[data-facet=type] a.facet-value.selected").count() == 1
    shot("filtered-by-type")

    # 3. Open the hit at its page: the link opens the in-page viewer (pdf.js) at page 2
    #    of the file, which the user may download too.
    link = hits.first.locator("a.open-at-page")
    href = link.get_attribute("href")
    query = parse_qs(urlsplit(href).query)
    assert urlsplit(href).path == "/view/" and query["page"] == ["2"], href
    response = page.request.get(live_server.url + query["src"][0])
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/pdf")
    with context.expect_page() as opened:
        link.click()
    pdf_page = opened.value
    pdf_page.wait_for_load_state()
    if PDFJS_BUILT:
        pdf_page.locator("#pdf-viewer .pdf-page canvas").first.wait_for()
        pdf_page.wait_for_function(
            "() => document.querySelector('#pdf-viewer .pdf-toolbar input').value === '2'")
        pdf_page.screenshot(path=str(ARTIFACTS / f"{next(shots):02d}-viewer-at-page-2.png"))
    pdf_page.close()
    hits.first.locator("h3 a").click()
    page.wait_for_url(f"**/documents/{plan.pk}/")
    shot("hit-opened")

    # 4. Typeahead on the number/symbol, keyboard only.
    page.fill("#header-q", "")
    page.type("#header-q", plan.symbol[:4], delay=40)
    listbox = page.locator("#header-q-suggestions")
    listbox.locator("[role=option]").first.wait_for()
    options = listbox.locator("[role=option]").all_inner_texts()
    assert plan.symbol in options
    assert page.get_attribute("#header-q", "aria-expanded") == "true"
    page.press("#header-q", "ArrowDown")
    active = page.get_attribute("#header-q", "aria-activedescendant")
    assert active and page.get_attribute(f"#{active}", "aria-selected") == "true"
    shot("typeahead")
    page.press("#header-q", "Escape")
    assert listbox.is_hidden()
    page.press("#header-q", "ArrowDown")  # reopens the list
    listbox.locator("[role=option]").first.wait_for()
    page.press("#header-q", "ArrowDown")
    page.press("#header-q", "Enter")
    page.wait_for_url("**/search/?q=*")
    assert hits.first.locator(".symbol").inner_text() == plan.symbol
    shot("symbol-search")
    assert not errors, errors
    context.close()
