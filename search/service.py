"""The search service: what views, the API and the CLI call.

``search(user, query, ...)`` normalises the query with the same normaliser the
indexer uses, hands the engine the user's ACL tokens so permissions apply
inside the query, and turns the engine's hits into results with a highlighted
passage, the page it is on and an "open at page" link.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import asdict, dataclass, field

from django.apps import apps
from django.conf import settings
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from workflow import query
from workflow.documents.models import DocumentType, State
from workflow.organisation.models import Unit
from workflow.viewer import viewer_url

from . import acl, snippets
from .backends.base import FACETS, FILTERS, Phrase, RawHit, SearchBackend, SearchRequest, Term
from .normalize import fold, normalize, tokens

MAX_TERMS = 32
MAX_PAGE = 500
PER_PAGE_LIMIT = 100
SORTS = ("relevance", "date")

_backend_cache: dict[tuple, SearchBackend] = {}
_backend_lock = threading.Lock()


def get_backend() -> SearchBackend:
    """The configured engine: Elasticsearch when SEARCH_URL is set, else embedded tantivy."""
    url = getattr(settings, "SEARCH_URL", "") or ""
    key = (url, str(settings.SEARCH_INDEX_DIR), getattr(settings, "SEARCH_ES_INDEX", "mttq-docs"))
    with _backend_lock:
        backend = _backend_cache.get(key)
        if backend is None:
            if url:
                from .backends.elastic import ElasticBackend

                backend = ElasticBackend(url, index=key[2])
            else:
                from .backends.embedded import EmbeddedBackend

                backend = EmbeddedBackend(settings.SEARCH_INDEX_DIR)
            _backend_cache[key] = backend
        return backend


def reset_backend() -> None:
    from .backends import embedded

    with _backend_lock:
        _backend_cache.clear()
    embedded.reset_cache()


# --- query parsing --------------------------------------------------------------------------

_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})
_PHRASE_RE = re.compile(r'"([^"]*)"')


@dataclass
class ParsedQuery:
    terms: list[Term] = field(default_factory=list)
    phrases: list[Phrase] = field(default_factory=list)

    @property
    def folded_terms(self) -> list[str]:
        words = [t.folded for t in self.terms]
        for phrase in self.phrases:
            words += phrase.folded
        return words

    @property
    def exact_terms(self) -> set[str]:
        words = {t.exact for t in self.terms}
        for phrase in self.phrases:
            words |= set(phrase.exact)
        return words


def parse_query(text: str) -> ParsedQuery:
    """Words and "quoted phrases"; any other syntax is read as plain words, never an error."""
    text = normalize((text or "")[:1000]).translate(_QUOTES)
    parsed = ParsedQuery()
    seen: set[str] = set()

    def add_term(word: str) -> None:
        if word not in seen and len(parsed.terms) < MAX_TERMS:
            seen.add(word)
            parsed.terms.append(Term(exact=word, folded=fold(word)))

    for match in _PHRASE_RE.finditer(text):
        words = tokens(match.group(1))[:MAX_TERMS]
        if len(words) >= 2:
            parsed.phrases.append(Phrase(exact=words, folded=[fold(w) for w in words]))
        elif words:
            add_term(words[0])
    rest = _PHRASE_RE.sub(" ", text).replace('"', " ")
    for word in tokens(rest):
        add_term(word)
    return parsed


# --- results ----------------------------------------------------------------------------------


@dataclass
class Hit:
    id: int
    kind: str
    subject: str
    symbol: str
    state: str
    state_label: str
    type_name: str
    unit_name: str
    year: int | None
    score: float
    snippet_parts: list[tuple[str, bool]]
    page: int | None
    file_name: str
    url: str
    open_url: str

    @property
    def viewer_url(self) -> str:
        """The in-page viewer (pdf.js) at the hit's page; ``open_url`` is the file itself."""
        if not self.page or "#page=" not in self.open_url:
            return self.open_url
        return viewer_url(self.open_url.split("#", 1)[0], self.page, title=self.subject)

    @property
    def snippet_html(self) -> SafeString:
        return mark_safe(  # noqa: S308 - every part is escaped here
            "".join(f"<mark>{escape(t)}</mark>" if hl else escape(t)
                    for t, hl in self.snippet_parts)
        )

    def to_dict(self) -> dict:
        data = asdict(self)
        data["snippet"] = "".join(t for t, _hl in self.snippet_parts)
        data["snippet_html"] = str(self.snippet_html)
        data["highlights"] = [t for t, hl in self.snippet_parts if hl]
        data["viewer_url"] = self.viewer_url
        del data["snippet_parts"]
        return data


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool


