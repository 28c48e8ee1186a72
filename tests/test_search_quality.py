"""Search quality on real Vietnamese text that may be redistributed: Decree 30/2020/NĐ-CP.

The corpus (``tests/search_quality/corpus.jsonl``, one article or appendix section per
document) and the judged queries (``queries.jsonl``: graded relevance, 2 = about it,
1 = mentions it) were written by reading the text, not by running the engine; see
``tests/search_quality/README.md``. Each corpus entry becomes a document whose body is
HTML (one ``<p>`` per paragraph), indexed by the normal pipeline. nDCG@10 and MRR are
printed in the terminal summary and must stay above the floors below.
"""

from __future__ import annotations

import io
import json
import math
import re
import unicodedata
from pathlib import Path

import pytest
from django.utils.html import escape

from search import service
from search.normalize import fold, normalize
from search.tasks import index_ids
from tests.factories import advance, draft
from tests.search_quality import SUMMARY
from workflow.organisation.models import Role

DATA = Path(__file__).resolve().parent / "search_quality"
# Floors set from the measured values (see the README): a little below, so that noise
# from an unrelated change does not fail the build but a real regression does.
# Measured (December 2026): before the proximity re-ranking 0.865 / 0.899 (0.839 / 0.879
# with paragraphs glued by strip_tags), after it 0.954 / 1.000.
NDCG_FLOOR = 0.93
MRR_FLOOR = 0.97


FONT_CANDIDATES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
]


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
    """A PDF with one page per string and a real text layer (used by other search tests)."""
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


