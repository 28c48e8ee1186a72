"""Search quality on real Vietnamese text: the seed articles, as PDFs made here.

Each article becomes the main PDF of an issued document (reportlab draws the
text with a Vietnamese-capable TrueType font, so the PDF has a real text
layer); the normal pipeline extracts, normalises and indexes it.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from search import service
from search.normalize import fold, normalize
from search.tasks import index_ids
from tests.factories import advance, draft
from workflow.documents import services
from workflow.organisation.models import Role

SEEDS = Path(settings.BASE_DIR).parent / "shared" / "seeds"
FONT_CANDIDATES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
]
PAGE_CHARS = 1800


def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for candidate in FONT_CANDIDATES:
        if Path(candidate).exists():
            if "VNSerif" not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont("VNSerif", candidate))
            return "VNSerif"
    pytest.skip("no TrueType font with Vietnamese glyphs installed")


def make_pdf(pages: list[str]) -> bytes:
    """A PDF with one page per string and a real text layer."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfgen import canvas

    font = _font()
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    width, height = A4
    for text in pages:
        y = height - 60
        for paragraph in text.split("\n"):
            for line in simpleSplit(paragraph, font, 10, width - 120) or [""]:
                pdf.setFont(font, 10)
                pdf.drawString(60, y, line)
                y -= 13
                if y < 50:
                    break
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def split_pages(text: str) -> list[str]:
    pages, current = [], ""
    for paragraph in [p.strip() for p in text.split("\n") if p.strip()]:
        if current and len(current) + len(paragraph) > PAGE_CHARS:
            pages.append(current)
            current = ""
        current = f"{current}\n{paragraph}" if current else paragraph
    if current:
        pages.append(current)
    return pages


@pytest.fixture
def seeded(org, django_capture_on_commit_callbacks):
    files = sorted(SEEDS.glob("*.txt"))
    if len(files) < 5:
        pytest.skip(f"seed articles not found in {SEEDS}")
    docs = {}
    for path in files:
        text = path.read_text(encoding="utf-8")
        pages = split_pages(text)
        title = next(line.strip() for line in text.splitlines()
                     if len(line.strip()) > 25)
        document = draft(org, "province", type_code="bao-cao", subject=title[:200])
        services.add_file(document.drafter, document.pk,
                          upload=SimpleUploadedFile(f"{path.stem}.pdf", make_pdf(pages)),
                          kind="main")
        advance(org, document, "issued")
        docs[path.name[:3]] = (document, pages)
    index_ids([d.pk for d, _p in docs.values()])
    return org, docs


def _ids(results) -> list[int]:
    return [h.id for h in results.hits]


def _reader(org):
    return org.person("province", Role.MEMBER)  # sees what the province issued


@pytest.mark.django_db
def test_accented_and_unaccented_queries_find_the_article(seeded):
    org, docs = seeded
    reader = _reader(org)
    for query in ["kỷ nguyên số", "ky nguyen so", "KỶ NGUYÊN SỐ"]:
        results = service.search(reader, query)
        assert _ids(results)[0] == docs["000"][0].pk, query
    for query in ["Đề án số 07", "de an so 07"]:
        assert _ids(service.search(reader, query))[0] == docs["004"][0].pk, query


@pytest.mark.django_db
def test_tone_placement_variants_find_the_same(seeded):
    org, docs = seeded
    reader = _reader(org)
    old = set(_ids(service.search(reader, "Tỉnh uỷ")))
    new = set(_ids(service.search(reader, "Tỉnh ủy")))
    assert old == new
    assert {docs["003"][0].pk, docs["004"][0].pk} <= new


def _contains(pages, words: str) -> bool:
    pattern = r"\W+".join(re.escape(w) for w in fold(normalize(words)).split())
    return any(re.search(rf"(?<!\w){pattern}(?!\w)", fold(normalize(p))) for p in pages)


@pytest.mark.django_db
def test_phrase_queries_respect_order(seeded):
    org, docs = seeded
    reader = _reader(org)
    phrase = service.search(reader, '"phản biện xã hội"')
    expected = {d.pk for d, pages in docs.values() if _contains(pages, "phản biện xã hội")}
    assert expected and set(_ids(phrase)) == expected
    reversed_ = service.search(reader, '"xã hội phản biện"')
    expected_rev = {d.pk for d, pages in docs.values() if _contains(pages, "xã hội phản biện")}
    assert set(_ids(reversed_)) == expected_rev
    assert expected_rev != expected
    # Unaccented phrase: same documents.
    assert set(_ids(service.search(reader, '"phan bien xa hoi"'))) == expected


@pytest.mark.django_db
def test_snippets_show_accented_text_on_the_right_page(seeded):
    org, docs = seeded
    reader = _reader(org)
    results = service.search(reader, "doi thoai")
    hit = next(h for h in results.hits if h.id == docs["004"][0].pk)
    marked = [t for t, hl in hit.snippet_parts if hl]
    assert marked and all(fold(m) == "doi thoai" or fold(m) in ("doi", "thoai") for m in marked)
    assert any("đối" in m or "thoại" in m for m in marked)
    pages = docs["004"][1]
    counts = [len(re.findall(r"doi\W+thoai|doi|thoai", fold(normalize(p)))) for p in pages]
    assert hit.page is not None and counts[hit.page - 1] > 0
    assert hit.open_url.endswith(f"#page={hit.page}")
    assert "<mark>" in hit.snippet_html


@pytest.mark.django_db
def test_accented_query_ranks_exact_accents_first(org, django_capture_on_commit_callbacks):
    reader = org.person("province", Role.LEADER)
    exact = draft(org, "province", subject="Báo cáo tình hình bán hàng")
    other = draft(org, "province", subject="Báo cáo tình hình bạn hàng")
    for document in (exact, other):
        advance(org, document, "submitted")
    index_ids([exact.pk, other.pk])
    assert _ids(service.search(reader, "bán hàng"))[:2] == [exact.pk, other.pk]
    assert _ids(service.search(reader, "bạn hàng"))[:2] == [other.pk, exact.pk]
    assert set(_ids(service.search(reader, "ban hang"))) == {exact.pk, other.pk}


@pytest.mark.django_db
@pytest.mark.parametrize("query", ['"unbalanced', "AND OR NOT", "(((", "title:x*", "~!@#$%^&*",
                                   "a" * 2000, '""', "\x00\x01", "05/KH-", "-", "*"])
def test_bad_query_syntax_never_errors(org, query):
    results = service.search(org.person("province", Role.LEADER), query)
    assert results.total >= 0