@dataclass
class SearchResults:
    query: str
    total: int
    page: int
    per_page: int
    sort: str
    hits: list[Hit]
    facets: dict[str, list[FacetValue]]
    relaxed: bool = False  # no document had every word; these have some of them

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def to_dict(self) -> dict:
        return {
            "query": self.query,
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
            "pages": self.pages,
            "sort": self.sort,
            "relaxed": self.relaxed,
            "results": [h.to_dict() for h in self.hits],
            "facets": {k: [asdict(v) for v in vs] for k, vs in self.facets.items()},
        }


def _clean_filters(filters: dict | None) -> dict[str, list[str]]:
    cleaned: dict[str, list[str]] = {}
    for name in (*FACETS, *FILTERS):
        values = (filters or {}).get(name) or []
        if isinstance(values, str):
            values = [values]
        values = [str(v).strip()[:100] for v in values if str(v).strip()][:20]
        if name in ("unit", "year"):
            # A number no id or year can be (40 digits, a sign, other scripts' digits)
            # names nothing: "0" keeps the filter and matches no document.
            values = [v if query.int_value(v, min_value=0) is not None and v.isascii() else "0"
                      for v in values]
        if values:
            cleaned[name] = values
    return cleaned


_PLACEHOLDER = 987654321


_templates_cache: dict[tuple, dict[str, str]] = {}


def _url_templates() -> dict[str, str]:
    """The hit URL templates, reversed once per URL configuration and script prefix."""
    key = (get_script_prefix(), get_urlconf())
    templates = _templates_cache.get(key)
    if templates is None:
        templates = {"detail": _url_template("documents:detail", 1),
                     "download": _url_template("documents:download", 2),
                     "recommendation": _url_template("oversight:recommendation_detail", 1),
                     "critique_reply": _url_template("oversight:critique_detail", 1),
                     "incoming": _url_template("incoming:detail", 1)}
        _templates_cache[key] = templates
    return templates


def _url_template(name: str, args: int) -> str:
    """A reversed URL with ``{}`` for each integer argument (reverse() costs ~0.1 ms a call)."""
    try:
        url = reverse(name, args=[_PLACEHOLDER + i for i in range(args)])
    except NoReverseMatch:
        return ""
    for i in range(args):
        url = url.replace(str(_PLACEHOLDER + i), f"{{{i}}}", 1)
    return url


def _urls(hit: RawHit, page_index: int | None, templates: dict[str, str]
          ) -> tuple[str, str, int | None, str]:
    if hit.kind != "document":  # oversight items open on their case page, no file
        detail = templates.get(hit.kind, "")
        url = detail.format(hit.id) if detail else ""
        return url, url, None, ""
    detail = templates["detail"]
    url = detail.format(hit.id) if detail else ""
    if page_index is None or page_index >= len(hit.page_refs):
        return url, url, None, ""
    ref = hit.page_refs[page_index]
    if not ref.file_version_id:
        return url, url, None, ""
    download = templates["download"]
    download = download.format(hit.id, ref.file_version_id) if download else url
    return url, f"{download}#page={ref.page}", ref.page, ref.file_name


def kind_labels() -> dict[str, str]:
    return {"document": _("Documents"), "recommendation": _("Recommendations"),
            "critique_reply": _("Critique replies"), "incoming": _("Incoming documents")}


