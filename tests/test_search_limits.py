"""Limits that keep one file from flooding the index: ZIP expansion at upload, text caps."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from search import extract, service
from search.models import ExtractedText
from search.tasks import index_ids
from tests.factories import advance, draft
from workflow.documents import services
from workflow.documents.errors import InvalidInput
from workflow.documents.uploads import check_bytes
from workflow.organisation.models import Role


def docx_bytes(pages: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for number, text in enumerate(pages):
        if number:
            document.add_page_break()
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_a_docx_that_expands_hundreds_of_times_is_refused():
    """The issue's file: small on the wire, tens of MB of text once opened."""
    data = docx_bytes(["Mặt trận " * 1_500_000])  # ~15 MB of text, packs to ~50 KB
    assert len(data) < 200_000
    with pytest.raises(InvalidInput) as error:
        check_bytes(data, "bom.docx", main=True)
    assert "would expand" in str(error.value.message) and "times" in str(error.value.message)


def test_expanded_size_and_entry_count_limits_are_configurable(settings):
    data = docx_bytes(["Nội dung văn bản bình thường. " * 40_000])  # ~1.2 MB of text
    assert check_bytes(data, "ok.docx", main=True).content_type.endswith("document")
    settings.MTTQ_MAX_ZIP_EXPANDED_BYTES = 1024 * 1024
    with pytest.raises(InvalidInput) as error:
        check_bytes(data, "big.docx", main=True)
    assert "more than the 1 MB accepted" in str(error.value.message)
    settings.MTTQ_MAX_ZIP_EXPANDED_BYTES = 100 * 1024 * 1024
    settings.MTTQ_MAX_ZIP_ENTRIES = 5
    with pytest.raises(InvalidInput) as error:
        check_bytes(data, "many.docx", main=True)
    assert "parts; at most 5" in str(error.value.message)


def test_a_zip_bomb_attachment_is_refused_too():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/padding.xml", b"0" * (30 * 1024 * 1024))
    with pytest.raises(InvalidInput):
        check_bytes(out.getvalue(), "sheet.xlsx", main=False)


def test_long_docx_pages_are_split_at_line_ends():
    pages = extract.split_long_pages(["a" * 30 + "\n" + "b" * 30, "c" * 25], limit=40)
    assert pages == ["a" * 30, "b" * 30, "c" * 25]
    assert extract.split_long_pages(["x" * 90], limit=40) == ["x" * 40, "x" * 40, "x" * 10]


def test_cap_pages_keeps_page_numbers_and_counts_what_was_left_out():
    pages, dropped = extract.cap_pages(["a" * 50, "b" * 50, "c" * 50],
                                       page_chars=40, file_chars=90)
    assert [len(p) for p in pages] == [40, 40, 10]
    assert dropped == 150 - 90
    assert extract.cap_pages(["x", "y"], page_chars=10, file_chars=10) == (["x", "y"], 0)


@pytest.mark.django_db
def test_indexed_text_is_capped_and_the_document_says_so(
        org, django_capture_on_commit_callbacks, settings, client):
    settings.SEARCH_MAX_PAGE_CHARS = 2_000
    settings.SEARCH_MAX_FILE_CHARS = 3_000
    filler = "Kế hoạch tổ chức hội nghị. " * 100  # 2,700 characters a page
    pages = [f"khởi đầu {filler}", f"{filler}", f"{filler} kết thúc cuối cùng"]
    document = draft(org, "province", subject="Văn bản rất dài")
    with django_capture_on_commit_callbacks(execute=True):
        services.add_file(document.drafter, document.pk,
                          upload=SimpleUploadedFile("dai.docx", docx_bytes(pages)), kind="main")
    advance(org, document, "submitted")
    index_ids([document.pk])
    record = ExtractedText.objects.get(file_version__file__document=document)
    # Long DOCX pages are split at line ends rather than cut; the file cap then applies.
    kept = sum(len(p) for p in record.pages)
    assert all(len(p) <= 2_000 for p in record.pages) and 2_900 <= kept <= 3_000
    original = sum(len(p) for p in pages)
    assert record.truncated_chars > 0
    assert abs(record.truncated_chars + kept - original) < 50
    reader = org.person("province", Role.LEADER)
    assert [h.id for h in service.search(reader, "khởi đầu").hits] == [document.pk]
    assert service.search(reader, '"kết thúc cuối cùng"').hits == []
    hit = service.search(reader, "khởi đầu").hits[0]
    assert len("".join(t for t, _hl in hit.snippet_parts)) < 1_000
    client.force_login(document.drafter)
    page = client.get(f"/documents/{document.pk}/").content.decode()
    assert "Only the beginning of this file is searchable" in page
