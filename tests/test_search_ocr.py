"""Scanned PDFs (no text layer) become findable through Vietnamese OCR.

The scan is made here: Pillow draws Vietnamese text into a 300 dpi page image and
saves it as a PDF, so the file has pictures of letters and no text at all.
OCR is a Celery task; without a broker it runs in-process after commit only when
``SEARCH_OCR_SYNC`` is set (here), otherwise it waits for a worker
(tests/test_search_ocr_background.py runs a real one).
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
    return scanned_image(lines, "PDF")


def scanned_image(lines: list[str] = LINES, fmt: str = "PNG") -> bytes:
    """A 300 dpi A4 page with the lines drawn on it, as PDF, PNG, JPEG or TIFF."""
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
    page.save(out, format=fmt, **({"resolution": 300} if fmt == "PDF" else {"dpi": (300, 300)}))
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
def test_scanned_pdf_is_found_after_ocr(org, django_capture_on_commit_callbacks, settings):
    settings.SEARCH_OCR_SYNC = True
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


@needs_ocr
@pytest.mark.django_db
@pytest.mark.parametrize(("fmt", "name"), [("PNG", "scan.png"), ("JPEG", "scan.jpg"),
                                           ("TIFF", "scan.tiff")])
def test_image_scans_are_accepted_read_and_indexed(org, django_capture_on_commit_callbacks,
                                                   settings, fmt, name):
    settings.SEARCH_OCR_SYNC = True
    document = draft(org, "province", subject="Ảnh chụp văn bản")
    with django_capture_on_commit_callbacks(execute=True):
        services.add_file(document.drafter, document.pk,
                          upload=SimpleUploadedFile(name, scanned_image(LINES, fmt)),
                          kind="attachment")
    record = ExtractedText.objects.get(file_version__file__document=document)
    assert record.method == "image+ocr", record.error
    hits = service.search(document.drafter, "phan bien xa hoi").hits
    assert [h.id for h in hits] == [document.pk]


@pytest.mark.django_db
def test_without_a_worker_the_upload_request_never_runs_ocr(
        org, django_capture_on_commit_callbacks, settings, client):
    """No broker and no SEARCH_OCR_SYNC: the scan waits for a worker, the page says so."""
    settings.SEARCH_OCR_SYNC = False
    document = draft(org, "province", subject="Văn bản scan chờ đọc")
    with django_capture_on_commit_callbacks(execute=True):
        services.add_file(document.drafter, document.pk,
                          upload=SimpleUploadedFile("scan.png", scanned_image(LINES[:2])),
                          kind="attachment")
    record = ExtractedText.objects.get(file_version__file__document=document)
    assert record.ocr_pending and record.method == "image" and record.ocr_attempts == 0
    client.force_login(document.drafter)
    page = client.get(f"/documents/{document.pk}/").content.decode()
    assert "being read in the background" in page


@needs_ocr
@pytest.mark.django_db
def test_failed_ocr_is_retried_then_shown_with_a_retry_button(
        org, django_capture_on_commit_callbacks, settings, client):
    """tesseract fails for real (a language it does not have): retried, then flagged."""
    from search.tasks import ocr_retry_delay
    from workflow.organisation.models import Role

    settings.SEARCH_OCR_SYNC = True
    settings.SEARCH_OCR_LANG = "no-such-language"
    settings.SEARCH_OCR_MAX_RETRIES = 2
    document = draft(org, "province", subject="Văn bản scan lỗi")
    with django_capture_on_commit_callbacks(execute=True):
        services.add_file(document.drafter, document.pk,
                          upload=SimpleUploadedFile("scan.png", scanned_image(LINES)),
                          kind="attachment")
    record = ExtractedText.objects.get(file_version__file__document=document)
    assert record.ocr_failed and not record.ocr_pending
    assert record.ocr_attempts == 3  # the first try and two retries
    assert "OCR failed" in record.error
    assert [ocr_retry_delay(n) for n in (1, 2, 3, 20)] == [30, 60, 120, 3600]
    assert service.search(document.drafter, "phan bien xa hoi").hits == []

    client.force_login(document.drafter)
    page = client.get(f"/documents/{document.pk}/").content.decode()
    assert "Could not read the text in the scan." in page and "Read the scan again" in page
    outsider = org.person("district2", Role.CLERK)
    client.force_login(outsider)
    assert client.post(f"/search/ocr-retry/{record.file_version_id}/").status_code == 404

    settings.SEARCH_OCR_LANG = "vie"
    client.force_login(document.drafter)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/search/ocr-retry/{record.file_version_id}/")
    assert response.status_code == 302
    record.refresh_from_db()
    assert not record.ocr_failed and record.method == "image+ocr"
    assert [h.id for h in service.search(document.drafter, "phan bien xa hoi").hits] == [
        document.pk]
    from workflow.audit.models import AuditEntry

    assert AuditEntry.objects.filter(action="search.ocr_retry", object_id=str(document.pk),
                                     actor=document.drafter).exists()


@pytest.mark.django_db
def test_only_clerks_and_the_drafter_may_ask_for_ocr_again(org):
    from workflow import access
    from workflow.organisation.models import Role

    document = draft(org, "province", subject="Văn bản")
    assert access.can_retry_ocr(document.drafter, document)
    assert not access.can_retry_ocr(org.person("district2", Role.CLERK), document)
    assert not access.can_retry_ocr(org.person("province", Role.MEMBER), document)
