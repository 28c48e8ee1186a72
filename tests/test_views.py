"""Browser pages through the Django test client: rendering, permissions, refusals, uploads."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from tests.factories import PASSWORD, advance, draft, pdf_bytes
from workflow import access
from workflow.audit import access_log
from workflow.audit.services import history
from workflow.documents import services
from workflow.documents.models import Comment, Document, DocumentFile, FileVersion, State
from workflow.documents.templatetags import docui
from workflow.organisation.models import Role


@pytest.fixture(autouse=True)
def _vietnamese_pages(settings):
    # These tests read pages as a Vietnamese clerk sees them (the default language).
    settings.LANGUAGE_CODE = "vi"


ACTIONS = ["submit", "forward", "return", "approve", "sign", "issue", "archive", "withdraw"]


def vi(msgid: str, **params) -> str:
    """The text a Vietnamese page shows for an English msgid (whatever catalog is compiled)."""
    with translation.override("vi"):
        text = gettext(msgid)
    return text % params if params else text


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def login(client, org, unit: str, role: str):
    user = org.person(unit, role)
    access.forget(user)
    client.force_login(user)
    return user


def action_url(doc: Document, action: str) -> str:
    return reverse("documents:transition", args=[doc.pk, action])


def post_action(client, doc: Document, action: str, comment: str = "", expected=None):
    data = {"comment": comment, "expected_state": expected or doc.state}
    return client.post(action_url(doc, action), data, follow=True)


# --- login, header, language ----------------------------------------------------------------


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


# --- every role sees the pages it may see ---------------------------------------------------


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


# --- documents the person cannot see are 404 everywhere -------------------------------------


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


# --- refusals become messages ---------------------------------------------------------------


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


# --- drafting, editing, concurrent edits ----------------------------------------------------


def _form_data(org, **overrides) -> dict:
    data = {
        "document_type": org.types["ke-hoach"].pk,
        "unit": org.units["province"].pk,
        "drafting_department": org.departments["province"].pk,
        "subject": "Kế hoạch tổ chức Ngày hội Đại đoàn kết toàn dân tộc năm 2025",
        "body": "<p>Căn cứ <strong>Điều lệ</strong> MTTQ Việt Nam;</p><script>alert(1)</script>",
        "recipient_units": [org.units["district"].pk, org.units["district2"].pk],
        "external_recipients": "UBND tỉnh Nghệ An\nBáo Nghệ An\n",
        "priority": "urgent",
        "due_date": "2025-11-18",
        "confidential": "",
    }
    data.update(overrides)
    return data


def test_create_draft_through_the_form(client, org):
    user = login(client, org, "province", Role.SPECIALIST)
    page = client.get(reverse("documents:create"))
    html = page.content.decode()
    assert "tinymce" in html
    assert org.units["district"].name in html  # recipient choices

    response = client.post(reverse("documents:create"), _form_data(org))
    assert response.status_code == 302
    doc = Document.objects.get()
    assert response["Location"] == reverse("documents:detail", args=[doc.pk])
    assert doc.drafter == user
    assert doc.state == State.DRAFT
    assert doc.priority == "urgent"
    assert "<script>" not in doc.body and "<strong>Điều lệ</strong>" in doc.body
    assert set(doc.recipients.values_list("unit_id", flat=True)) == {
        org.units["district"].pk, org.units["district2"].pk
    }
    assert doc.recipient_names[-2:] == ["UBND tỉnh Nghệ An", "Báo Nghệ An"]

    detail = client.get(response["Location"]).content.decode()
    assert "Báo Nghệ An" in detail
    assert "<script>alert(1)</script>" not in detail


def test_create_rejects_bad_input_without_saving(client, org):
    login(client, org, "province", Role.SPECIALIST)
    response = client.post(reverse("documents:create"), _form_data(org, subject="  "))
    assert response.status_code == 400
    assert Document.objects.count() == 0
    # Another unit's department, and a unit the person cannot draft for.
    response = client.post(
        reverse("documents:create"),
        _form_data(org, drafting_department=org.departments["district"].pk),
    )
    assert response.status_code == 400
    response = client.post(
        reverse("documents:create"), _form_data(org, unit=org.units["district"].pk)
    )
    assert response.status_code == 400
    assert Document.objects.count() == 0
    # What was typed stays in the form.
    assert "Ngày hội Đại đoàn kết" in response.content.decode()


def test_edit_and_concurrent_edit_conflict(client, org):
    doc = draft(org)
    login(client, org, "province", Role.SPECIALIST)
    page = client.get(reverse("documents:edit", args=[doc.pk]))
    assert page.status_code == 200
    version = doc.edit_version
    assert f'name="edit_version" value="{version}"' in page.content.decode()

    # The same draft saved meanwhile from another tab.
    services.update_document(doc.drafter, doc.pk, data={"subject": "Sửa ở tab khác"})

    mine = _form_data(org, subject="Nội dung của tôi", edit_version=version)
    mine.pop("unit")
    response = client.post(reverse("documents:edit", args=[doc.pk]), mine)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nội dung của tôi" in html
    assert any(level == "error" for level, _ in messages_of(response))
    doc.refresh_from_db()
    assert doc.subject == "Sửa ở tab khác"

    # Saving again from the re-shown form is a deliberate overwrite.
    new_version = re.search(r'name="edit_version" value="(\d+)"', html).group(1)
    assert int(new_version) == doc.edit_version
    mine["edit_version"] = new_version
    response = client.post(reverse("documents:edit", args=[doc.pk]), mine)
    assert response.status_code == 302
    doc.refresh_from_db()
    assert doc.subject == "Nội dung của tôi"


def test_edit_refused_after_submission(client, org):
    doc = advance(org, draft(org), "submitted")
    login(client, org, "province", Role.SPECIALIST)
    response = client.get(reverse("documents:edit", args=[doc.pk]), follow=True)
    assert ("error", vi("This document can no longer be edited.")) in messages_of(response)


def test_saving_a_draft_submitted_from_another_tab(client, org):
    doc = draft(org)
    login(client, org, "province", Role.SPECIALIST)
    data = _form_data(org, subject="Sửa muộn", edit_version=doc.edit_version)
    data.pop("unit")
    services.transition(doc.drafter, doc.pk, "submit")
    response = client.post(reverse("documents:edit", args=[doc.pk]), data, follow=True)
    assert response.status_code == 200
    assert ("error", vi("This document can no longer be edited.")) in messages_of(response)
    doc.refresh_from_db()
    assert doc.subject != "Sửa muộn"


# --- comments -------------------------------------------------------------------------------


def test_comments(client, org):
    doc = advance(org, draft(org), "submitted")
    login(client, org, "province", Role.HEAD)
    response = client.post(reverse("documents:comment", args=[doc.pk]),
                           {"text": "Đề nghị bổ sung phần kinh phí."}, follow=True)
    assert ("success", vi("Your comment was added.")) in messages_of(response)
    assert "Đề nghị bổ sung phần kinh phí." in response.content.decode()
    assert Comment.objects.filter(document=doc).count() == 1

    response = client.post(reverse("documents:comment", args=[doc.pk]), {"text": " "},
                           follow=True)
    assert ("error", vi("Write a comment first.")) in messages_of(response)

    login(client, org, "province", Role.MEMBER)
    # A member cannot see a submitted draft at all.
    assert client.post(reverse("documents:comment", args=[doc.pk]),
                       {"text": "x"}).status_code == 404


# --- files ----------------------------------------------------------------------------------


def encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes())))
    writer.encrypt(user_password="secret", owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_with_macros() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("word/document.xml", "<w:document/>")
        archive.writestr("word/vbaProject.bin", b"\x00" * 64)
    return out.getvalue()


BAD_FILES = {
    "text-named-pdf": ("bao-cao.pdf", lambda: b"Just some text, not a PDF at all.\n" * 20,
                       "The file is named .pdf but is not a valid PDF."),
    "encrypted-pdf": ("mat-khau.pdf", encrypted_pdf,
                      "The PDF is encrypted or password-protected. Upload a copy without a "
                      "password."),
    "empty": ("rong.pdf", lambda: b"", "The file is empty (0 bytes)."),
    "macros": ("macro.docx", docx_with_macros,
               "The document contains macros, which are not accepted. Save it as .docx "
               "without macros and upload it again."),
}


@pytest.mark.parametrize("case", BAD_FILES)
@pytest.mark.parametrize("kind", ["main", "attachment"])
def test_bad_uploads_give_a_message_and_store_nothing(client, org, case, kind):
    doc = draft(org)
    login(client, org, "province", Role.SPECIALIST)
    name, build, msgid = BAD_FILES[case]
    response = client.post(
        reverse("documents:upload", args=[doc.pk]),
        {"kind": kind, "file": SimpleUploadedFile(name, build())},
        follow=True,
    )
    assert response.status_code == 200
    assert ("error", vi(msgid)) in messages_of(response)
    assert not DocumentFile.objects.exists()
    assert not FileVersion.objects.exists()
    # Page views are access history (audited too); only the changes matter here.
    assert [e.action for e in history(doc).exclude(action__in=access_log.ACCESS_ACTIONS)] == [
        "document.create"]


@pytest.mark.parametrize("size", [1024 * 1024 + 5000, 3 * 1024 * 1024])
def test_too_large_upload_is_stopped_with_a_message(client, org, settings, size):
    # 1 MB + a little is caught while streaming; 3 MB already by its Content-Length.
    settings.MTTQ_MAX_UPLOAD_BYTES = 1024 * 1024
    doc = draft(org)
    login(client, org, "province", Role.SPECIALIST)
    big = pdf_bytes() + b"%" + b"0" * size
    response = client.post(
        reverse("documents:upload", args=[doc.pk]),
        {"kind": "main", "file": SimpleUploadedFile("lon.pdf", big)},
        follow=True,
    )
    assert response.status_code == 200
    assert ("error", vi("The file is larger than the limit of %(mb)d MB.", mb=1)) in messages_of(
        response
    )
    assert not FileVersion.objects.exists()


def test_upload_versions_and_permission_checked_download(client, org):
    doc = draft(org)
    login(client, org, "province", Role.SPECIALIST)
    upload_url = reverse("documents:upload", args=[doc.pk])
    first = pdf_bytes("v1")
    response = client.post(upload_url, {"kind": "main", "file": SimpleUploadedFile("ke-hoach.pdf",
                                                                                   first)},
                           follow=True)
    assert ("success", vi("“%(name)s” was uploaded as version %(number)d.", name="ke-hoach.pdf",
                          number=1)) in messages_of(response)
    main = DocumentFile.objects.get(document=doc, kind="main")

    second = pdf_bytes("v2", pages=2)
    client.post(upload_url, {"kind": "main", "file_id": main.pk,
                             "file": SimpleUploadedFile("ke-hoach-sua.pdf", second)})
    client.post(upload_url, {"kind": "attachment",
                             "file": SimpleUploadedFile("phu-luc.pdf", pdf_bytes("pl"))})
    assert DocumentFile.objects.filter(document=doc).count() == 2
    v1, v2 = FileVersion.objects.filter(file=main).order_by("number")
    assert (v1.number, v2.number) == (1, 2)

    html = client.get(reverse("documents:detail", args=[doc.pk])).content.decode()
    for version in (v1, v2):
        assert reverse("documents:download", args=[doc.pk, version.pk]) in html
    assert "/media/" not in html

    got = client.get(reverse("documents:download", args=[doc.pk, v1.pk]))
    assert got.status_code == 200
    assert b"".join(got.streaming_content) == first
    assert got["Content-Type"] == "application/pdf"
    got = client.get(reverse("documents:download", args=[doc.pk, v2.pk]))
    assert b"".join(got.streaming_content) == second

    # A version id of another document is not served through this one.
    other = draft(org, subject="Khác")
    services.add_file(other.drafter, other.pk,
                      upload=SimpleUploadedFile("x.pdf", pdf_bytes()), kind="main")
    foreign = FileVersion.objects.get(file__document=other)
    assert client.get(reverse("documents:download", args=[doc.pk, foreign.pk])).status_code == 404

    # A bad file id in the form is a message, not a crash.
    response = client.post(upload_url, {"kind": "main", "file_id": "abc",
                                        "file": SimpleUploadedFile("y.pdf", pdf_bytes())},
                           follow=True)
    assert response.status_code == 200
    assert any(level == "error" for level, _ in messages_of(response))
    response = client.post(upload_url, {"kind": "main", "file_id": foreign.file_id,
                                        "file": SimpleUploadedFile("y.pdf", pdf_bytes())},
                           follow=True)
    assert ("error", vi("The file does not exist.")) in messages_of(response)
    assert FileVersion.objects.filter(file__document=doc).count() == 3


def test_upload_without_a_file(client, org):
    doc = draft(org)
    login(client, org, "province", Role.SPECIALIST)
    response = client.post(reverse("documents:upload", args=[doc.pk]), {"kind": "main"},
                           follow=True)
    assert ("error", vi("Choose a file to upload.")) in messages_of(response)


def test_upload_refused_once_submitted(client, org):
    doc = advance(org, draft(org), "submitted")
    login(client, org, "province", Role.SPECIALIST)
    response = client.post(reverse("documents:upload", args=[doc.pk]),
                           {"kind": "attachment",
                            "file": SimpleUploadedFile("a.pdf", pdf_bytes())}, follow=True)
    assert response.status_code == 200
    assert any(level == "error" for level, _ in messages_of(response))
    assert not FileVersion.objects.exists()


# --- the whole flow in the browser's terms --------------------------------------------------


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


# --- the list -------------------------------------------------------------------------------


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
