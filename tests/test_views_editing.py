"""Browser pages through the Django test client: drafting and editing (bad input, concurrent
edits), comments, and uploads (bad files, size limit, versions, permission-checked download).
"""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import advance, draft, pdf_bytes
from tests.views_helpers import (
    _form_data,
    _vietnamese_pages,  # noqa: F401 - autouse fixture
    login,
    messages_of,
    vi,
)
from workflow.audit import access_log
from workflow.audit.services import history
from workflow.documents import services
from workflow.documents.models import Comment, Document, DocumentFile, FileVersion, State
from workflow.organisation.models import Role


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
