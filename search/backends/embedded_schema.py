"""The layout of the embedded (tantivy) index: its schema and version, the two analyzers
(accented words; lowercase + ASCII folding, đ→d) and the same folding applied to query words
(:func:`engine_fold`), the text and facet fields, the one positions field phrases are checked
on, and the folded key of a document symbol. Pure definitions over :mod:`search.normalize`;
:mod:`search.backends.embedded` (writing, searching) and :mod:`search.backends.embedded_query`
(query building) use them, and the Elasticsearch backend shares the field lists. Changing the
layout means raising ``SCHEMA_VERSION`` (the index is then rebuilt).
"""

from __future__ import annotations

import threading
from functools import lru_cache

import tantivy

from ..normalize import fold, normalize

SCHEMA_VERSION = "6"
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
FILTER_FIELDS = {"file": "file_code"}  # filters that are no facets (case files)
# Stored fields a hit carries back to the service.
HIT_FIELDS = ("subject", "symbol", "state", "type", "type_name", "unit_id", "unit_name", "year",
              "date", "number")
# Every folded text of a document in one field, the only one with positions: phrases are
# checked there. A phrase as an OR over one phrase query per field made tantivy's union
# scorer walk 4096-document windows at every step of the permission filter, so a phrase
# of common words cost 25-50 ms on 100k documents even for a user who may see 200 of them;
# one phrase scorer skips straight to the visible documents.
PHRASE_FIELD = "text_f"

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
    sb.add_text_field("file_code", stored=False, tokenizer_name="raw")
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
