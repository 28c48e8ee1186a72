"""The embedded backend's phrase window gives the same hits as checking every candidate.

A phrase query takes its top hits from the best documents holding every word, with the
phrase checked on just those (``EmbeddedBackend._phrase_window``), and falls back to the
full query when too few of them hold it. A small window makes every branch happen here.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from search.backends.base import SearchDocument, SearchRequest
from search.backends.embedded import EmbeddedBackend
from search.service import parse_query


def _corpus() -> list[SearchDocument]:
    docs = []
    for i in range(1, 61):
        # Every document holds the words; every third holds them as the phrase; a few
        # repeat the words to rank higher; a few are not visible.
        words = "phản biện của xã hội" if i % 3 else "phản biện xã hội"
        body = " ".join([words] * (1 + i % 5)) + f" trang {i}"
        docs.append(SearchDocument(
            id=i, version=1, kind="case" if i % 7 == 0 else "document", unit_id=1 + i % 2,
            state="issued", type="ke-hoach", year=2020 + i % 4,
            date=dt.datetime(2023, 1 + i % 12, 1 + i % 28, tzinfo=dt.UTC),
            subject=f"Văn bản {i}", pages=[body],
            acl=["group:b"] if i % 11 == 0 else ["group:a"]))
    return docs


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    engine = EmbeddedBackend(tmp_path_factory.mktemp("idx") / uuid.uuid4().hex)
    engine.index(_corpus())
    engine.refresh()
    return engine


def _search(engine, text: str, **kw):
    parsed = parse_query(text)
    return engine.search(SearchRequest(terms=parsed.terms, phrases=parsed.phrases,
                                       acl=["group:a"], facets=True, **kw))


@pytest.mark.parametrize("window", [1, 3, 5, 200])
@pytest.mark.parametrize("text", ['"phản biện xã hội"', '"phan bien" xa hoi', '"xã hội phản"',
                                  '"không có" phản biện'])
@pytest.mark.parametrize("sort", ["relevance", "date"])
@pytest.mark.parametrize(("offset", "limit"), [(0, 2), (0, 20), (3, 4)])
def test_window_hits_equal_the_full_query(backend, monkeypatch, window, text, sort, offset,
                                          limit):
    monkeypatch.setattr(EmbeddedBackend, "PHRASE_WINDOW", window)
    got = _search(backend, text, sort=sort, offset=offset, limit=limit)
    monkeypatch.setattr(EmbeddedBackend, "_phrase_window", lambda *a, **k: None)
    full = _search(backend, text, sort=sort, offset=offset, limit=limit)
    assert [(h.kind, h.id) for h in got.hits] == [(h.kind, h.id) for h in full.hits]
    assert got.total == full.total and got.facets == full.facets


def test_counts_can_be_left_to_the_caller(backend):
    parsed = parse_query('"phản biện xã hội"')
    raw = backend.search(SearchRequest(terms=parsed.terms, phrases=parsed.phrases,
                                       acl=["group:a"], facets=True, defer_counts=True))
    assert raw.pending is not None and raw.hits
    expected = sum(1 for d in _corpus() if d.id % 3 == 0 and "group:a" in d.acl)
    assert raw.complete().total == expected and raw.pending is None
    assert sum(raw.facets["kind"].values()) == expected


def test_the_window_answers_or_hands_over_to_the_full_query(tmp_path, monkeypatch):
    # Eight documents hold the words often but not as the phrase, two hold the phrase once
    # among many other words: the phrase holders rank last.
    engine = EmbeddedBackend(tmp_path / "idx")
    engine.index([
        SearchDocument(id=i, version=1, acl=["group:a"], subject=f"Văn bản {i}",
                       pages=["phản lời biện " * 5 if i <= 8 else "phản biện " + "lời " * 200])
        for i in range(1, 11)])
    engine.refresh()
    calls = []
    original = EmbeddedBackend._phrase_window

    def spy(self, *args, **kwargs):
        calls.append(original(self, *args, **kwargs))
        return calls[-1]

    monkeypatch.setattr(EmbeddedBackend, "_phrase_window", spy)
    results = [_search(engine, '"phản biện"', limit=2)]  # every candidate fits the window
    monkeypatch.setattr(EmbeddedBackend, "PHRASE_WINDOW", 6)
    results.append(_search(engine, '"phản biện"', limit=2))  # a full window, none hold it
    results.append(_search(engine, '"phản biện"', offset=5, limit=2))  # deeper than it
    assert [None if c is None else len(c) for c in calls] == [2, None, None]
    assert [sorted(h.id for h in r.hits) for r in results] == [[9, 10], [9, 10], []]
    assert [r.total for r in results] == [2, 2, 2]


def test_items_of_several_kinds_with_the_same_id(tmp_path, monkeypatch):
    # A document, a recommendation and a critique reply may share an id: the phrase check
    # on the window's ids finds more holders than the window has.
    engine = EmbeddedBackend(tmp_path / "idx")
    engine.index([
        SearchDocument(id=i, version=1, kind=kind, acl=["group:a"], subject=f"{kind} {i}",
                       pages=["phản biện xã hội " * (1 + i % 3)])
        for i in range(1, 21) for kind in ("document", "recommendation", "critique_reply")])
    engine.refresh()
    monkeypatch.setattr(EmbeddedBackend, "PHRASE_WINDOW", 4)
    got = _search(engine, '"phản biện xã hội"', limit=3)
    monkeypatch.setattr(EmbeddedBackend, "_phrase_window", lambda *a, **k: None)
    full = _search(engine, '"phản biện xã hội"', limit=3)
    assert [(h.kind, h.id) for h in got.hits] == [(h.kind, h.id) for h in full.hits]
    assert got.total == full.total == 60