def load_corpus() -> list[dict]:
    with open(DATA / "corpus.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_queries() -> list[dict]:
    with open(DATA / "queries.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def as_typed(entry: dict) -> str:
    """The query as a user types it: NFD-typed queries are decomposed here."""
    query = entry["query"]
    return unicodedata.normalize("NFD", query) if entry["kind"] == "nfd" else query


def body_html(text: str) -> str:
    return "".join(f"<p>{escape(line)}</p>" for line in text.split("\n") if line.strip())


@pytest.fixture
def corpus(org, django_capture_on_commit_callbacks):
    docs: dict[str, tuple[int, str]] = {}
    for row in load_corpus():
        document = draft(org, "province", type_code="bao-cao", subject=row["title"][:250],
                         body=body_html(row["text"]))
        advance(org, document, "submitted")
        docs[row["id"]] = (document.pk, row["text"])
    index_ids([pk for pk, _text in docs.values()])
    return org, docs


def _reader(org):
    return org.person("province", Role.LEADER)  # sees every submitted document of the unit


def _ids(results) -> list[int]:
    return [h.id for h in results.hits]


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    gains = [(2 ** relevant.get(doc, 0)) - 1 for doc in ranked[:k]]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sorted(((2 ** g) - 1 for g in relevant.values()), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def reciprocal_rank(ranked: list[str], relevant: dict[str, int]) -> float:
    for i, doc in enumerate(ranked):
        if relevant.get(doc, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


@pytest.mark.django_db
def test_quality_set_ndcg_and_mrr(corpus, request):
    org, docs = corpus
    reader = _reader(org)
    by_pk = {pk: key for key, (pk, _text) in docs.items()}
    queries = load_queries()
    assert len(queries) >= 60
    per_kind: dict[str, list[tuple[float, float]]] = {}
    worst = []
    for entry in queries:
        ranked = [by_pk[pk] for pk in _ids(service.search(reader, as_typed(entry), per_page=10))
                  if pk in by_pk]
        ndcg = ndcg_at(ranked, entry["relevant"])
        rr = reciprocal_rank(ranked, entry["relevant"])
        per_kind.setdefault(entry["kind"].split("-")[0], []).append((ndcg, rr))
        worst.append((ndcg, entry["query"], ranked[:3]))
    rows = [score for scores in per_kind.values() for score in scores]
    ndcg_mean = sum(n for n, _r in rows) / len(rows)
    mrr = sum(r for _n, r in rows) / len(rows)
    lines = [f"search quality (Decree 30/2020, {len(docs)} documents, {len(rows)} queries): "
             f"nDCG@10 {ndcg_mean:.3f}  MRR {mrr:.3f}"]
    for kind, scores in sorted(per_kind.items()):
        lines.append(f"  {kind:12} n={len(scores):2}  nDCG@10 "
                     f"{sum(n for n, _ in scores) / len(scores):.3f}  MRR "
                     f"{sum(r for _, r in scores) / len(scores):.3f}")
    for ndcg, query, top in sorted(worst)[:5]:
        lines.append(f"  weakest: {ndcg:.3f} {query!r} -> {top}")
    print("\n".join(lines))
    request.config.stash.setdefault(SUMMARY, []).extend(lines)
    assert ndcg_mean >= NDCG_FLOOR, lines
    assert mrr >= MRR_FLOOR, lines


def _contains(text: str, words: str) -> bool:
    pattern = r"\W+".join(re.escape(w) for w in fold(normalize(words)).split())
    return re.search(rf"(?<!\w){pattern}(?!\w)", fold(normalize(text))) is not None


@pytest.mark.django_db
def test_accented_unaccented_and_upper_case_queries_find_the_article(corpus):
    org, docs = corpus
    reader = _reader(org)
    wanted = {docs["nd30-dieu-32"][0], docs["nd30-dieu-33"][0]}
    for query in ["thiết bị lưu khóa bí mật", "thiet bi luu khoa bi mat",
                  "THIẾT BỊ LƯU KHÓA BÍ MẬT"]:
        assert set(_ids(service.search(reader, query))[:2]) == wanted, query
    for query in ["110/2004/NĐ-CP", "110/2004/nd-cp"]:
        assert _ids(service.search(reader, query))[0] == docs["nd30-dieu-37"][0], query


@pytest.mark.django_db
def test_tone_placement_variants_find_the_same(corpus):
    org, docs = corpus
    reader = _reader(org)
    old = _ids(service.search(reader, "thừa uỷ quyền"))
    new = _ids(service.search(reader, "thừa ủy quyền"))
    assert old == new and old[0] == docs["nd30-dieu-13"][0]


@pytest.mark.django_db
def test_phrase_queries_respect_order(corpus):
    org, docs = corpus
    reader = _reader(org)
    expected = {pk for pk, text in docs.values() if _contains(text, "lưu trữ cơ quan")}
    assert expected
    assert set(_ids(service.search(reader, '"lưu trữ cơ quan"'))) == expected
    assert set(_ids(service.search(reader, '"luu tru co quan"'))) == expected
    reversed_ = {pk for pk, text in docs.values() if _contains(text, "cơ quan lưu trữ")}
    assert set(_ids(service.search(reader, '"cơ quan lưu trữ"'))) == reversed_
    assert reversed_ != expected


@pytest.mark.django_db
def test_adjacent_words_rank_above_scattered_ones(corpus):
    """Unquoted, the document where the words stand together in order comes first."""
    org, docs = corpus
    reader = _reader(org)
    top = _ids(service.search(reader, "Nguyễn Xuân Phúc"))
    assert top[0] == docs["nd30-noi-nhan"][0]
    # "thư" (văn thư) and "ký" (đăng ký) stand apart in many articles; together only here.
    assert _ids(service.search(reader, "thư ký"))[0] == docs["pl3-09"][0]
    # The subject "… nơi nhận và chữ ký" with "Số:" in its text ranked first before.
    for query in ("chữ ký số", "chu ky so"):
        assert _ids(service.search(reader, query))[0] in {
            docs["nd30-dieu-05"][0], docs["pl1-02"][0], docs["nd30-dieu-13"][0]}, query


@pytest.mark.django_db
def test_snippets_show_paragraph_text_with_accents(corpus):
    org, docs = corpus
    reader = _reader(org)
    results = service.search(reader, "luu tru co quan")
    hit = next(h for h in results.hits if h.id == docs["nd30-dieu-30"][0])
    marked = [t for t, hl in hit.snippet_parts if hl]
    assert marked and any("Lưu trữ" in m or "lưu trữ" in m or "cơ quan" in m for m in marked)
    text = "".join(t for t, _hl in hit.snippet_parts)
    # Paragraph edges stay word boundaries: no word glued to the next paragraph's first.
    assert "quan1." not in text and ".2." not in text


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


@pytest.mark.django_db
def test_place_name_typed_with_accents_ranks_that_form_first(
        org, django_capture_on_commit_callbacks):
    """Both hold the two syllables side by side; the form typed wins over the frequent one."""
    reader = org.person("province", Role.LEADER)
    exact = draft(org, "province", subject="Báo cáo đoàn công tác",
                  body="<p>Đoàn công tác đến tỉnh Hà Nam.</p>")
    other = draft(org, "province", subject="Báo cáo đoàn công tác",
                  body="<p>Hạ Nam, bản Hạ Nam và suối Hạ Nam.</p>")
    for document in (exact, other):
        advance(org, document, "submitted")
    index_ids([exact.pk, other.pk])
    assert _ids(service.search(reader, "Hà Nam"))[:2] == [exact.pk, other.pk]
    assert _ids(service.search(reader, "Hạ Nam"))[:2] == [other.pk, exact.pk]
    assert set(_ids(service.search(reader, "ha nam"))) == {exact.pk, other.pk}


@pytest.mark.django_db
def test_exact_symbol_hit_stays_first(org, django_capture_on_commit_callbacks):
    reader = org.person("province", Role.LEADER)
    mentions = draft(org, "province", subject="Kế hoạch 15 KH năm 2026",
                     body="<p>Thực hiện văn bản 15/KH-MTTQ-BTT, kế hoạch 15 KH, mục 15.</p>")
    advance(org, mentions, "issued")
    target = draft(org, "province", type_code="ke-hoach", subject="Tổ chức hội nghị")
    target = advance(org, target, "issued")
    index_ids([mentions.pk, target.pk])
    assert target.symbol
    assert _ids(service.search(reader, target.symbol))[0] == target.pk
