"""From database rows to :class:`SearchDocument`: what gets indexed, at which version.

A document's search version is the time of its last change in microseconds:
every service that changes a document saves it (``updated_at``) except
``add_comment``, so the newest comment counts too. Versions only grow, which
lets the engines refuse a stale write (tantivy: compare before replacing;
Elasticsearch: external versioning).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator

from django.apps import apps
from django.db.models import Max, Prefetch
from django.utils import timezone

from workflow.documents.models import (
    Comment,
    Document,
    DocumentFile,
    DocumentRecipient,
    FileVersion,
)

from . import acl, extract
from .backends.base import PageRef, SearchDocument
from .htmltext import html_to_text
from .models import ExtractedText, IndexedAcl

log = logging.getLogger(__name__)


def _micros(value: dt.datetime | None) -> int:
    return int(value.timestamp() * 1_000_000) if value else 0


def version_of(updated_at: dt.datetime | None, last_comment_at: dt.datetime | None) -> int:
    return max(_micros(updated_at), _micros(last_comment_at))


def db_versions(ids: Iterable[int] | None = None) -> dict[str, int]:
    """``document:<id>`` → version for every document (or the given ones), in one query."""
    qs = Document.objects.all()
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    rows = qs.annotate(last_comment=Max("comments__created_at")).values_list(
        "pk", "updated_at", "last_comment"
    )
    return {f"document:{pk}": version_of(updated, last) for pk, updated, last in rows}


def file_text(version: FileVersion) -> ExtractedText:
    """The cached text of a file version, extracting it on first use."""
    cached = getattr(version, "extracted_text", None)
    if cached is not None:
        return cached
    try:
        with version.blob.open("rb") as handle:
            data = handle.read()
        try:
            path = version.blob.path
        except (NotImplementedError, ValueError):
            path = None
        result = extract.extract(data, version.content_type, path=path)
        pages, dropped = extract.cap_pages(result.pages)
        record = ExtractedText(
            file_version=version, pages=pages, method=result.method,
            encoding=str(result.encoding), ocr_pending=bool(result.pages_needing_ocr),
            ocr_pages=result.pages_needing_ocr, truncated_chars=dropped,
        )
    except Exception as exc:  # a damaged file must not stop the document being indexed
        log.warning("text extraction failed for file version %s: %s", version.pk, exc)
        record = ExtractedText(file_version=version, pages=[], method="error",
                               error=str(exc)[:300])
    saved, _created = ExtractedText.objects.update_or_create(
        file_version=version,
        defaults={f: getattr(record, f) for f in
                  ("pages", "method", "encoding", "ocr_pending", "ocr_pages", "error",
                   "truncated_chars")},
    )
    return saved


def _queryset():
    return Document.objects.select_related(
        "unit", "document_type", "drafter", "signer", "drafting_department"
    ).prefetch_related(
        Prefetch("files", queryset=DocumentFile.objects.select_related(
            "current_version", "current_version__extracted_text")),
        Prefetch("comments", queryset=Comment.objects.order_by("created_at", "pk")),
        "recipients__unit",
        *(["case_file_items__case_file__unit"] if apps.is_installed(RECORDS_APP) else []),
    )


RECORDS_APP = "workflow.records"


def file_codes(item) -> list[str]:
    """Codes of the case files holding a document or incoming document (workflow/records):
    each file's number and symbol and its Appendix VI FileCode, for the ``file`` filter."""
    related = getattr(item, "case_file_items", None)
    if related is None:
        return []
    codes: list[str] = []
    for row in related.all():
        codes += [row.case_file.code, row.case_file.file_code]
    return sorted(set(codes))


