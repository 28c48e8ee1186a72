"""Elasticsearch backend (official ``elasticsearch`` 9 client).

For deployments that outgrow one machine. The index layout mirrors the
embedded one:

* an index template for ``<alias>-*`` with, for every text, an exact field
  (lowercase) and a ``.folded`` sub-field (``icu_folding`` when the cluster has
  the analysis-icu plugin, else ``asciifolding``, which maps đ→d), plus a
  ``.vi`` sub-field when the Vietnamese analysis plugin is installed;
* texts and queries pass through :mod:`search.normalize` first (NFC and one
  tone placement), so both backends see the same words;
* permissions are a ``terms`` filter on the ``acl`` keyword field inside the
  bool query, so hits, totals and aggregations only count visible documents;
* writes use external versioning (``version_type=external_gte`` with the
  document version): a stale task gets a 409 and changes nothing;
* the alias points at one concrete index; ``rebuild`` fills a fresh index and
  switches the alias atomically, so searches never see a half-built index.

Not run against a real cluster in this repository's CI (none is available
there); ``tests/test_search_backend_contract.py`` runs the shared contract
against a cluster whenever ``ES_URL`` is set.
"""

from __future__ import annotations

import time

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
from .embedded_schema import FACET_FIELDS, FILTER_FIELDS, TEXT_FIELDS, symbol_key

TEXT_NAMES = [exact for exact, _folded, _boost in TEXT_FIELDS]
BOOSTS = {exact: boost for exact, _folded, boost in TEXT_FIELDS}
SOURCE_FIELDS = ["id", "kind", "version", "subject", "symbol", "state", "type", "type_name",
                 "unit_id", "unit_name", "year", "date", "number", "body", "comments",
                 "page_refs"]


