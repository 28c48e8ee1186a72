"""One contract for every search backend.

Runs against the embedded tantivy backend always, and against Elasticsearch
whenever ``ES_URL`` points at a cluster (skipped otherwise: no cluster is
installed in CI, and nothing here imitates one).
"""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest

from search.backends.base import PageRef, SearchDocument, SearchRequest
from search.backends.embedded import EmbeddedBackend
from search.service import parse_query

ES_URL = os.environ.get("ES_URL", "")


@pytest.fixture(params=["embedded", "elasticsearch"])
def backend(request, tmp_path):
    if request.param == "embedded":
        yield EmbeddedBackend(tmp_path / f"idx-{uuid.uuid4().hex}")
        return
    if not ES_URL:
        pytest.skip("ES_URL is not set: no Elasticsearch cluster to run the contract against")
    from search.backends.elastic import ElasticBackend

    es = ElasticBackend(ES_URL, index=f"mttq-test-{uuid.uuid4().hex[:10]}")
    yield es
    es.drop()


def doc(i: int, *, version: int = 1, acl=("group:a",), subject="", pages=(), **kw):
    return SearchDocument(
        id=i, version=version, unit_id=kw.pop("unit_id", 1), unit_name="Đơn vị",
        state=kw.pop("state", "issued"), type=kw.pop("type", "ke-hoach"), type_name="Kế hoạch",
        year=kw.pop("year", 2023), date=kw.pop("date", dt.datetime(2023, 1, i % 28 + 1,
                                                                   tzinfo=dt.UTC)),
        subject=subject, pages=list(pages),
        page_refs=[PageRef(100 + i, n + 1, "f.pdf") for n in range(len(pages))],
        acl=list(acl), **kw,
    )


def run(backend, text, acl=("group:a",), **kw):
    parsed = parse_query(text)
    backend.refresh()
    return backend.search(SearchRequest(terms=parsed.terms, phrases=parsed.phrases,
                                        acl=list(acl), **kw))


def ids(results):
    return [h.id for h in results.hits]


CORPUS = [
    doc(1, subject="Kế hoạch giám sát năm 2023", pages=["Trang đầu", "Giám sát việc thực hiện"]),
    doc(2, subject="Báo cáo phản biện xã hội", type="bao-cao", year=2024,
        pages=["Hội nghị phản biện xã hội về dự thảo"]),
    doc(3, subject="Xã hội hóa phản biện", pages=["xã hội phản biện theo thứ tự khác"]),
    doc(4, subject="Thông báo hòa giải ở cơ sở", pages=["Tổ hòa giải khu dân cư"]),
    doc(5, subject="Bí mật của đơn vị khác", acl=("group:b",), unit_id=2,
        pages=["giám sát nội bộ"]),
    doc(6, subject="Kế hoạch số 05", symbol="05/KH-MTTQ", number=5,
        pages=["Kế hoạch tổ chức"]),
    doc(7, subject="Kế hoạch số 05 khác", symbol="05/KH-UBND", number=5, acl=("group:b",),
        unit_id=2),
]


@pytest.fixture
def loaded(backend):
    assert backend.index(CORPUS) == len(CORPUS)
    backend.refresh()
    return backend


def test_accents_fold_and_rank(loaded):
    assert set(ids(run(loaded, "giam sat"))) == {1}
    assert ids(run(loaded, "giám sát")) == [1]
    assert set(ids(run(loaded, "hoa giai"))) == {4}
    assert set(ids(run(loaded, "hoà giải"))) == {4}  # old tone placement


def test_phrase_respects_order(loaded):
    assert ids(run(loaded, '"phản biện xã hội"')) == [2]
    assert set(ids(run(loaded, '"xã hội phản biện"'))) == {3}
    assert ids(run(loaded, '"phan bien xa hoi"')) == [2]


def test_acl_applies_before_counting_and_facets(loaded):
    results = run(loaded, "giám sát", facets=True)
    assert results.total == 1 and ids(results) == [1]
    assert sum(results.facets["unit"].values()) == 1
    assert "2" not in results.facets["unit"]
    other = run(loaded, "giám sát", acl=("group:b",))
    assert ids(other) == [5]
    assert run(loaded, "giám sát", acl=()).total == 0


