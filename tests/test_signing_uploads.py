"""Uploaded main files (DOCX through LibreOffice, PDF as is) signed and issued end to end."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from signing import render
from signing.models import PdfStage, SignedPdf
from signing.validation import verify_pdf
from tests.factories import advance, draft
from tests.signing_fixtures import check_with_tools
from workflow.audit.models import AuditEntry
from workflow.documents import services
from workflow.documents.errors import InvalidInput
from workflow.documents.models import Document, FileKind
from workflow.documents.uploads import DOCX, PDF

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=False)]

BODY = [
    "Căn cứ Điều lệ Mặt trận Tổ quốc Việt Nam khóa X nhiệm kỳ 2024 - 2029;",
    "Ban Thường trực Ủy ban MTTQ tỉnh xây dựng kế hoạch tổ chức Ngày hội Đại đoàn kết "
    "toàn dân tộc ở khu dân cư năm 2025 như sau:",
    "Phát huy sức mạnh khối đại đoàn kết, động viên Nhân dân thi đua xây dựng nông thôn mới.",
]
needs_soffice = pytest.mark.skipif(
    render.soffice_binary() is None,
    reason="LibreOffice (soffice, Debian package libreoffice-writer) is not installed: "
           "DOCX conversion cannot be tested",
)


def docx_bytes(paragraphs: list[str], pages: int = 1) -> bytes:
    from docx import Document as Docx
    from docx.enum.text import WD_BREAK
    from docx.shared import Pt

    document = Docx()
    style = document.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(14)
    document.add_heading("KẾ HOẠCH tổ chức Ngày hội Đại đoàn kết", level=1)
    for page in range(pages):
        for text in paragraphs:
            document.add_paragraph(text)
        if page < pages - 1:
            document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def reportlab_pdf(paragraphs: list[str], pages: int = 2) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen.canvas import Canvas

    pdfmetrics.registerFont(TTFont("UploadSerif", render.font_path("Serif")))
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4)
    for page in range(pages):
        canvas.setFont("UploadSerif", 12)
        y = A4[1] - 80
        for text in paragraphs:
            canvas.drawString(60, y, text[:90])
            y -= 20
        canvas.drawString(60, 60, f"Trang {page + 1}")
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def normalised(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def pdf_text(path: Path) -> str:
    result = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"],
                            capture_output=True, check=True)
    return normalised(result.stdout.decode("utf-8"))


def with_main_file(org, name: str, data: bytes) -> Document:
    doc = draft(org, type_code="ke-hoach", subject="Tổ chức Ngày hội Đại đoàn kết",
                body="<p>Xem tệp đính kèm.</p>")
    version = services.add_file(org.person("province", "specialist"), doc.pk,
                                upload=SimpleUploadedFile(name, data), kind=FileKind.MAIN)
    assert version.sha256 == hashlib.sha256(data).hexdigest()
    return advance(org, doc, "approved")


def sign_and_issue(env, doc: Document) -> Document:
    services.perform(env["leader"], doc.pk, "sign", expected_state="approved")
    return services.perform(env["clerk"], doc.pk, "issue", expected_state="signed")


def check_versions(doc: Document, expected_pages: int) -> bytes:
    """Every PDF version is recorded with its page count and the SHA-256 of its bytes."""
    rows = {row.stage: row for row in SignedPdf.objects.filter(document=doc)}
    assert set(rows) == {PdfStage.RENDERED, PdfStage.SIGNED, PdfStage.ISSUED}
    for row in rows.values():
        data = row.read()
        assert row.sha256 == hashlib.sha256(data).hexdigest()
        assert row.size == len(data)
        assert row.page_count == expected_pages == render.page_count_of(data)
    # Each stage is an incremental update of the one before: the earlier bytes are kept.
    rendered = rows[PdfStage.RENDERED].read()
    signed = rows[PdfStage.SIGNED].read()
    issued = rows[PdfStage.ISSUED].read()
    assert signed.startswith(rendered) and issued.startswith(signed)
    entry = AuditEntry.objects.get(action="signing.issued", object_id=str(doc.pk))
    assert rows[PdfStage.ISSUED].sha256 in entry.comment
    return issued


def check_issued(doc: Document, data: bytes, tmp_path: Path) -> str:
    report = verify_pdf(data)
    assert report.ok, report.as_dict()
    person, seal = report.signatures[:2]
    assert person.field == render.PERSON_FIELD and person.intact and person.valid
    assert person.modification == "FORM_FILLING"
    assert seal.field == render.SEAL_FIELD and seal.intact and seal.valid
    path = tmp_path / "issued.pdf"
    path.write_bytes(data)
    check_with_tools(path, 2)
    assert shutil.which("pdfsig") and shutil.which("qpdf"), "poppler-utils and qpdf are needed"
    return pdf_text(path)


@needs_soffice
def test_uploaded_docx_is_converted_signed_and_issued(signing_env, tmp_path):
    env = signing_env
    doc = with_main_file(env["org"], "ke-hoach.docx", docx_bytes(BODY, pages=2))
    assert doc.files.get(kind=FileKind.MAIN).current_version.content_type == DOCX
    doc = sign_and_issue(env, doc)
    assert doc.state == "issued" and doc.symbol.startswith("01/KH-")
    # Two converted pages plus the Decree 30 signature page.
    data = check_versions(doc, expected_pages=3)
    text = check_issued(doc, data, tmp_path)
    for paragraph in BODY:
        assert normalised(paragraph) in text
    assert doc.symbol in text
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Nguyễn Thị Hằng" in text


def test_uploaded_pdf_gets_the_fields_and_is_issued(signing_env, tmp_path):
    env = signing_env
    doc = with_main_file(env["org"], "ke-hoach.pdf", reportlab_pdf(BODY, pages=2))
    main = doc.files.get(kind=FileKind.MAIN).current_version
    assert main.content_type == PDF and main.page_count == 2
    doc = sign_and_issue(env, doc)
    data = check_versions(doc, expected_pages=3)
    text = check_issued(doc, data, tmp_path)
    assert normalised(BODY[0]) in text and "Trang 2" in text
    assert doc.symbol in text
    from pypdf import PdfReader

    fields = PdfReader(io.BytesIO(data)).get_fields()
    assert fields[render.NUMBER_FIELD]["/V"] == doc.symbol
    # Fields sit on the appended signature page, after the uploaded pages.
    boxes = render.render_document(doc).fields
    assert {b.page for b in boxes} == {2}


def _refused_without_signing(env, doc: Document, expected: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        services.perform(env["leader"], doc.pk, "sign", expected_state="approved")
    assert expected in str(caught.value.message)
    assert Document.objects.get(pk=doc.pk).state == "approved"
    assert not SignedPdf.objects.filter(document=doc).exists()
    assert AuditEntry.objects.filter(action="signing.sign.refused",
                                     object_id=str(doc.pk)).exists()


def test_missing_libreoffice_is_a_clear_refusal(signing_env, settings, client):
    env = signing_env
    doc = with_main_file(env["org"], "ke-hoach.docx", docx_bytes(BODY))
    settings.SIGNING_SOFFICE = "no-such-soffice-binary"
    _refused_without_signing(env, doc, "LibreOffice is not installed")
    # Through the page: a readable message, not a 500.
    client.force_login(env["leader"])
    response = client.post(f"/signing/documents/{doc.pk}/sign/", follow=True)
    assert response.status_code == 200
    assert "LibreOffice is not installed" in response.content.decode()
    assert Document.objects.get(pk=doc.pk).state == "approved"


def _fake_soffice(tmp_path: Path, script: str) -> str:
    path = tmp_path / "fake-soffice"
    path.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    path.chmod(0o755)
    return str(path)


def test_failing_libreoffice_is_a_clear_refusal(signing_env, settings, tmp_path):
    env = signing_env
    doc = with_main_file(env["org"], "ke-hoach.docx", docx_bytes(BODY))
    settings.SIGNING_SOFFICE = _fake_soffice(tmp_path, "echo 'General Error' >&2\nexit 1\n")
    _refused_without_signing(env, doc, "could not be converted to PDF")


def test_hanging_libreoffice_is_stopped(signing_env, settings, tmp_path):
    env = signing_env
    doc = with_main_file(env["org"], "ke-hoach.docx", docx_bytes(BODY))
    settings.SIGNING_SOFFICE = _fake_soffice(tmp_path, "sleep 30 &\nwait\n")
    settings.SIGNING_DOCX_TIMEOUT = 1
    _refused_without_signing(env, doc, "took longer than 1 seconds")


@needs_soffice
def test_conversions_use_private_profiles_in_parallel():
    """Two conversions at once do not fight over one LibreOffice profile."""
    from concurrent.futures import ThreadPoolExecutor

    data = docx_bytes(BODY)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: render.convert_docx(data), range(2)))
    for pdf in results:
        assert pdf.startswith(b"%PDF-") and render.page_count_of(pdf) == 1
