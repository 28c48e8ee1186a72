"""Celery tasks keeping the search index in step with the database.

Every task reads the database afresh and writes whole documents, so running it
twice, late or out of order gives the same index: a stale task finds a newer
version already indexed and leaves it. Tasks are acknowledged late (a worker
killed mid-task leaves the message on the broker for the next worker) and
retried when the index writer is busy or the database hiccups.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone

from . import indexer
from .backends.embedded import IndexBusy
from .models import ExtractedText, IndexedAcl
from .service import get_backend

log = logging.getLogger(__name__)

RETRYABLE = (IndexBusy, OperationalError, ConnectionError, TimeoutError)
BATCH = 100


def index_ids(ids: list[int]) -> dict:
    """Index (or remove) the given documents now, in this process."""
    docs, gone = indexer.load(ids)
    backend = get_backend()
    written = backend.index(docs)
    indexer.remember_acl(docs)
    if gone:
        backend.delete([f"document:{i}" for i in gone])
        IndexedAcl.objects.filter(document_id__in=gone).delete()
    _queue_ocr(ids)
    return {"written": written, "deleted": len(gone)}


def _queue_ocr(ids: list[int]) -> None:
    pending = list(
        ExtractedText.objects.filter(
            ocr_pending=True, file_version__file__document_id__in=ids,
        ).values_list("file_version_id", flat=True)
    )
    for version_id in pending:
        enqueue_ocr(version_id)


def enqueue_ocr(version_id: int) -> None:
    """Queue OCR of a file version once the current transaction commits.

    OCR takes seconds a page, so it runs in a Celery worker, never in the request that
    uploaded the file: with a broker the task goes to the worker (the quick start,
    ``scripts/run.sh``, runs one on a file queue in var/). Without a broker nobody would
    run it in the background, so it stays pending (the document says so, and
    ``reconcile_index`` queues it again once a worker runs) unless ``SEARCH_OCR_SYNC``
    asks for it in-process after commit (tests, development). Earlier versions started a
    thread here, which outlived requests and test transactions and then wrote to rows
    that had been rolled back.
    """
    def send() -> None:
        if getattr(settings, "SEARCH_OCR_SYNC", False):
            # In-process: the retries follow at once (nobody should wait for back-off here).
            while ocr_once(version_id) is None:
                pass
        elif settings.CELERY_TASK_ALWAYS_EAGER:
            log.info("OCR of file version %s left pending: no Celery broker/worker", version_id)
        else:
            ocr_file_version.delay(version_id)

    transaction.on_commit(send)


def ocr_retry_delay(attempt: int) -> int:
    """Seconds before OCR attempt ``attempt + 1``: 30 s, 1, 2, 4 minutes... at most an hour."""
    return min(3600, 30 * 2 ** max(0, attempt - 1))


@shared_task(bind=True, acks_late=True, autoretry_for=RETRYABLE, retry_backoff=2,
             retry_backoff_max=120, retry_jitter=True, max_retries=30)
def index_document(self, doc_id: int) -> dict:
    return index_ids([int(doc_id)])


@shared_task(bind=True, acks_late=True, autoretry_for=RETRYABLE, retry_backoff=2,
             retry_backoff_max=120, retry_jitter=True, max_retries=30)
def index_batch(self, doc_ids: list[int]) -> dict:
    return index_ids([int(i) for i in doc_ids])


@shared_task(bind=True, acks_late=True, autoretry_for=RETRYABLE, max_retries=30,
             retry_backoff=30, soft_time_limit=3600)
def ocr_file_version(self, version_id: int) -> int:
    """Read pages without a text layer (scanned PDF pages, pictures) with tesseract, re-index.

    A failure (tesseract missing or crashing, a timeout) is retried with growing delays
    (:func:`ocr_retry_delay`) up to ``SEARCH_OCR_MAX_RETRIES`` times; the attempts are
    counted on the row, so a redelivered or re-queued task continues the count. After
    the last one the row is marked failed: the document shows "could not read the text
    in the scan" and a clerk can ask again (:func:`search.ocr.retry_ocr`).
    """
    done = ocr_once(version_id)
    if done is None:
        attempts = ExtractedText.objects.filter(file_version_id=version_id).values_list(
            "ocr_attempts", flat=True).first() or 1
        raise self.retry(countdown=ocr_retry_delay(attempts),
                         exc=RuntimeError(f"OCR of file version {version_id} failed"))
    return done


def ocr_once(version_id: int) -> int | None:
    """One OCR attempt: pages read (0: nothing to do), or None when it should be retried."""
    from . import extract

    record = ExtractedText.objects.select_related("file_version__file").filter(
        file_version_id=version_id, ocr_pending=True).first()
    if record is None:  # done already, or the file is gone
        return 0
    version = record.file_version
    try:
        with version.blob.open("rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        log.warning("OCR skipped: the file of version %s is missing", version_id)
        return 0
    try:
        texts = extract.ocr_pages(data, version.content_type, list(record.ocr_pages),
                                  lang=getattr(settings, "SEARCH_OCR_LANG", "vie"))
    except Exception as exc:
        attempts = record.ocr_attempts + 1
        limit = int(getattr(settings, "SEARCH_OCR_MAX_RETRIES", 4))
        log.warning("OCR attempt %s failed for file version %s: %s", attempts, version_id, exc)
        failed = attempts > limit
        updated = ExtractedText.objects.filter(pk=record.pk, ocr_pending=True).update(
            ocr_attempts=attempts, ocr_pending=not failed, ocr_failed=failed,
            error=f"OCR failed: {exc}"[:300], extracted_at=timezone.now())
        return 0 if failed or not updated else None
    pages = list(record.pages)
    for number, text in texts.items():
        if 0 < number <= len(pages):
            pages[number - 1] = text
    pages, dropped = extract.cap_pages(pages)
    # A conditional update, not save(): OCR takes long, and meanwhile the row may have
    # been deleted with its document or completed by a duplicate task. Then nothing
    # is written and nothing is re-indexed.
    updated = ExtractedText.objects.filter(pk=record.pk, ocr_pending=True).update(
        pages=pages, ocr_pending=False, ocr_failed=False, error="",
        ocr_attempts=record.ocr_attempts + 1,
        truncated_chars=record.truncated_chars + dropped,
        method=f"{record.method}+ocr"[:30], extracted_at=timezone.now())
    if not updated:
        return 0
    # The document version did not change, so force the rewrite with the new text.
    doc_id = version.file.document_id
    docs, _gone = indexer.load([doc_id])
    get_backend().index(docs)
    return len(texts)


@shared_task(bind=True, acks_late=True, autoretry_for=RETRYABLE, max_retries=5,
             retry_backoff=10)
def reconcile_index(self) -> dict:
    """Compare index versions with the database; queue what is missing or stale."""
    db = indexer.db_versions()
    backend = get_backend()
    indexed = backend.versions()
    stale = sorted(int(k.split(":")[1]) for k, v in db.items() if indexed.get(k) != v)
    extra = [k for k in indexed if k.startswith("document:") and k not in db]
    if extra:
        backend.delete(extra)
    # ACL drift: readers changed (memberships, merges, moves) without a new version and
    # the re-index on commit was lost. A document indexed before digests were kept
    # counts as drifted once.
    stored = dict(IndexedAcl.objects.values_list("document_id", "digest"))
    known = set(stale)
    drift = sorted(pk for pk, digest in indexer.db_acl_digests().items()
                   if pk not in known and stored.get(pk) != digest)
    stale += drift
    for start in range(0, len(stale), BATCH):
        index_batch.delay(stale[start:start + BATCH])
    from . import oversight

    oversight_counts = oversight.reconcile(backend, indexed)
    pending_ocr = list(ExtractedText.objects.filter(ocr_pending=True)
                       .values_list("file_version_id", flat=True)[:100])
    for version_id in pending_ocr:
        enqueue_ocr(version_id)
    return {"stale": len(stale) - len(drift), "acl_drift": len(drift), "removed": len(extra),
            "ocr": len(pending_ocr),
            "oversight": oversight_counts}


@shared_task(bind=True, acks_late=True, autoretry_for=RETRYABLE, retry_backoff=2,
             retry_backoff_max=120, retry_jitter=True, max_retries=30)
def index_oversight(self, keys: list[str]) -> dict:
    """Index recommendations and critique replies by ``kind:id`` key."""
    from . import oversight

    return oversight.index_keys([str(k) for k in keys])


def on_document_changed(sender, document_id: int, reason: str = "", **kwargs) -> None:
    """Signal receiver: sent after commit, so the task reads the committed row."""
    from .signals import defer_document, deferring

    if deferring():
        defer_document(document_id)
        return
    try:
        index_document.delay(document_id)
    except Exception:  # the change is committed; the periodic reconcile will catch up
        log.exception("could not queue indexing of document %s", document_id)
