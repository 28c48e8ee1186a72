"""The interface every search backend implements, and the data it exchanges.

The service (:mod:`search.service`) turns a user's query into a
:class:`SearchRequest` carrying the user's ACL tokens; a backend applies those
tokens inside the engine (before ranking, limiting, counting and faceting) and
returns :class:`RawHit` rows with the stored page texts. Snippets and page
numbers are computed by :mod:`search.snippets`, identically for every backend.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

FACETS = ("kind", "type", "unit", "year", "state")
# Filters that are not counted as facets: ``file`` narrows to items filed in a case file
# with that code (the file's number and symbol, or its Appendix VI FileCode), any case.
FILTERS = ("file",)


def file_code_key(code: str) -> str:
    """How a case-file code is indexed and matched: trimmed, lower case."""
    return (code or "").strip().lower()


@dataclass
class PageRef:
    """Where one indexed page comes from: a file version and its page number."""

    file_version_id: int | None
    page: int  # 1-based page inside that file
    file_name: str = ""


@dataclass
class SearchDocument:
    """One searchable item as the indexer builds it from the database."""

    id: int
    version: int
    kind: str = "document"
    unit_id: int = 0
    unit_path: str = ""
    unit_name: str = ""
    state: str = ""
    type: str = ""
    type_name: str = ""
    year: int | None = None
    date: dt.datetime | None = None
    number: int | None = None
    symbol: str = ""
    subject: str = ""
    metadata: str = ""  # drafter, signer, recipients, unit, type: one text
    pages: list[str] = field(default_factory=list)
    page_refs: list[PageRef] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    acl: list[str] = field(default_factory=list)
    file_codes: list[str] = field(default_factory=list)  # case files holding it (records)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass
class Phrase:
    """Query words that must appear in this order (typed in quotes)."""

    exact: list[str]
    folded: list[str]


@dataclass
class Term:
    exact: str
    folded: str


@dataclass
class SearchRequest:
    terms: list[Term]
    phrases: list[Phrase]
    acl: list[str]
    filters: dict[str, list[str]] = field(default_factory=dict)  # facet/filter -> values
    sort: str = "relevance"  # or "date"
    offset: int = 0
    limit: int = 20
    facets: bool = True
    match_all_terms: bool = True
    # Restrict to these document ids (a meeting's papers); None means no restriction and
    # an empty list means nothing. Applied inside the engine like the ACL, before top-N.
    document_ids: list[int] | None = None
    # The caller will call RawResults.complete() before reading total and facets.
    defer_counts: bool = False

    @property
    def is_empty(self) -> bool:
        return not self.terms and not self.phrases


@dataclass
class RawHit:
    id: int
    kind: str
    score: float
    version: int
    fields: dict  # stored fields: subject, symbol, state, type, unit_id, year, date, ...
    pages: list[str]
    page_refs: list[PageRef]
    comments: list[str]


@dataclass
class RawResults:
    total: int
    hits: list[RawHit]
    facets: dict[str, dict[str, int]]  # facet -> value -> count
    # A backend counting on another thread leaves total and facets to this, when the
    # request asked for ``defer_counts``: the caller builds snippets meanwhile.
    pending: Callable[[], tuple[int, dict[str, dict[str, int]]]] | None = None

    def complete(self) -> RawResults:
        """Wait for the total and facets if they are still being counted."""
        if self.pending is not None:
            self.total, self.facets = self.pending()
            self.pending = None
        return self


class SearchBackend(ABC):
    """What the service needs from an engine. Implementations must never raise on user input."""

    name = "base"

    @abstractmethod
    def index(self, docs: list[SearchDocument]) -> int:
        """Add or replace documents. A document whose indexed version is newer is kept.

        Returns how many were written.
        """

    @abstractmethod
    def delete(self, keys: list[str]) -> None:
        """Remove documents by key (``kind:id``)."""

    @abstractmethod
    def search(self, request: SearchRequest) -> RawResults:
        """Run the query restricted to ``request.acl`` inside the engine."""

    @abstractmethod
    def suggest(self, prefix: str, acl: list[str], limit: int = 10) -> list[str]:
        """Numbers and symbols starting with ``prefix`` among visible documents."""

    @abstractmethod
    def versions(self) -> dict[str, int]:
        """Every indexed key with its version (for reconciliation)."""

    @abstractmethod
    def clear(self) -> None:
        """Remove everything (tests and full rebuilds)."""

    def rebuild(self, batches) -> int:
        """Replace the whole index with the documents yielded in ``batches``.

        The default clears then indexes; backends that can switch atomically
        (an alias, a fresh commit) override it so searches never see a half index.
        """
        self.clear()
        count = 0
        for batch in batches:
            count += self.index(batch)
        return count

    def refresh(self) -> None:
        """Make recent writes visible to searches (no-op where that is automatic)."""
        return None

    def stats(self) -> dict:
        return {}
