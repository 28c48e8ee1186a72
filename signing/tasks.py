"""Periodic signing work (Celery beat)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="signing.tasks.expire_pending_signatures")
def expire_pending_signatures() -> dict[str, int]:
    """Expire two-step signatures past their deadline and drop the PDF bytes they hold."""
    from .remote import drop_stale_bytes, purge_expired

    return {"expired": purge_expired(), "cleaned": drop_stale_bytes()}


@shared_task(name="signing.tasks.run_batch_issue", acks_late=True)
def run_batch_issue(run_id: int) -> dict[str, int]:
    """Issue the documents of one batch; each result is written as soon as it is known."""
    from .batch import process_batch

    return process_batch(int(run_id))


@shared_task(name="signing.tasks.scan_stored_files", acks_late=True,
             autoretry_for=(OSError,), retry_backoff=60, max_retries=3)
def scan_stored_files() -> dict[str, int]:
    """Hash every stored PDF and file version; mismatches are audited and mailed to the
    administrators once each (idempotent: a rerun reports nothing new)."""
    from django.conf import settings

    from .integrity import scan_stored_files as scan

    return scan(chunk=settings.SIGNING_INTEGRITY_SCAN_CHUNK).as_dict()
