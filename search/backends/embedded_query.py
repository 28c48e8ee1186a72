"""How the embedded backend turns a search request into tantivy queries: the query that
selects the matching documents (one positions field, phrases weighted zero), the optional
clauses that rank them (subject and symbol first, accents as typed), the permission and facet
filters, and the two windows that keep phrases and unquoted words cheap (a phrase checked only
on the best candidates holding every word; adjacent pairs of typed words re-ranking the best
matches). A mixin of :class:`search.backends.embedded.EmbeddedBackend`: it reads ``self.schema``
and the layout in :mod:`search.backends.embedded_schema`, and opens or writes nothing.
"""

from __future__ import annotations

from tantivy import Occur, Query

from ..normalize import fold
from .base import SearchRequest, file_code_key
from .embedded_schema import (
    FACET_FIELDS,
    FILTER_FIELDS,
    NUMERIC_FACETS,
    PHRASE_FIELD,
    TEXT_FIELDS,
    engine_fold,
)


class QueryBuilding:
    """Query building for :class:`~search.backends.embedded.EmbeddedBackend` (needs ``schema``)."""

    schema: object

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
            field_name = FACET_FIELDS.get(facet) or FILTER_FIELDS.get(facet)
            if not field_name or not values:
                continue
            if facet in FILTER_FIELDS:
                values = [file_code_key(v) for v in values]
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
