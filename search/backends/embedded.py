"""Embedded search backend: tantivy on local disk, no server.

Chosen by measurement (see the issue and ``benchmarks/search_bench.py``):
on 100k documents tantivy answers in a few milliseconds, SQLite FTS5 in tens.

Layout: one tantivy document per searchable item. Every text, normalised by
:mod:`search.normalize` (the one normaliser of indexing and querying), is
indexed twice: as accented text (``subject``, ``body``…) and through an
accent-folding analyzer (``subject_f``, ``body_f``…: lowercase + ASCII folding,
đ→d, as Elasticsearch's ``asciifolding``). Query words go through that same
analyzer (:func:`engine_fold`). Folding in the engine rather than in Python
halved indexing time. Pages are values of the
multi-valued ``body`` field: tantivy leaves a position gap between values, so
a phrase never spans two pages, and the stored values give back each page.

tantivy allows one writer per index. Writers take an exclusive file lock with
a bounded wait; when it cannot be had the caller gets :class:`IndexBusy` and
the Celery task retries later.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import tantivy
from django.conf import settings
from tantivy import Occur, Query

from ..normalize import fold, normalize
from .base import PageRef, RawHit, RawResults, SearchBackend, SearchDocument, SearchRequest

SCHEMA_VERSION = "5"
ANALYZER = "vi"
FOLD_ANALYZER = "vi_fold"
# (exact field, folded field, boost of the exact field); folded matches count half.
TEXT_FIELDS = (
    ("subject", "subject_f", 6.0),
    ("symbol", "symbol_f", 6.0),
    ("meta", "meta_f", 2.0),
    ("body", "body_f", 2.0),
    ("comments", "comments_f", 1.0),
)
FACET_FIELDS = {"kind": "kind", "type": "type", "unit": "unit_id", "year": "year", "state": "state"}
NUMERIC_FACETS = {"unit", "year"}
# Stored fields a hit carries back to the service.
HIT_FIELDS = ("subject", "symbol", "state", "type", "type_name", "unit_id", "unit_name", "year",
              "date", "number")
# Every folded text of a document in one field, the only one with positions: phrases are
# checked there. A phrase as an OR over one phrase query per field made tantivy's union
# scorer walk 4096-document windows at every step of the permission filter, so a phrase
# of common words cost 25-50 ms on 100k documents even for a user who may see 200 of them;
# one phrase scorer skips straight to the visible documents.
PHRASE_FIELD = "text_f"


class IndexBusy(RuntimeError):
    """Another process holds the index writer; try again later."""


def build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("key", stored=True, tokenizer_name="raw")
    sb.add_unsigned_field("id", stored=True, indexed=True, fast=True)
    sb.add_text_field("kind", stored=True, fast=True, tokenizer_name="raw")
    sb.add_unsigned_field("version", stored=True, indexed=True, fast=True)
    sb.add_unsigned_field("unit_id", stored=True, indexed=True, fast=True)
    sb.add_text_field("unit_path", stored=True, tokenizer_name="raw")
    sb.add_text_field("unit_name", stored=True, tokenizer_name="raw")
    sb.add_text_field("state", stored=True, fast=True, tokenizer_name="raw")
    sb.add_text_field("type", stored=True, fast=True, tokenizer_name="raw")
    sb.add_text_field("type_name", stored=True, tokenizer_name="raw")
    sb.add_unsigned_field("year", stored=True, indexed=True, fast=True)
    sb.add_integer_field("date", stored=True, indexed=True, fast=True)
    sb.add_unsigned_field("number", stored=True, indexed=True)
    sb.add_text_field("symbol_key", stored=False, tokenizer_name="raw")
    for exact, folded, _boost in TEXT_FIELDS:
        # Words and their counts rank; positions are kept once, in PHRASE_FIELD.
        sb.add_text_field(exact, stored=True, tokenizer_name=ANALYZER, index_option="freq")
        sb.add_text_field(folded, stored=False, tokenizer_name=FOLD_ANALYZER, index_option="freq")
    sb.add_text_field(PHRASE_FIELD, stored=False, tokenizer_name=FOLD_ANALYZER,
                      index_option="position")
    sb.add_text_field("page_refs", stored=True, tokenizer_name="raw")
    sb.add_text_field("acl", stored=False, tokenizer_name="raw")
    return sb.build()


def _analyzer() -> tantivy.TextAnalyzer:
    # Must split and lowercase exactly like search.normalize.tokens().
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .build()
    )


def _fold_analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


_FOLD_LOCAL = threading.local()


@lru_cache(maxsize=8192)
def engine_fold(word: str) -> str:
    """A query word as the folded fields index it (the engine's own analyzer)."""
    analyzer = getattr(_FOLD_LOCAL, "analyzer", None)
    if analyzer is None:
        analyzer = _FOLD_LOCAL.analyzer = _fold_analyzer()
    folded = analyzer.analyze(word)
    return folded[0] if len(folded) == 1 else fold(word)


def symbol_key(symbol: str) -> str:
    return fold(normalize(symbol.strip())).replace(" ", "")


_INDEXES: dict[str, tuple[tantivy.Index, tantivy.Schema]] = {}
_INDEXES_LOCK = threading.Lock()


class EmbeddedBackend(SearchBackend):
    name = "embedded"

    def __init__(self, path: str | os.PathLike | None = None, lock_timeout: float | None = None):
        self.path = Path(path or settings.SEARCH_INDEX_DIR)
        self.lock_timeout = (
            lock_timeout if lock_timeout is not None
            else float(getattr(settings, "SEARCH_WRITER_LOCK_TIMEOUT", 10.0))
        )
        self.index_obj, self.schema = self._open()

    # --- opening and locking ------------------------------------------------------------

    def _open(self) -> tuple[tantivy.Index, tantivy.Schema]:
        key = str(self.path.resolve())
        with _INDEXES_LOCK:
            cached = _INDEXES.get(key)
            if cached is not None and (self.path / "meta.json").exists():
                return cached
            self.path.mkdir(parents=True, exist_ok=True)
            marker = self.path / "SCHEMA_VERSION"
            if marker.exists() and marker.read_text().strip() != SCHEMA_VERSION:
                # An older layout: start afresh; reconcile/rebuild_index refills it.
                with self._writer_lock():
                    for child in self.path.iterdir():
                        if child.name != ".writer.lock":
                            if child.is_dir():
                                shutil.rmtree(child)
                            else:
                                child.unlink()
            schema = build_schema()
            index = tantivy.Index(schema, path=str(self.path), reuse=True)
            index.register_tokenizer(ANALYZER, _analyzer())
            index.register_tokenizer(FOLD_ANALYZER, _fold_analyzer())

            marker.write_text(SCHEMA_VERSION)
            _INDEXES[key] = (index, schema)
            return index, schema

    @contextlib.contextmanager
    def _writer_lock(self):
        self.path.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout
        with open(self.path / ".writer.lock", "a+") as handle:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise IndexBusy(str(self.path)) from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _writer(self, heap: int = 64_000_000, threads: int = 1):
        with self._writer_lock():
            try:
                writer = self.index_obj.writer(heap_size=heap, num_threads=threads)
            except ValueError as exc:  # tantivy's own lock, held by a crashed process
                raise IndexBusy(str(exc)) from exc
            try:
                yield writer
                writer.commit()
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()
        self.index_obj.reload()

    # --- writing ------------------------------------------------------------------------

    def _to_tantivy(self, doc: SearchDocument) -> tantivy.Document:
        out = tantivy.Document()
        out.add_text("key", doc.key)
        out.add_unsigned("id", int(doc.id))
        out.add_text("kind", doc.kind)
        out.add_unsigned("version", int(doc.version))
        out.add_unsigned("unit_id", int(doc.unit_id or 0))
        out.add_text("unit_path", doc.unit_path)
        out.add_text("unit_name", doc.unit_name)
        out.add_text("state", doc.state)
        out.add_text("type", doc.type)
        out.add_text("type_name", doc.type_name)
        if doc.year:
            out.add_unsigned("year", int(doc.year))
        out.add_integer("date", int(doc.date.timestamp()) if doc.date else 0)
        if doc.number:
            out.add_unsigned("number", int(doc.number))
        if doc.symbol:
            out.add_text("symbol_key", symbol_key(doc.symbol))
            if doc.number:
                out.add_text("symbol_key", f"{doc.number:02d}")
        texts = {
            "subject": [doc.subject],
            "symbol": [doc.symbol],
            "meta": [doc.metadata],
            "body": doc.pages,
            "comments": doc.comments,
        }
        for exact, folded, _boost in TEXT_FIELDS:
            for value in texts[exact]:
                value = normalize(value or "")
                out.add_text(exact, value)
                out.add_text(folded, value)
                # One value per text: tantivy leaves a position gap between values, so a
                # phrase never runs from the subject into the body or across two pages.
                out.add_text(PHRASE_FIELD, value)
        out.add_text(
            "page_refs",
            json.dumps([[r.file_version_id, r.page, r.file_name] for r in doc.page_refs]),
        )
        for token in doc.acl:
            out.add_text("acl", token)
        return out

    def _indexed_versions(self, keys: list[str]) -> dict[str, int]:
        if not keys:
            return {}
        searcher = self.index_obj.searcher()
        query = Query.term_set_query(self.schema, "key", keys)
        result = searcher.search(query, limit=len(keys) * 2 + 1, count=False)
        addrs = [addr for _score, addr in result.hits]
        found: dict[str, int] = {}
        for addr in addrs:
            stored = searcher.doc(addr)
            key = stored.get_first("key")
            version = stored.get_first("version") or 0
            found[key] = max(found.get(key, 0), version)
        return found

    def index(self, docs: list[SearchDocument]) -> int:
        if not docs:
            return 0
        latest: dict[str, SearchDocument] = {}
        for doc in docs:  # a batch may carry one document twice: keep the newest
            if doc.key not in latest or doc.version >= latest[doc.key].version:
                latest[doc.key] = doc
        written = 0
        with self._writer() as writer:
            self.index_obj.reload()
            current = self._indexed_versions(list(latest))
            for key, doc in latest.items():
                if current.get(key, -1) > doc.version:
                    continue  # a newer version is already indexed: a stale task
                writer.delete_documents_by_term("key", key)
                writer.add_document(self._to_tantivy(doc))
                written += 1
        return written

    def delete(self, keys: list[str]) -> None:
        if not keys:
            return
        with self._writer() as writer:
            for key in keys:
                writer.delete_documents_by_term("key", key)

    def clear(self) -> None:
        with self._writer() as writer:
            writer.delete_all_documents()

    # Rebuild writer: tantivy splits the heap between its threads; each thread flushes a
    # segment when its share is full, so fewer, larger segments mean less merging.
    rebuild_heap = 512_000_000
    rebuild_threads = 0  # 0: one per core, at most 4

    def rebuild(self, batches) -> int:
        # One commit at the end: searches see the old index until the new one is complete.
        count = 0
        threads = self.rebuild_threads or min(4, os.cpu_count() or 1)
        with self._writer(heap=self.rebuild_heap, threads=threads) as writer:
            writer.delete_all_documents()
            for batch in batches:
                for doc in batch:
                    writer.add_document(self._to_tantivy(doc))
                    count += 1
        return count

    def refresh(self) -> None:
        self.index_obj.reload()

    # --- reading ------------------------------------------------------------------------

    def _match_query(self, request: SearchRequest, *, phrases: bool = True) -> Query | None:
        """The documents the words and phrases select, as term and phrase queries on one field.

        Every folded text of a document is in PHRASE_FIELD, so a word is in the document
        exactly when it is in that field: one term query per word selects what the OR over
        the ten per-field clauses selected. That OR was a union scorer, which refills a
        4096-document window of every field (dense ``body`` included) at each step of the
        permission filter; a single term scorer skips straight to the visible documents.
        The words of a phrase are Must term clauses too, and the scores of the term
        clauses rank the text; the phrase clause itself (positions live only in that
        field) is weighted zero, so a document ranks the same whether or not the phrase
        was checked in the same query (see :meth:`_phrase_window`). ``phrases=False``
        leaves the phrase clauses out: the query then selects a superset.
        """
        schema = self.schema
        clauses = []
        occur = Occur.Must if request.match_all_terms else Occur.Should
        for term in request.terms:
            clauses.append(
                (occur, Query.term_query(schema, PHRASE_FIELD, engine_fold(term.exact))))
        for phrase in request.phrases:
            for word in dict.fromkeys(engine_fold(w) for w in phrase.exact):
                clauses.append((Occur.Must, Query.term_query(schema, PHRASE_FIELD, word)))
        if phrases:
            clauses += [(Occur.Must, Query.boost_query(q, 0.0))
                        for q in self._phrase_queries(request)]
        if not clauses:
            return None
        return Query.boolean_query(clauses)

    def _phrase_queries(self, request: SearchRequest) -> list[Query]:
        return [Query.phrase_query(self.schema, PHRASE_FIELD, [engine_fold(w) for w in p.exact])
                for p in request.phrases]

    def _rank_clauses(self, request: SearchRequest) -> list:
        """Optional clauses that order the matches; they never decide what matches.

        A word in the subject or symbol (or metadata, comments) counts more than in the
        body, and a word typed with accents counts more where it stands with those
        accents than where only its unaccented look-alike does. The short fields are
        sparse, so their union scorer stays cheap; the exact-accent clause on the body
        is dense for common words and is therefore only added for words that carry
        accents (for an unaccented word the exact and folded matches are the same).
        """
        schema = self.schema
        words: list[str] = [t.exact for t in request.terms]
        for phrase in request.phrases:
            words += phrase.exact
        clauses = []
        for word in dict.fromkeys(words):
            folded_word = engine_fold(word)
            accented = fold(word) != word
            for exact, folded, boost in TEXT_FIELDS:
                if exact != "body":
                    clauses.append((Occur.Should, Query.boost_query(
                        Query.term_query(schema, folded, folded_word), boost / 2)))
                if accented:
                    clauses.append((Occur.Should, Query.boost_query(
                        Query.term_query(schema, exact, word), boost / 2)))
        return clauses

    def _filter_clauses(self, request: SearchRequest) -> list:
        schema = self.schema
        clauses = [(Occur.Must, Query.term_set_query(schema, "acl", list(request.acl)))]
        if request.document_ids is not None:
            ids = sorted({int(i) for i in request.document_ids})
            if not ids:
                return [(Occur.Must, Query.empty_query())]
            clauses.append((Occur.Must, Query.term_set_query(schema, "id", ids)))
            clauses.append((Occur.Must, Query.term_query(schema, "kind", "document")))
        for facet, values in request.filters.items():
            field_name = FACET_FIELDS.get(facet)
            if not field_name or not values:
                continue
            if facet in NUMERIC_FACETS:
                typed = [int(v) for v in values if str(v).isdigit()]
                if not typed:
                    return [(Occur.Must, Query.empty_query())]
                ors = [(Occur.Should, Query.term_query(schema, field_name, v)) for v in typed]
                clauses.append((Occur.Must, Query.boolean_query(ors)))
            else:
                clauses.append(
                    (Occur.Must, Query.term_set_query(schema, field_name, [str(v) for v in values]))
                )
        return clauses

    def search(self, request: SearchRequest) -> RawResults:
        if not request.acl:
            return RawResults(total=0, hits=[], facets={})
        # No reload here: writes in this process reload after commit (see _writer), and
        # the reader follows other processes' commits by itself within about half a second.
        searcher = self.index_obj.searcher()
        match = self._match_query(request)
        # The permission filter is a scoring-free Must clause of the same query:
        # tantivy applies it while collecting, so ranking, counting and facets only see
        # documents the user may read.
        filters = self._filter_clauses(request)
        selected = [*([(Occur.Must, match)] if match is not None else []), *filters]
        rank = self._rank_clauses(request)
        order: dict = {}
        if request.sort == "date":
            order = {"order_by_field": "date", "order": tantivy.Order.Desc}
        pending_facets = None
        if request.facets:
            spec = {
                name: {"terms": {"field": field_name, "size": 200}}
                for name, field_name in FACET_FIELDS.items()
            }
            # tantivy releases the GIL: counting facets on the other core while this
            # thread collects the top hits nearly halves a broad query on an idle machine.
            # Facets need the matching set, not the ranking: the query without its
            # optional ranking clauses selects the same documents and scores nothing.
            pending_facets = _facet_pool().submit(
                searcher.aggregate, Query.boolean_query(selected), spec)
        top = None
        if pending_facets is not None and request.phrases:
            top = self._phrase_window(searcher, request, filters, rank, order)
        elif not order and not request.phrases and len(request.terms) > 1:
            top = self._proximity_window(searcher, request, selected, rank)
        count = None
        if top is None:
            # With facets, the total is the sum of the "kind" buckets (every item has one
            # kind): counting again while collecting the top hits cost 1-2 ms.
            result = searcher.search(Query.boolean_query([*selected, *rank]),
                                     count=pending_facets is None,
                                     limit=max(1, request.limit),
                                     offset=max(0, request.offset), **order)
            top, count = result.hits, result.count
        hits = [self._hit(searcher, score, addr) for score, addr in top]
        if pending_facets is None:
            return RawResults(total=int(count or 0), hits=hits, facets={})

        def counts() -> tuple[int, dict[str, dict[str, int]]]:
            aggregated = pending_facets.result()
            facets = {}
            for name in FACET_FIELDS:
                buckets = aggregated.get(name, {}).get("buckets", [])
                facets[name] = {str(b["key"]): int(b["doc_count"]) for b in buckets}
            return sum(facets["kind"].values()), facets

        results = RawResults(total=0, hits=hits, facets={}, pending=counts)
        return results if request.defer_counts else results.complete()

    # Phrase queries look for their top hits among this many documents holding every word.
    PHRASE_WINDOW = 200

    def _phrase_window(self, searcher, request: SearchRequest, filters: list, rank: list,
                       order: dict) -> list | None:
        """The top hits of a phrase query, checking the phrase on a window of candidates.

        A phrase of common words holds in thousands of visible documents, and checking
        positions in each of them (done anyway, once, for the facets and the total) cost
        as much again for the hits. The hits rank by the words alone (the phrase clause
        weighs zero), so the best documents holding every word, with the phrase checked on
        just those, are the best phrase matches, as long as enough of them hold the
        phrase or the window held every candidate. Otherwise None: run the full query.
        """
        want = max(0, request.offset) + max(1, request.limit)
        if want > self.PHRASE_WINDOW:  # a deep page: the window would not pay for itself
            return None
        window = self.PHRASE_WINDOW
        loose = self._match_query(request, phrases=False)
        candidates = searcher.search(Query.boolean_query([(Occur.Must, loose), *filters, *rank]),
                                     limit=window, count=False, **order).hits
        if not candidates:
            return []
        ids = sorted(set(searcher.fast_field_values("id", [a for _s, a in candidates])))
        holders = Query.boolean_query([
            (Occur.Must, Query.term_set_query(self.schema, "id", ids)),
            *((Occur.Must, q) for q in self._phrase_queries(request))])
        # An id can belong to items of several kinds (a document, a recommendation…), so
        # more than the window may hold the phrase: the count says how many to collect.
        result = searcher.search(holders, limit=2 * window, count=True)
        checked = result.hits
        if (result.count or 0) > len(checked):
            checked = searcher.search(holders, limit=result.count, count=False).hits
        holding = {(a.segment_ord, a.doc) for _s, a in checked}
        matched = [(s, a) for s, a in candidates if (a.segment_ord, a.doc) in holding]
        if len(matched) < want and len(candidates) == window:
            return None
        return matched[max(0, request.offset):want]

    # Unquoted words: the best this many matches are re-ranked by how many adjacent pairs of
    # the typed words stand side by side, in order, in the document (at most MAX_PAIRS).
    PROXIMITY_WINDOW = 100
    MAX_PAIRS = 6

    def _proximity_window(self, searcher, request: SearchRequest, selected: list,
                          rank: list) -> list | None:
        """Top hits of unquoted words, where words standing together in order come first.

        Vietnamese words and names are several syllables, each indexed as a word: without
        this, the one document naming "Nguyễn Xuân Phúc" ranked below documents holding
        those three common syllables apart. Candidates are the best PROXIMITY_WINDOW
        matches ranked as before (accents as typed and the subject/symbol still count);
        among them, documents holding more adjacent pairs of the typed words come first
        (all pairs: the words stand together, in order), each group in the old order.
        Each pair is one phrase query on PHRASE_FIELD restricted to the candidates' ids,
        so positions are read in at most PROXIMITY_WINDOW documents per pair (on 100k
        documents, ~0.3 ms a pair). As an optional clause of the main query, the same
        phrase walked 4096-document windows of every document holding the words (see the
        Query plan in docs/search.md). Pages past the window keep the plain ranking.
        """
        want = max(0, request.offset) + max(1, request.limit)
        if want > self.PROXIMITY_WINDOW:
            return None
        candidates = searcher.search(Query.boolean_query([*selected, *rank]),
                                     limit=self.PROXIMITY_WINDOW, count=False).hits
        words = [engine_fold(t.exact) for t in request.terms]
        pairs = [list(pair) for pair in dict.fromkeys(zip(words, words[1:], strict=False))
                 if pair[0] != pair[1]][: self.MAX_PAIRS]
        if len(candidates) < 2 or not pairs:
            return candidates[max(0, request.offset):want]
        ids = sorted(set(searcher.fast_field_values("id", [a for _s, a in candidates])))
        # A union of id terms, not term_set_query: the intersection then starts from the
        # candidates instead of walking the phrase through every document (3x cheaper).
        id_filter = (Occur.Must, Query.boolean_query(
            [(Occur.Should, Query.term_query(self.schema, "id", i)) for i in ids]))
        held: dict[tuple, int] = {}
        for pair in pairs:
            holders = Query.const_score_query(Query.boolean_query([
                id_filter, (Occur.Must, Query.phrase_query(self.schema, PHRASE_FIELD, pair))]),
                1.0)
            # Ids are shared across kinds, so more than the window may hold the pair.
            limit = 4 * self.PROXIMITY_WINDOW
            found = searcher.search(holders, limit=limit, count=False).hits
            if len(found) == limit:
                total = searcher.search(holders, limit=1, count=True).count or limit
                found = searcher.search(holders, limit=total, count=False).hits
            for _s, a in found:
                at = (a.segment_ord, a.doc)
                held[at] = held.get(at, 0) + 1

        def key(item: tuple[int, tuple]) -> tuple[int, int]:
            position, (_score, addr) = item
            return (-held.get((addr.segment_ord, addr.doc), 0), position)

        ranked = [hit for _pos, hit in sorted(enumerate(candidates), key=key)]
        return ranked[max(0, request.offset):want]

    def _hit(self, searcher, score, addr) -> RawHit:
        # Field by field: to_dict() converts every stored value, unused ones included.
        stored = searcher.doc(addr)
        first = stored.get_first
        refs = json.loads(first("page_refs") or "[]")
        return RawHit(
            id=first("id"),
            kind=first("kind"),
            score=float(score),
            version=first("version"),
            fields={name: first(name) for name in HIT_FIELDS} | {"meta": ""},
            pages=stored.get_all("body"),
            page_refs=[PageRef(r[0], r[1], r[2] if len(r) > 2 else "") for r in refs],
            comments=stored.get_all("comments"),
        )

    def suggest(self, prefix: str, acl: list[str], limit: int = 10) -> list[str]:
        key = symbol_key(prefix)
        if not key or not acl:
            return []
        searcher = self.index_obj.searcher()
        visible = Query.term_set_query(self.schema, "acl", list(acl))
        # The term dictionary walk counts only documents matching the ACL query, so a
        # symbol of an invisible draft never surfaces (a count of 0 is dropped).
        terms = searcher.terms_with_prefix("symbol_key", key, filter_query=visible,
                                           limit=limit * 5)
        keys = [t for t, count in terms if count > 0][: limit * 5]
        if not keys:
            return []
        query = Query.boolean_query([
            (Occur.Must, Query.term_set_query(self.schema, "symbol_key", keys)),
            (Occur.Must, visible),
        ])
        result = searcher.search(query, limit=limit * 3, count=False,
                                 order_by_field="date", order=tantivy.Order.Desc)
        symbols: list[str] = []
        for _score, addr in result.hits:
            symbol = searcher.doc(addr).get_first("symbol")
            if symbol and symbol not in symbols:
                symbols.append(symbol)
            if len(symbols) >= limit:
                break
        return symbols

    def versions(self) -> dict[str, int]:
        self.index_obj.reload()
        searcher = self.index_obj.searcher()
        total = searcher.num_docs
        if not total:
            return {}
        result = searcher.search(Query.all_query(), limit=total, count=False)
        addrs = [addr for _score, addr in result.hits]
        ids = searcher.fast_field_values("id", addrs)
        versions = searcher.fast_field_values("version", addrs)
        kinds = {}
        if len(addrs) <= 100_000:
            # kind is a text fast field; read it in bulk through the aggregation per kind.
            agg = searcher.aggregate(Query.all_query(), {"k": {"terms": {"field": "kind"}}})
            kinds = {b["key"] for b in agg.get("k", {}).get("buckets", [])}
        if len(kinds) <= 1:
            kind = next(iter(kinds), "document")
            return {f"{kind}:{i}": v for i, v in zip(ids, versions, strict=True)}
        out: dict[str, int] = {}
        for kind in kinds:
            res = searcher.search(Query.term_query(self.schema, "kind", kind), limit=total,
                                  count=False)
            kaddrs = [a for _s, a in res.hits]
            for i, v in zip(searcher.fast_field_values("id", kaddrs),
                            searcher.fast_field_values("version", kaddrs), strict=True):
                out[f"{kind}:{i}"] = v
        return out

    def count(self) -> int:
        self.index_obj.reload()
        return self.index_obj.searcher().num_docs

    def stats(self) -> dict:
        size = sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())
        return {"backend": self.name, "path": str(self.path), "documents": self.count(),
                "size_bytes": size}


_FACET_POOL: ThreadPoolExecutor | None = None


def _facet_pool() -> ThreadPoolExecutor:
    global _FACET_POOL
    with _INDEXES_LOCK:
        if _FACET_POOL is None:
            _FACET_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="search-facets")
        return _FACET_POOL


def reset_cache() -> None:
    """Forget opened indexes (tests point SEARCH_INDEX_DIR somewhere new each time)."""
    with _INDEXES_LOCK:
        _INDEXES.clear()