def test_facets_and_filters(loaded):
    everything = run(loaded, "", facets=True)
    assert everything.total == 5
    assert everything.facets["type"] == {"ke-hoach": 4, "bao-cao": 1}
    assert everything.facets["year"] == {"2023": 4, "2024": 1}
    filtered = run(loaded, "", filters={"type": ["bao-cao"]})
    assert ids(filtered) == [2]
    assert run(loaded, "", filters={"year": ["2024"]}).total == 1
    assert run(loaded, "", filters={"year": ["abc"]}).total == 0


@pytest.mark.parametrize("text", ["", "kế hoạch", "ke hoach", '"phản biện xã hội"', "nothing"])
def test_the_total_is_the_same_with_and_without_facets(loaded, text):
    # The embedded backend takes the total from the facet counts when it has them.
    with_facets = run(loaded, text, facets=True)
    assert with_facets.total == run(loaded, text).total == len(run(loaded, text, limit=50).hits)
    assert sum(with_facets.facets["kind"].values()) == with_facets.total


def test_pages_come_back_for_snippets(loaded):
    hit = run(loaded, "thực hiện").hits[0]
    assert hit.id == 1
    assert hit.pages == ["Trang đầu", "Giám sát việc thực hiện"]
    assert hit.page_refs[1].page == 2 and hit.page_refs[1].file_version_id == 101


def test_sort_by_date_and_paging(loaded):
    by_date = run(loaded, "", sort="date", limit=2)
    assert by_date.total == 5 and len(by_date.hits) == 2
    second = run(loaded, "", sort="date", limit=2, offset=2)
    assert not set(ids(by_date)) & set(ids(second))


def test_stale_version_never_overwrites(loaded):
    loaded.index([doc(1, version=5, subject="Phiên bản mới")])
    loaded.index([doc(1, version=3, subject="Phiên bản cũ")])
    loaded.refresh()
    assert ids(run(loaded, "phiên bản mới")) == [1]
    assert run(loaded, "phiên bản cũ").total == 0
    assert loaded.versions()["document:1"] == 5
    # The same version again is harmless (idempotent).
    loaded.index([doc(1, version=5, subject="Phiên bản mới")])
    loaded.refresh()
    assert run(loaded, "phiên bản").total == 1


def test_delete_and_versions(loaded):
    loaded.delete(["document:4"])
    loaded.refresh()
    assert run(loaded, "hòa giải").total == 0
    versions = loaded.versions()
    assert "document:4" not in versions and versions["document:1"] == 1


def test_suggest_symbols_respects_acl(loaded):
    assert loaded.suggest("05/KH", ["group:a"]) == ["05/KH-MTTQ"]
    assert loaded.suggest("05/kh-u", ["group:a"]) == []
    assert loaded.suggest("05", ["group:b"]) == ["05/KH-UBND"]
    assert loaded.suggest("", ["group:a"]) == []


def test_rebuild_replaces_everything(loaded):
    count = loaded.rebuild(iter([[doc(10, subject="Chỉ còn văn bản này")]]))
    loaded.refresh()
    assert count == 1
    assert ids(run(loaded, "")) == [10]


@pytest.mark.parametrize("text", ['"unclosed', "(((", "title:x*", "~!@#", "a" * 500, '""'])
def test_odd_queries_do_not_raise(loaded, text):
    assert run(loaded, text).total >= 0


def test_phrases_ignore_punctuation_and_need_adjacent_words(backend):
    backend.index([
        doc(20, subject="Hội nghị", pages=["Đại đoàn kết toàn dân tộc, các tôn giáo"]),
        doc(21, subject="Báo cáo", pages=["các dân tộc và tôn giáo của các địa phương"]),
        # Both word pairs of "phản biện pháp", but never the three words in a row.
        doc(22, subject="Ghi chép", pages=["phản biện độc lập; biện pháp xã hội"]),
    ])
    backend.refresh()
    assert set(ids(run(backend, '"tộc các"'))) == {20}  # across the comma
    assert set(ids(run(backend, '"dân tộc"'))) == {20, 21}
    assert ids(run(backend, '"tộc dân"')) == []
    assert ids(run(backend, '"tôn giáo của các"')) == [21]
    assert ids(run(backend, '"phản biện pháp"')) == []
    assert ids(run(backend, '"biện pháp xã"')) == [22]