def build(document: Document, meeting_reader_ids: Iterable[int] | None = None) -> SearchDocument:
    """Everything searchable about one document, read from the database now."""
    recipients = list(document.recipients.all())
    comments = list(document.comments.all())
    pages: list[str] = []
    refs: list[PageRef] = []
    for file in document.files.all():
        current = file.current_version
        if current is None:
            continue
        text = file_text(current)
        for number, page in enumerate(text.pages, start=1):
            pages.append(page)
            refs.append(PageRef(current.pk, number, file.name))
    if document.body:
        # Block elements become line breaks: words at paragraph edges stay words.
        body_text = extract.cap_pages([html_to_text(document.body)])[0][0]
        if body_text:
            pages.append(body_text)
            refs.append(PageRef(None, 0, ""))
    when = document.issued_at or document.updated_at
    names = [document.unit.name, document.document_type.name, document.issuer_name]
    names += [str(document.drafter)] if document.drafter_id else []
    names += [str(document.signer)] if document.signer_id else []
    names += [r.unit.name for r in recipients]
    names += [line.strip() for line in document.external_recipients.splitlines() if line.strip()]
    if document.drafting_department_id:
        names.append(document.drafting_department.name)
    for value in (document.issued_at, document.signed_at, document.due_date):
        if value:
            names.append(timezone.localtime(value).strftime("%d/%m/%Y") if isinstance(
                value, dt.datetime) else value.strftime("%d/%m/%Y"))
    last_comment = max((c.created_at for c in comments), default=None)
    return SearchDocument(
        id=document.pk,
        version=version_of(document.updated_at, last_comment),
        kind="document",
        unit_id=document.unit_id,
        unit_path=document.unit.path,
        unit_name=document.unit.name,
        state=_shown_state(document),
        type=document.document_type.code,
        type_name=document.document_type.name,
        year=timezone.localtime(when).year if when else None,
        date=when,
        number=document.number,
        symbol=document.symbol,
        subject=document.subject,
        metadata="\n".join(n for n in names if n),
        pages=pages,
        page_refs=refs,
        comments=[c.text for c in comments],
        acl=acl.document_tokens(document, [r.unit_id for r in recipients], meeting_reader_ids),
        file_codes=file_codes(document),
    )


def load(ids: Iterable[int]) -> tuple[list[SearchDocument], list[int]]:
    """Build the given documents fresh from the database; also return ids that are gone."""
    ids = [int(i) for i in ids]
    found = {d.pk: d for d in _queryset().filter(pk__in=ids)}
    readers = acl.meeting_readers(found)
    docs = [build(found[i], readers.get(i, ())) for i in ids if i in found]
    return docs, [i for i in ids if i not in found]


def iter_batches(batch_size: int = 200) -> Iterator[list[SearchDocument]]:
    """Every document, then every recommendation and critique reply, for a full rebuild."""
    from . import oversight

    ids = list(Document.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        docs, _gone = load(ids[start:start + batch_size])
        yield docs
    yield from oversight.iter_batches(batch_size)


def _shown_state(document) -> str:
    """The state a hit shows: "recalled" once the issuing unit recalled it (issue #15)."""
    from django.apps import apps

    if apps.is_installed("workflow.exchange"):
        from workflow.exchange.models import Recall

        if Recall.objects.filter(document_id=document.pk).exists():
            return "recalled"
    return document.state

# --- ACL drift --------------------------------------------------------------------------------


def acl_digest(tokens: Iterable[str]) -> str:
    return hashlib.sha1("\n".join(sorted(set(tokens))).encode(), usedforsecurity=False).hexdigest()


def remember_acl(docs: list[SearchDocument]) -> None:
    """Keep the digest of the ACL each document was just indexed with."""
    rows = [IndexedAcl(document_id=d.id, digest=acl_digest(d.acl))
            for d in docs if d.kind == "document"]
    if rows:
        IndexedAcl.objects.bulk_create(rows, update_conflicts=True,
                                       unique_fields=["document_id"], update_fields=["digest"])


def db_acl_digests(batch_size: int = 1000) -> dict[int, str]:
    """Every document's ACL digest as the access rules give it now (a few queries a batch:
    no text, no files), to find documents whose readers changed without a new version."""
    ids = list(Document.objects.order_by("pk").values_list("pk", flat=True))
    out: dict[int, str] = {}
    for start in range(0, len(ids), batch_size):
        chunk = ids[start:start + batch_size]
        recipients: dict[int, list[int]] = defaultdict(list)
        for doc_id, unit_id in DocumentRecipient.objects.filter(
                document_id__in=chunk).values_list("document_id", "unit_id"):
            recipients[doc_id].append(unit_id)
        readers = acl.meeting_readers(chunk)
        for document in Document.objects.filter(pk__in=chunk).select_related("unit"):
            out[document.pk] = acl_digest(acl.document_tokens(
                document, recipients.get(document.pk, []), readers.get(document.pk, ())))
    return out