def _oversight_state_labels() -> dict[str, str]:
    """Recommendation statuses and critique states as the index stores them (prefixed)."""
    if not apps.is_installed("workflow.oversight"):
        return {}
    from workflow.oversight.models import CritiqueState, RecStatus

    labels = {f"rec:{v}": str(label) for v, label in RecStatus.choices}
    labels.update({f"critique:{v}": str(label) for v, label in CritiqueState.choices})
    return labels


_state_labels_cache: dict[str, dict[str, str]] = {}


def _state_labels() -> dict[str, str]:
    """Document and oversight state labels in the active language."""
    language = get_language() or ""
    labels = _state_labels_cache.get(language)
    if labels is None:
        labels = {value: str(label) for value, label in State.choices}
        labels.update(_oversight_state_labels())
        if apps.is_installed("workflow.incoming"):
            from workflow.incoming.models import State as InState

            labels.update({f"in:{v}": str(label) for v, label in InState.choices})
        if apps.is_installed("workflow.exchange"):
            from workflow.incoming.models import DeliveryState

            labels["recalled"] = str(DeliveryState.RECALLED.label)  # issue #15
        _state_labels_cache[language] = labels
    return labels


# Unit and document-type names label the facets of every search; looking up a broad
# query's couple of hundred unit ids was about a sixth of a search's time. They change
# rarely: kept LABEL_TTL seconds per process, and dropped at once when this process
# saves or deletes a unit or type (search/signals.py), so only another process's rename
# can show its old name, for at most LABEL_TTL seconds. Labels are looked up only for
# facet values, i.e. for units of documents the user may see.
LABEL_TTL = 60.0
_names_lock = threading.Lock()
_names: dict[str, tuple[float, dict[str, str]]] = {}


def forget_names(**_kwargs) -> None:
    with _names_lock:
        _names.clear()


def _lookup_names(kind: str, keys: list[str]) -> dict[str, str]:
    now = time.monotonic()
    with _names_lock:
        stamp, known = _names.get(kind, (now, {}))
        if now - stamp > LABEL_TTL:
            stamp, known = now, {}
    # Only names found are kept: a key without a row is asked again next time (a type
    # loaded by bulk_create, which sends no signal, gets its label at once).
    missing = [k for k in keys if k not in known]
    if missing:
        if kind == "type":
            rows = DocumentType.objects.filter(code__in=missing).values_list("code", "name")
        else:
            ids = [int(k) for k in missing if k.isdigit()]
            rows = Unit.objects.filter(pk__in=ids).values_list("pk", "name")
        known = {**known, **{str(k): name for k, name in rows}}
        with _names_lock:
            _names[kind] = (stamp, known)
    return {k: known[k] for k in keys if k in known}


def _facet_labels(facets: dict[str, dict[str, int]], selected: dict[str, list[str]]
                  ) -> dict[str, list[FacetValue]]:
    type_names = _lookup_names("type", list(facets.get("type", {})))
    unit_names = _lookup_names("unit", [v for v in facets.get("unit", {}) if v.isdigit()])
    labels = {"type": type_names, "unit": unit_names, "state": _state_labels(),
              "kind": kind_labels()}
    out: dict[str, list[FacetValue]] = {}
    for name in FACETS:
        counts = facets.get(name, {})
        values = [
            FacetValue(value=v, label=labels.get(name, {}).get(v, v), count=c,
                       selected=v in selected.get(name, []))
            for v, c in counts.items() if c > 0 and v != ""
        ]
        if name == "year":
            values.sort(key=lambda f: f.value, reverse=True)
        else:
            values.sort(key=lambda f: (-f.count, f.label))
        out[name] = values
    return out


