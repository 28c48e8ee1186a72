"""Browser pages through the Django test client: login, header, rendering per role, buttons,
404 for what a person cannot see, refusals as messages, the whole flow and the list.
"""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from tests.factories import PASSWORD, advance, draft, pdf_bytes
from tests.views_helpers import (
    ACTIONS,
    _form_data,
    _vietnamese_pages,  # noqa: F401 - autouse fixture
    action_url,
    login,
    messages_of,
    post_action,
    vi,
)
from workflow import access
from workflow.audit import access_log
from workflow.audit.services import history
from workflow.documents import services
from workflow.documents.models import Document, FileVersion, State
from workflow.documents.templatetags import docui
from workflow.organisation.models import Role


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse("documents:inbox"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/")


def test_login_and_logout(client, org):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b'lang="vi"' in page.content
    assert b'name="username"' in page.content

    bad = client.post(reverse("login"), {"username": "province-specialist", "password": "x"})
    assert bad.status_code == 200
    assert "_auth_user_id" not in client.session

    ok = client.post(reverse("login"), {"username": "province-specialist", "password": PASSWORD})
    assert ok.status_code == 302
    assert ok["Location"] == reverse("documents:inbox")
    home = client.get(ok["Location"])
    assert home.status_code == 200
    assert "specialist province" in home.content.decode()

    out = client.post(reverse("logout"))
    assert out.status_code == 302
    assert "_auth_user_id" not in client.session


def test_header_has_nav_count_search_and_language(client, org):
    doc = advance(org, draft(org), "submitted")
    login(client, org, "province", Role.HEAD)
    html = client.get(reverse("documents:list")).content.decode()
    assert 'action="/search/"' in html
    assert re.search(r'<input[^>]+type="search"[^>]+name="q"', html)
    assert 'id="inbox-count">1<' in html
    assert reverse("set_language") in html
    assert 'name="language" value="en"' in html
    assert reverse("logout") in html
    assert reverse("documents:create") in html
    assert doc.subject in html

    # Switching language keeps the person on the page and renders in English.
    switched = client.post(
        reverse("set_language"), {"language": "en", "next": reverse("documents:list")}
    )
    assert switched.status_code == 302
    assert b'lang="en"' in client.get(reverse("documents:list")).content


def test_new_document_link_hidden_for_people_who_cannot_draft(client, org):
    login(client, org, "province", Role.MEMBER)
    html = client.get(reverse("documents:inbox")).content.decode()
    assert reverse("documents:create") not in html
    response = client.get(reverse("documents:create"), follow=True)
    assert ("error", vi("You cannot draft documents for any unit.")) in messages_of(response)


def test_pages_work_without_the_built_htmx(monkeypatch):
    monkeypatch.setattr(docui.finders, "find", lambda path: None)
    assert docui.vendor_script("htmx.min.js") == ""
    monkeypatch.setattr(docui.finders, "find", lambda path: "/somewhere/" + path)
    assert "vendor/htmx.min.js" in docui.vendor_script("htmx.min.js")


@pytest.mark.parametrize("role", Role.values)
def test_pages_render_for_each_role(client, org, role):
    plan = draft(org, subject="Kế hoạch đã ban hành", type_code="ke-hoach")
    issued = advance(org, plan, "issued")
    private = draft(org, subject="Bản nháp riêng")
    user = login(client, org, "province", role)

    assert client.get(reverse("documents:inbox")).status_code == 200
    listing = client.get(reverse("documents:list"))
    assert listing.status_code == 200
    assert issued.subject in listing.content.decode()

    detail = client.get(reverse("documents:detail", args=[issued.pk]))
    assert detail.status_code == 200
    html = detail.content.decode()
    assert issued.symbol in html
    assert 'id="history"' in html

    private_page = client.get(reverse("documents:detail", args=[private.pk]))
    if private.drafter_id == user.pk:
        assert private_page.status_code == 200
    else:
        assert private_page.status_code == 404
        assert private.subject not in listing.content.decode()

    create = client.get(reverse("documents:create"))
    if role in (Role.SPECIALIST, Role.HEAD, Role.LEADER):
        assert create.status_code == 200
        assert b'name="subject"' in create.content
    else:
        assert create.status_code == 302


@pytest.mark.parametrize("state", ["draft", "submitted", "reviewed", "approved", "signed",
                                   "issued", "returned"])
def test_buttons_appear_only_when_allowed(client, org, state):
    doc = draft(org)
    if state != "draft":
        doc = advance(org, doc, state)
    doc.refresh_from_db()
    for role in (Role.SPECIALIST, Role.HEAD, Role.LEADER, Role.CLERK, Role.MEMBER):
        user = login(client, org, "province", role)
        response = client.get(reverse("documents:detail", args=[doc.pk]))
        if not access.can(user, "view", doc):
            assert response.status_code == 404
            continue
        html = response.content.decode()
        for action in ACTIONS:
            shown = action_url(doc, action) in html
            assert shown == access.can(user, action, doc), (role, state, action)
        if any(access.can(user, a, doc) for a in ACTIONS):
            assert f'name="expected_state" value="{doc.state}"' in html
        edit_link = reverse("documents:edit", args=[doc.pk]) in html
        assert edit_link == access.can(user, "edit", doc)
        upload_form = reverse("documents:upload", args=[doc.pk]) in html
        assert upload_form == access.can(user, "edit", doc)


def test_invisible_document_answers_404_everywhere(client, org):
    doc = draft(org, unit="district")
    services.add_file(doc.drafter, doc.pk, upload=SimpleUploadedFile("a.pdf", pdf_bytes()),
                      kind="main")
    version = FileVersion.objects.get(file__document=doc)
    for unit, role in [("district2", Role.LEADER), ("province", Role.LEADER),
                       ("district", Role.LEADER), ("commune", Role.SPECIALIST)]:
        login(client, org, unit, role)
        assert client.get(reverse("documents:detail", args=[doc.pk])).status_code == 404
        assert client.get(reverse("documents:edit", args=[doc.pk])).status_code == 404
        assert client.get(
            reverse("documents:download", args=[doc.pk, version.pk])
        ).status_code == 404
        submit = client.post(action_url(doc, "submit"), {"expected_state": "draft"})
        assert submit.status_code == 404
        assert client.post(
            reverse("documents:comment", args=[doc.pk]), {"text": "x"}
        ).status_code == 404
        assert client.post(
            reverse("documents:upload", args=[doc.pk]),
            {"kind": "attachment", "file": SimpleUploadedFile("b.pdf", pdf_bytes())},
        ).status_code == 404
    assert client.get(reverse("documents:detail", args=[999999])).status_code == 404
    doc.refresh_from_db()
    assert doc.state == State.DRAFT
    assert FileVersion.objects.filter(file__document=doc).count() == 1


def test_wrong_role_gets_a_message_not_an_error(client, org):
    doc = advance(org, draft(org), "submitted")
    login(client, org, "province", Role.HEAD)
    response = post_action(client, doc, "approve")
    assert response.status_code == 200
    level, text = messages_of(response)[0]
    assert level == "error"
    with translation.override("vi"):
        expected = vi("You cannot “%(action)s” this document in its current state.",
                      action=services.action_label("approve"))
    assert text == expected
    assert escape(text) in response.content.decode()
    doc.refresh_from_db()
    assert doc.state == State.SUBMITTED


def test_unknown_action_gets_a_message(client, org):
    doc = advance(org, draft(org), "submitted")
    login(client, org, "province", Role.HEAD)
    response = post_action(client, doc, "explode")
    assert ("error", vi("Unknown action.")) in messages_of(response)


def test_return_needs_a_reason(client, org):
    doc = advance(org, draft(org), "submitted")
    login(client, org, "province", Role.HEAD)
    response = post_action(client, doc, "return", comment="   ")
    assert ("error", vi("Give a reason.")) in messages_of(response)
    doc.refresh_from_db()
    assert doc.state == State.SUBMITTED

    response = post_action(client, doc, "return", comment="Bổ sung số liệu quý II")
    assert ("success", vi("The document was returned to the drafter.")) in messages_of(response)
    doc.refresh_from_db()
    assert doc.state == State.RETURNED

    # The drafter sees the reason on the task and on the document.
    login(client, org, "province", Role.SPECIALIST)
    inbox = client.get(reverse("documents:inbox")).content.decode()
    assert doc.subject in inbox
    page = client.get(reverse("documents:detail", args=[doc.pk])).content.decode()
    assert "Bổ sung số liệu quý II" in page
    assert "callout-warn" in page


def test_double_click_is_refused_with_a_message(client, org):
    doc = draft(org)
    login(client, org, "province", Role.SPECIALIST)
    first = post_action(client, doc, "submit", expected="draft")
    assert ("success", vi("The document was submitted for review.")) in messages_of(first)
    second = post_action(client, doc, "submit", expected="draft")
    assert second.status_code == 200
    level, text = messages_of(second)[0]
    assert level == "error"
    doc.refresh_from_db()
    assert text == vi(
        "This document is already “%(state)s”; your action was not applied again.",
        state=vi(State(doc.state).label),
    )
    assert [e.action for e in history(doc)].count("document.submit") == 1


def test_actions_need_post(client, org):
    doc = draft(org)
    login(client, org, "province", Role.SPECIALIST)
    assert client.get(action_url(doc, "submit")).status_code == 405
    assert client.get(reverse("documents:upload", args=[doc.pk])).status_code == 405
    assert client.get(reverse("documents:comment", args=[doc.pk])).status_code == 405


def test_flow_through_the_pages(client, org):
    login(client, org, "province", Role.SPECIALIST)
    client.post(reverse("documents:create"), _form_data(org))
    doc = Document.objects.get()
    client.post(reverse("documents:upload", args=[doc.pk]),
                {"kind": "main", "file": SimpleUploadedFile("ke-hoach.pdf", pdf_bytes())})
    post_action(client, doc, "submit")

    login(client, org, "province", Role.HEAD)
    assert doc.subject in client.get(reverse("documents:inbox")).content.decode()
    doc.refresh_from_db()
    post_action(client, doc, "return", comment="Thiếu phụ lục kinh phí")

    login(client, org, "province", Role.SPECIALIST)
    doc.refresh_from_db()
    data = _form_data(org, subject=doc.subject + " (sửa)", edit_version=doc.edit_version)
    data.pop("unit")
    assert client.post(reverse("documents:edit", args=[doc.pk]), data).status_code == 302
    post_action(client, doc, "submit", expected="returned")

    login(client, org, "province", Role.HEAD)
    doc.refresh_from_db()
    post_action(client, doc, "forward", comment="Đồng ý, trình lãnh đạo")

    login(client, org, "province", Role.LEADER)
    doc.refresh_from_db()
    assert doc.state == State.REVIEWED
    assert doc.subject in client.get(reverse("documents:inbox")).content.decode()
    response = post_action(client, doc, "approve")
    assert ("success", vi("The document was approved.")) in messages_of(response)
    doc.refresh_from_db()
    assert doc.state == State.APPROVED

    actions = [e.action for e in history(doc).exclude(action__in=access_log.ACCESS_ACTIONS)]
    assert actions == [
        "document.create", "file.upload", "document.submit", "document.return",
        "document.edit", "document.submit", "document.forward", "document.approve",
    ]
    html = response.content.decode()
    assert "Thiếu phụ lục kinh phí" in html
    assert "Đồng ý, trình lãnh đạo" in html


def test_list_filters_and_pagination(client, org):
    for i in range(23):
        draft(org, subject=f"Báo cáo tháng {i + 1}", type_code="bao-cao")
    plan = draft(org, subject="Kế hoạch giám sát", type_code="ke-hoach")
    advance(org, plan, "submitted")
    draft(org, unit="district", subject="Của huyện")
    login(client, org, "province", Role.SPECIALIST)
    url = reverse("documents:list")

    first = client.get(url)
    assert first.context["page_obj"].paginator.count == 24
    assert len(first.context["page_obj"].object_list) == 20
    assert "Của huyện" not in first.content.decode()
    second = client.get(url, {"page": 2})
    assert len(second.context["page_obj"].object_list) == 4
    assert client.get(url, {"page": "zzz"}).status_code == 200

    by_text = client.get(url, {"q": "giám sát"})
    assert [d.pk for d in by_text.context["page_obj"]] == [plan.pk]
    by_type = client.get(url, {"type": org.types["bao-cao"].pk})
    assert by_type.context["page_obj"].paginator.count == 23
    by_state = client.get(url, {"state": "submitted"})
    assert [d.pk for d in by_state.context["page_obj"]] == [plan.pk]
    year = plan.created_at.year
    assert client.get(url, {"year": year}).context["page_obj"].paginator.count == 24
    assert client.get(url, {"unit": org.units["province"].pk}).context[
        "page_obj"].paginator.count == 24
    # Filters stay in the pagination links.
    paged = client.get(url, {"type": org.types["bao-cao"].pk}).content.decode()
    assert f"type={org.types['bao-cao'].pk}&amp;page=2" in paged
    # Nonsense filter values are ignored, not a crash.
    assert client.get(url, {"year": "abc", "type": "999", "state": "nope"}).status_code == 200