def test_unquoted_words_standing_together_rank_first(backend):
    """Unquoted, the document with the syllables side by side and in order ranks first."""
    backend.index([
        # The three syllables apart, in the subject (which weighs more) and the body.
        doc(30, subject="Nguyễn Văn A và Xuân Lộc: Phúc đáp", pages=[
            "Ông Nguyễn gửi phúc đáp; mùa xuân năm nay; Nguyễn và Xuân, Phúc."]),
        doc(31, subject="Nơi nhận", pages=["Thủ tướng Nguyễn Xuân Phúc đã ký."]),
        doc(32, subject="Báo cáo", pages=["Xuân Phúc Nguyễn: thứ tự khác."]),
    ])
    backend.refresh()
    for text in ("Nguyễn Xuân Phúc", "nguyen xuan phuc"):
        assert ids(run(backend, text))[0] == 31, text
        assert set(ids(run(backend, text))) == {30, 31, 32}
    # Pages and the date order are untouched by the re-ranking.
    assert ids(run(backend, "Nguyễn Xuân Phúc", limit=1, offset=1))[0] in {30, 32}
    assert len(ids(run(backend, "Nguyễn Xuân Phúc", sort="date"))) == 3


def test_elasticsearch_query_boosts_adjacent_words():
    """The query body, built without a cluster: optional phrase clauses, never required."""
    from search.backends.elastic import ElasticBackend

    es = ElasticBackend("http://127.0.0.1:9", client=object())
    es._plugins = set()
    parsed = parse_query("Nguyễn Xuân Phúc")
    query = es._text_query(SearchRequest(terms=parsed.terms, phrases=[], acl=["a"]))
    should = query["bool"]["should"]
    texts = [c["multi_match"]["query"] for c in should]
    assert texts == ["nguyen xuan phuc", "nguyen xuan", "xuan phuc"]
    assert all(c["multi_match"]["type"] == "phrase" for c in should)
    assert should[0]["multi_match"]["boost"] > should[1]["multi_match"]["boost"]
    assert len(query["bool"]["must"][0]["bool"]["must"]) == 3  # every word still required
    single = es._text_query(SearchRequest(terms=parse_query("Phúc").terms, phrases=[],
                                          acl=["a"]))
    assert "should" not in single["bool"]


def test_file_code_filter_narrows_inside_the_acl(backend):
    """``file`` (case files, workflow/records): a filter that is no facet, any letter case,
    applied with the ACL before counting; an unknown code finds nothing."""
    docs = [
        doc(1, subject="Kế hoạch hội nghị", file_codes=["01.VP", "t-district.2026.01.VP"]),
        doc(2, subject="Báo cáo hội nghị", file_codes=["01.VP"]),
        doc(3, subject="Thông báo hội nghị", file_codes=["02.VP"]),
        doc(4, subject="Hội nghị đơn vị khác", file_codes=["01.VP"], acl=("group:b",)),
        doc(5, subject="Hội nghị chưa lập hồ sơ"),
    ]
    backend.index(docs)
    found = run(backend, "hội nghị", filters={"file": ["01.vp"]})
    assert sorted(ids(found)) == [1, 2] and found.complete().total == 2
    assert "file" not in found.facets
    assert ids(run(backend, "", filters={"file": ["T-DISTRICT.2026.01.VP"]})) == [1]
    assert sorted(ids(run(backend, "hội nghị", filters={"file": ["01.VP", "02.VP"]}))) == [1, 2, 3]
    assert ids(run(backend, "hội nghị", filters={"file": ["99.XX"]})) == []
    assert sorted(ids(run(backend, "hội nghị", acl=("group:b",), filters={"file": ["01.VP"]}))) \
        == [4]
    # Filing changes no version: the same version indexed again carries the new codes.
    backend.index([doc(5, subject="Hội nghị chưa lập hồ sơ", file_codes=["02.VP"])])
    assert sorted(ids(run(backend, "hội nghị", filters={"file": ["02.vp"]}))) == [3, 5]


def test_elasticsearch_file_code_field_and_filter():
    """Without a cluster: the mapping, the indexed source and the filter clause agree."""
    from search.backends.elastic import ElasticBackend

    es = ElasticBackend("http://127.0.0.1:9", client=object())
    es._plugins = set()
    assert es.index_body()["mappings"]["properties"]["file_code"] == {"type": "keyword"}
    source = es._source(doc(1, subject="x", file_codes=["01.VP", "01.vp", " 02.VP "]))
    assert source["file_code"] == ["01.vp", "02.vp"]
    filters = es._filters(SearchRequest(terms=[], phrases=[], acl=["a"],
                                        filters={"file": ["01.VP"]}))
    assert {"terms": {"file_code": ["01.vp"]}} in filters
