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

This module owns opening the index, the writer lock, writing and running a search; the
layout (schema, analyzers, fields) is in :mod:`search.backends.embedded_schema` and the
building of queries in :mod:`search.backends.embedded_query` (a mixin of the backend).
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
from pathlib import Path

import tantivy
from django.conf import settings
from tantivy import Occur, Query

from ..normalize import normalize
from .base import (
    PageRef,
    RawHit,
    RawResults,
    SearchBackend,
    SearchDocument,
    SearchRequest,
    file_code_key,
)
from .embedded_query import QueryBuilding
from .embedded_schema import (
    ANALYZER,
    FACET_FIELDS,
    FOLD_ANALYZER,
    HIT_FIELDS,
    PHRASE_FIELD,
    SCHEMA_VERSION,
    TEXT_FIELDS,
    _analyzer,
    _fold_analyzer,
    build_schema,
    symbol_key,
)


class IndexBusy(RuntimeError):
    """Another process holds the index writer; try again later."""


_INDEXES: dict[str, tuple[tantivy.Index, tantivy.Schema]] = {}
_INDEXES_LOCK = threading.Lock()


class EmbeddedBackend(QueryBuilding, SearchBackend):
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
        for code in {file_code_key(c) for c in doc.file_codes if c}:
            out.add_text("file_code", code)
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