def meeting_document_ids(user, meeting: int | str | None) -> list[int] | None:
    """Ids of a meeting's papers ``user`` may read; None when no meeting is asked for."""
    if meeting is None or str(meeting).strip() == "":
        return None
    try:
        meeting_id = int(str(meeting).strip())
    except ValueError:
        return []
    if meeting_id <= 0 or not apps.is_installed("workflow.meetings"):
        return []
    from workflow.meetings.services.room import paper_document_ids

    return sorted({int(i) for i in paper_document_ids(user, meeting_id) if i})


def search(
    user,
    query: str,
    *,
    filters: dict | None = None,
    sort: str = "relevance",
    page: int = 1,
    per_page: int = 20,
    facets: bool = True,
    meeting: int | str | None = None,
) -> SearchResults:
    """Search what ``user`` may see. Never raises on odd input; bad values fall back to defaults.

    ``meeting`` narrows to the papers of that meeting the user may read (the meeting
    room's "this meeting's papers"); an empty value means no narrowing, and a meeting
    the user cannot see (or an invalid id) gives no results rather than an error.
    """
    try:
        page = min(max(1, int(page)), MAX_PAGE)
    except (TypeError, ValueError):
        page = 1
    try:
        per_page = min(max(1, int(per_page)), PER_PAGE_LIMIT)
    except (TypeError, ValueError):
        per_page = 20
    sort = sort if sort in SORTS else "relevance"
    cleaned = _clean_filters(filters)
    parsed = parse_query(query)
    user_acl = acl.user_tokens(user)
    results = SearchResults(query=query or "", total=0, page=page, per_page=per_page, sort=sort,
                            hits=[], facets={})
    if not user_acl:
        return results
    request = SearchRequest(
        terms=parsed.terms, phrases=parsed.phrases, acl=user_acl, filters=cleaned, sort=sort,
        offset=(page - 1) * per_page, limit=per_page, facets=facets,
        document_ids=meeting_document_ids(user, meeting), defer_counts=True,
    )
    backend = get_backend()
    raw = backend.search(request)
    if len(parsed.terms) > 1 and not raw.hits and raw.complete().total == 0:
        request.match_all_terms = False
        raw = backend.search(request)
        results.relaxed = bool(raw.hits) or raw.complete().total > 0
    folded_phrases = [p.folded for p in parsed.phrases]
    templates = _url_templates()
    state_labels = _state_labels()
    for hit in raw.hits:
        snippet = snippets.build(
            hit.pages, parsed.folded_terms, folded_phrases, parsed.exact_terms,
            extra={"subject": hit.fields.get("subject") or "",
                   "comments": "\n".join(hit.comments)},
        )
        if snippet is None:
            lead = (hit.pages[0] if hit.pages else "")[:snippets.WINDOW]
            snippet = snippets.Snippet(page_index=0 if lead else None,
                                       parts=[(re.sub(r"\s+", " ", lead), False)] if lead else [])
        url, open_url, page_no, file_name = _urls(hit, snippet.page_index, templates)
        state = hit.fields.get("state") or ""
        results.hits.append(Hit(
            id=hit.id, kind=hit.kind, subject=hit.fields.get("subject") or "",
            symbol=hit.fields.get("symbol") or "", state=state,
            state_label=state_labels.get(state, state),
            type_name=hit.fields.get("type_name") or "",
            unit_name=hit.fields.get("unit_name") or "",
            year=hit.fields.get("year"), score=hit.score, snippet_parts=snippet.parts,
            page=page_no, file_name=file_name, url=url, open_url=open_url,
        ))
    # The backend may still be counting the total and facets on another thread: the
    # snippets above were built meanwhile.
    raw.complete()
    results.total = raw.total
    results.facets = _facet_labels(raw.facets, cleaned) if facets else {}
    return results


def suggest(user, prefix: str, limit: int = 10) -> list[str]:
    """Numbers and symbols (``05/KH…``) of visible documents starting with ``prefix``."""
    prefix = (prefix or "").strip()[:80]
    user_acl = acl.user_tokens(user)
    if not prefix or not user_acl:
        return []
    return get_backend().suggest(prefix, user_acl, limit=max(1, min(int(limit), 50)))