class ElasticBackend(SearchBackend):
    name = "elasticsearch"

    def __init__(self, url: str, index: str = "mttq-docs", client=None):
        from elasticsearch import Elasticsearch

        self.alias = index
        self.client = client or Elasticsearch(
            url, request_timeout=30, retry_on_timeout=True, max_retries=3
        )
        self._ready = False
        self._plugins: set[str] | None = None

    # --- index management ---------------------------------------------------------------

    def plugins(self) -> set[str]:
        if self._plugins is None:
            try:
                rows = self.client.cat.plugins(format="json")
                self._plugins = {row.get("component", "") for row in rows}
            except Exception:  # a restricted user may not read _cat; fall back to built-ins
                self._plugins = set()
        return self._plugins

    def index_body(self) -> dict:
        plugins = self.plugins()
        icu = "analysis-icu" in plugins
        tokenizer = "icu_tokenizer" if icu else "standard"
        folding = "icu_folding" if icu else "asciifolding"
        analysis = {
            "analyzer": {
                "vi_exact": {"type": "custom", "tokenizer": tokenizer, "filter": ["lowercase"]},
                "vi_folded": {"type": "custom", "tokenizer": tokenizer,
                              "filter": ["lowercase", folding]},
            },
            "normalizer": {
                "folded_keyword": {"type": "custom", "filter": ["lowercase", "asciifolding"]},
            },
        }
        subfields = {"folded": {"type": "text", "analyzer": "vi_folded"}}
        if "analysis-vietnamese" in plugins:
            subfields["vi"] = {"type": "text", "analyzer": "vi_analyzer"}
        text = {"type": "text", "analyzer": "vi_exact", "fields": subfields}
        properties = {name: dict(text) for name in TEXT_NAMES}
        properties.update({
            "key": {"type": "keyword"},
            "id": {"type": "long"},
            "kind": {"type": "keyword"},
            "version": {"type": "long"},
            "unit_id": {"type": "long"},
            "unit_path": {"type": "keyword"},
            "unit_name": {"type": "keyword", "index": False},
            "state": {"type": "keyword"},
            "type": {"type": "keyword"},
            "type_name": {"type": "keyword", "index": False},
            "year": {"type": "integer"},
            "date": {"type": "date", "format": "epoch_second"},
            "number": {"type": "integer"},
            "symbol_key": {"type": "keyword", "normalizer": "folded_keyword"},
            "page_refs": {"type": "object", "enabled": False},
            "acl": {"type": "keyword"},
            "file_code": {"type": "keyword"},
        })
        return {
            "settings": {"analysis": analysis, "refresh_interval": "1s"},
            "mappings": {"dynamic": "strict", "properties": properties},
        }

    def _ensure(self) -> None:
        if self._ready:
            return
        body = self.index_body()
        self.client.indices.put_index_template(
            name=f"{self.alias}-template", index_patterns=[f"{self.alias}-*"],
            template=body, priority=100,
        )
        if not self.client.indices.exists_alias(name=self.alias):
            self.client.indices.create(
                index=self._new_name(), aliases={self.alias: {"is_write_index": True}}
            )
        else:
            # Fields added since the index was made (the mapping is strict): adding a
            # field is allowed on a live index, so no rebuild is needed for it.
            self.client.indices.put_mapping(
                index=self.alias, properties={"file_code": body["mappings"]["properties"][
                    "file_code"]})
        self._ready = True

    def _new_name(self) -> str:
        return f"{self.alias}-{time.strftime('%Y%m%d%H%M%S')}-{time.monotonic_ns() % 100000}"

    # --- writing ------------------------------------------------------------------------

    def _source(self, doc: SearchDocument) -> dict:
        texts = {
            "subject": normalize(doc.subject),
            "symbol": normalize(doc.symbol),
            "meta": normalize(doc.metadata),
            "body": [normalize(p) for p in doc.pages],
            "comments": [normalize(c) for c in doc.comments],
        }
        keys = [symbol_key(doc.symbol)] if doc.symbol else []
        if doc.symbol and doc.number:
            keys.append(f"{doc.number:02d}")
        return {
            "key": doc.key, "id": doc.id, "kind": doc.kind, "version": doc.version,
            "unit_id": doc.unit_id, "unit_path": doc.unit_path, "unit_name": doc.unit_name,
            "state": doc.state, "type": doc.type, "type_name": doc.type_name,
            "year": doc.year, "date": int(doc.date.timestamp()) if doc.date else 0,
            "number": doc.number, "symbol_key": keys,
            "page_refs": [[r.file_version_id, r.page, r.file_name] for r in doc.page_refs],
            "acl": list(doc.acl),
            "file_code": sorted({file_code_key(c) for c in doc.file_codes if c}), **texts,
        }

    def _bulk(self, actions: list[dict], index: str | None = None) -> int:
        from elasticsearch import helpers

        if not actions:
            return 0
        ok, errors = helpers.bulk(self.client, actions, raise_on_error=False,
                                  raise_on_exception=True, stats_only=False)
        fatal = []
        for error in errors:
            info = next(iter(error.values()))
            status = info.get("status")
            if status == 409:  # a newer version is indexed: the stale write is dropped
                continue
            if status == 404 and info.get("result") == "not_found":
                continue
            fatal.append(info)
        if fatal:
            raise RuntimeError(f"Elasticsearch bulk errors: {fatal[:3]}")
        return ok

    def index(self, docs: list[SearchDocument], *, target: str | None = None) -> int:
        self._ensure()
        actions = [
            {"_op_type": "index", "_index": target or self.alias, "_id": doc.key,
             "version": int(doc.version), "version_type": "external_gte",
             "_source": self._source(doc)}
            for doc in docs
        ]
        return self._bulk(actions)

    def delete(self, keys: list[str]) -> None:
        self._ensure()
        self._bulk([{"_op_type": "delete", "_index": self.alias, "_id": k} for k in keys])

    def clear(self) -> None:
        self._ensure()
        self.client.delete_by_query(index=self.alias, query={"match_all": {}},
                                    refresh=True, conflicts="proceed")

    def rebuild(self, batches) -> int:
        self._ensure()
        new = self._new_name()
        self.client.indices.create(index=new, settings={"refresh_interval": "-1"})
        count = 0
        for batch in batches:
            count += self.index(batch, target=new)
        self.client.indices.put_settings(index=new, settings={"refresh_interval": "1s"})
        self.client.indices.refresh(index=new)
        old = list(self.client.indices.get_alias(name=self.alias).keys())
        actions = [{"remove": {"index": name, "alias": self.alias}} for name in old]
        actions.append({"add": {"index": new, "alias": self.alias, "is_write_index": True}})
        self.client.indices.update_aliases(actions=actions)  # one atomic switch
        for name in old:
            self.client.indices.delete(index=name, ignore_unavailable=True)
        return count

    def refresh(self) -> None:
        self._ensure()
        self.client.indices.refresh(index=self.alias)

    # --- reading ------------------------------------------------------------------------

    def _text_query(self, request: SearchRequest) -> dict:
        vi = "analysis-vietnamese" in self.plugins()
        must = []
        for term in request.terms:
            should = []
            for name in TEXT_NAMES:
                should.append({"match": {name: {"query": term.exact, "boost": BOOSTS[name]}}})
                should.append({"match": {f"{name}.folded": {"query": term.folded,
                                                            "boost": BOOSTS[name] / 2}}})
            must.append({"bool": {"should": should, "minimum_should_match": 1}})
        for phrase in request.phrases:
            should = []
            for name in TEXT_NAMES:
                should.append({"match_phrase": {name: {"query": " ".join(phrase.exact),
                                                       "boost": BOOSTS[name]}}})
                should.append({"match_phrase": {f"{name}.folded": {
                    "query": " ".join(phrase.folded), "boost": BOOSTS[name] / 2}}})
                if vi:
                    should.append({"match_phrase": {f"{name}.vi": " ".join(phrase.exact)}})
            must.append({"bool": {"should": should, "minimum_should_match": 1}})
        if not must:
            return {"match_all": {}}
        if request.match_all_terms or len(must) == 1:
            query = {"bool": {"must": must}}
        else:
            query = {"bool": {"should": must, "minimum_should_match": 1}}
        proximity = self._proximity_clauses(request)
        if proximity:
            # Optional: they only raise documents where the words stand together.
            query = {"bool": {"must": [query], "should": proximity}}
        return query

    # Unquoted words standing side by side, in order, rank first (the embedded backend
    # re-ranks its best matches the same way): a phrase of every word, then each pair.
    PROXIMITY_BOOST = 20.0
    MAX_PAIRS = 6

    def _proximity_clauses(self, request: SearchRequest) -> list[dict]:
        words = [term.folded for term in request.terms]
        if request.phrases or len(words) < 2:
            return []
        pairs = list(dict.fromkeys(zip(words, words[1:], strict=False)))[: self.MAX_PAIRS]
        checks = [(" ".join(pair), self.PROXIMITY_BOOST) for pair in pairs if pair[0] != pair[1]]
        if len(words) > 2:
            checks.insert(0, (" ".join(words), self.PROXIMITY_BOOST * len(checks or [1])))
        fields = [f"{name}.folded" for name in TEXT_NAMES]
        return [{"multi_match": {"query": text, "type": "phrase", "fields": fields,
                                 "boost": boost}} for text, boost in checks]

    def _filters(self, request: SearchRequest) -> list[dict]:
        filters: list[dict] = [{"terms": {"acl": list(request.acl)}}]
        if request.document_ids is not None:
            # An empty list matches nothing, as a meeting the user cannot see should.
            filters.append({"terms": {"id": sorted({int(i) for i in request.document_ids})}})
            filters.append({"term": {"kind": "document"}})
        for facet, values in request.filters.items():
            field_name = FACET_FIELDS.get(facet) or FILTER_FIELDS.get(facet)
            if not field_name or not values:
                continue
            if facet in FILTER_FIELDS:
                values = [file_code_key(v) for v in values]
            if facet in ("unit", "year"):
                values = [int(v) for v in values if str(v).isdigit()] or [-1]
            filters.append({"terms": {field_name: values}})
        return filters

    def search(self, request: SearchRequest) -> RawResults:
        if not request.acl:
            return RawResults(total=0, hits=[], facets={})
        self._ensure()
        body: dict = {
            "query": {"bool": {"must": [self._text_query(request)],
                               "filter": self._filters(request)}},
            "from": max(0, request.offset),
            "size": max(1, request.limit),
            "track_total_hits": True,
            "_source": SOURCE_FIELDS,
        }
        if request.sort == "date":
            body["sort"] = [{"date": "desc"}, "_score"]
        if request.facets:
            body["aggs"] = {
                name: {"terms": {"field": field_name, "size": 200}}
                for name, field_name in FACET_FIELDS.items()
            }
        response = self.client.search(index=self.alias, body=body)
        hits = []
        for row in response["hits"]["hits"]:
            source = row["_source"]
            hits.append(RawHit(
                id=int(source["id"]), kind=source.get("kind", "document"),
                score=float(row.get("_score") or 0.0), version=int(source.get("version", 0)),
                fields={k: source.get(k) for k in ("subject", "symbol", "state", "type",
                                                    "type_name", "unit_id", "unit_name",
                                                    "year", "date", "number")},
                pages=list(source.get("body") or []),
                page_refs=[PageRef(r[0], r[1], r[2] if len(r) > 2 else "")
                           for r in source.get("page_refs") or []],
                comments=list(source.get("comments") or []),
            ))
        facets: dict[str, dict[str, int]] = {}
        for name in FACET_FIELDS if request.facets else ():
            buckets = response.get("aggregations", {}).get(name, {}).get("buckets", [])
            facets[name] = {str(b["key"]): int(b["doc_count"]) for b in buckets}
        total = response["hits"]["total"]["value"]
        return RawResults(total=int(total), hits=hits, facets=facets)

    def suggest(self, prefix: str, acl: list[str], limit: int = 10) -> list[str]:
        key = symbol_key(prefix)
        if not key or not acl:
            return []
        self._ensure()
        response = self.client.search(
            index=self.alias,
            query={"bool": {"filter": [{"prefix": {"symbol_key": key}},
                                       {"terms": {"acl": list(acl)}}]}},
            sort=[{"date": "desc"}], size=limit * 3, source=["symbol"],
        )
        symbols: list[str] = []
        for row in response["hits"]["hits"]:
            symbol = row["_source"].get("symbol")
            if symbol and symbol not in symbols:
                symbols.append(symbol)
        return symbols[:limit]

    def versions(self) -> dict[str, int]:
        from elasticsearch import helpers

        self._ensure()
        return {
            row["_id"]: int(row["_source"].get("version", 0))
            for row in helpers.scan(self.client, index=self.alias,
                                    query={"query": {"match_all": {}}, "_source": ["version"]})
        }

    def count(self) -> int:
        self._ensure()
        return int(self.client.count(index=self.alias)["count"])

    def stats(self) -> dict:
        self._ensure()
        stats = self.client.indices.stats(index=self.alias)
        size = stats["_all"]["primaries"].get("store", {}).get("size_in_bytes", 0)
        return {"backend": self.name, "alias": self.alias, "documents": self.count(),
                "size_bytes": size, "plugins": sorted(self.plugins())}

    def drop(self) -> None:
        """Delete the alias's indexes and the template (tests)."""
        names = list(self.client.indices.get_alias(name=self.alias).keys()) \
            if self.client.indices.exists_alias(name=self.alias) else []
        for name in names:
            self.client.indices.delete(index=name, ignore_unavailable=True)
        self.client.indices.delete_index_template(name=f"{self.alias}-template")
        self._ready = False
