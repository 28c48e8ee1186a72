"""Scanned PDFs (no text layer) become findable through Vietnamese OCR.

The scan is made here: Pillow draws Vietnamese text into a 300 dpi page image and
saves it as a PDF, so the file has pictures of letters and no text at all.
Without a broker the OCR task runs eagerly once the upload's transaction commits
(never in a stray thread), so after the commit callbacks the text is indexed.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from search import extract, service
from search.models import ExtractedText
from tests.factories import draft, pdf_bytes
from workflow.documents import services

FONTS = [
    "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
]
LINES = [
    "ỦY BAN MẶT TRẬN TỔ QUỐC VIỆT NAM",
    "BÁO CÁO",
    "Kết quả hoạt động giám sát và",
    "phản biện xã hội năm 2023",
    "Ban Thường trực đã tổ chức hội nghị",
    "lấy ý kiến đóng góp của nhân dân",
    "về dự thảo quy hoạch khu dân cư.",
]

needs_ocr = pytest.mark.skipif(
    not (shutil.which("tesseract") and shutil.which("pdftoppm")),
    reason="tesseract-ocr (with tesseract-ocr-vie) and poppler-utils are needed",
)


def scanned_pdf(lines: list[str] = LINES) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    font_path = next((f for f in FONTS if Path(f).exists()), None)
    if font_path is None:
        pytest.skip("no TrueType font with Vietnamese glyphs installed")
    page = Image.new("L", (2480, 3508), 255)  # A4 at 300 dpi
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(font_path, 72)
    y = 300
    for line in lines:
        draw.text((220, y), line, font=font, fill=0)
        y += 130
    out = io.BytesIO()
    page.save(out, format="PDF", resolution=300)
    return out.getvalue()


def test_the_scan_has_no_text_layer_but_an_image():
    data = scanned_pdf()
    result = extract.extract(data, extract.PDF)
    assert result.pages_needing_ocr == [1]
    assert sum(ch.isalpha() for ch in result.pages[0]) < extract.MIN_PAGE_LETTERS


def test_blank_pages_are_not_sent_to_ocr():
    result = extract.extract(pdf_bytes("blank", pages=2), extract.PDF)
    assert result.pages_needing_ocr == []


@needs_ocr
@pytest.mark.django_db
def test_scanned_pdf_is_found_after_ocr(org, django_capture_on_commit_callbacks):
    document = draft(org, "province", subject="Văn bản scan")
    with django_capture_on_commit_callbacks(execute=True):
        services.add_file(document.drafter, document.pk,
                          upload=SimpleUploadedFile("scan.pdf", scanned_pdf()), kind="main")
    record = ExtractedText.objects.get(file_version__file__document=document)
    assert not record.ocr_pending
    assert record.method.endswith("+ocr"), record.error
    drafter = document.drafter
    for query in ("phản biện xã hội", "phan bien xa hoi", '"giám sát"', "quy hoach khu dan cu"):
        hits = service.search(drafter, query).hits
        assert [h.id for h in hits] == [document.pk], query
    hit = service.search(drafter, "phan bien xa hoi").hits[0]
    assert hit.page == 1
    assert "phản biện xã hội" in " ".join(t for t, hl in hit.snippet_parts if hl).lower()


@needs_ocr
@pytest.mark.django_db
def test_ocr_task_leaves_a_vanished_row_alone(org, django_capture_on_commit_callbacks,
                                              monkeypatch):
    """OCR finishing after its document was deleted writes nothing and raises nothing."""
    from search import tasks

    document = draft(org, "province", subject="Văn bản scan bị xoá")
    with django_capture_on_commit_callbacks(execute=False):
        services.add_file(document.drafter, document.pk,
                          upload=SimpleUploadedFile("scan.pdf", scanned_pdf(LINES[:2])),
                          kind="main")
    from search import indexer

    version = document.files.get().current_version
    record = indexer.file_text(version)
    assert record.ocr_pending

    def slow_ocr(data, pages, *, lang="vie", dpi=300):
        # The row disappears while tesseract is busy.
        ExtractedText.objects.filter(pk=record.pk).delete()
        return {1: "chữ đọc được"}

    monkeypatch.setattr(extract, "ocr_pdf_pages", slow_ocr)
    assert tasks.ocr_file_version.apply(args=[version.pk]).get() == 0
    assert not ExtractedText.objects.filter(pk=record.pk).exists()
