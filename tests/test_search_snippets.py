"""Snippets: which page, which words are marked, and how far a hit is scanned."""

from __future__ import annotations

from search import snippets
from search.service import parse_query


def build(query: str, pages: list[str], subject: str = "") -> snippets.Snippet | None:
    parsed = parse_query(query)
    return snippets.build(pages, parsed.folded_terms, [p.folded for p in parsed.phrases],
                          parsed.exact_terms, extra={"subject": subject})


def marked(snippet: snippets.Snippet) -> list[str]:
    return [t for t, hl in snippet.parts if hl]


def test_phrase_is_marked_as_one_passage_on_its_page():
    pages = ["hoạch định và kế toán", "Kế hoạch, giám sát", "kế, hoạch"]
    snippet = build('"ke hoach"', pages)
    assert snippet.page_index == 1
    assert marked(snippet)[0] == "Kế hoạch"


def test_words_of_a_phrase_apart_are_marked_one_by_one():
    snippet = build('"ke hoach"', ["kế toán và hoạch định"], subject="kế hoạch")
    assert snippet.page_index == 0 and marked(snippet) == ["kế", "hoạch"]


def test_unaccented_query_marks_accented_words_and_prefers_exact_accents():
    pages = ["bạn hàng thân thiết", "bán hàng tại chợ"]
    assert marked(build("ban hang", pages)) == ["bạn hàng"]
    exact = build("bán hàng", pages)
    assert exact.page_index == 1 and marked(exact) == ["bán hàng"]


def test_unquoted_words_scan_a_bounded_number_of_pages():
    pages = ["giám sát"] + ["không liên quan"] * snippets.SCAN_AHEAD + ["giám sát phản biện"]
    assert build("giam sat phan bien", pages).page_index == 0
    # A quoted phrase is looked for until found.
    assert build('"giam sat phan bien"', pages).page_index == len(pages) - 1
    near = ["giám sát"] + ["không liên quan"] * (snippets.SCAN_AHEAD - 1) + ["giám sát phản biện"]
    assert build("giam sat phan bien", near).page_index == len(near) - 1
    # Typed with accents, the page with every word as typed is tried first, wherever it is.
    assert build("giám sát phản biện", pages).page_index == len(pages) - 1


def test_match_in_subject_only():
    snippet = build("hòa giải", ["trang không có"], subject="Thông báo hòa giải")
    assert snippet.page_index is None and snippet.source == "subject"
    assert marked(snippet) == ["hòa giải"]
