"""HTML bodies are indexed as text with block boundaries kept (search/htmltext.py)."""

from __future__ import annotations

import pytest

from search import service
from search.htmltext import html_to_text
from search.tasks import index_ids
from tests.factories import advance, draft
from workflow.organisation.models import Role


def test_blocks_become_lines_and_entities_are_decoded():
    html = ("<p>Mặt trận</p><p>Nghệ An</p><h2>Tiêu đề</h2><ul><li>một &amp; hai</li>"
            "<li>ba<br>bốn</li></ul><table><tr><td>ô 1</td><td>ô 2</td></tr></table>"
            "<div>năm<div>sáu</div></div><script>alert(1)</script><style>p{}</style>"
            "bảy <b>tám</b>&nbsp;chín")
    assert html_to_text(html).split("\n") == [
        "Mặt trận", "Nghệ An", "Tiêu đề", "một & hai", "ba", "bốn", "ô 1 ô 2", "năm", "sáu",
        "bảy tám chín"]


@pytest.mark.parametrize("html", ["", "plain text", "<p>unclosed", "</p>stray<p>",
                                  "<p>a\n  b</p>", "<!-- c --><p>x</p>", "<br/><br/>"])
def test_odd_html_never_errors(html):
    text = html_to_text(html)
    assert "<" not in text and "\n\n" not in text


@pytest.mark.django_db
def test_words_at_paragraph_edges_are_found_and_snippets_show_them(
        org, django_capture_on_commit_callbacks):
    reader = org.person("province", Role.LEADER)
    document = draft(org, "province", subject="Thông báo",
                     body="<p>Ủy ban Mặt trận</p><p>Nghệ An tổ chức hội nghị</p>")
    advance(org, document, "submitted")
    index_ids([document.pk])
    results = service.search(reader, '"Mặt trận"')
    assert [h.id for h in results.hits] == [document.pk]
    results = service.search(reader, "Nghệ An")
    assert [h.id for h in results.hits] == [document.pk]
    snippet = "".join(t for t, _hl in results.hits[0].snippet_parts)
    assert "trậnNghệ" not in snippet and "Nghệ An" in snippet
