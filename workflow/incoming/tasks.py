"""Celery tasks of incoming documents: deliver, verify, reconcile, remind.

All are idempotent (they read the database afresh and skip what is done),
acknowledged late (a killed worker leaves the message for the next one) and
retried on database hiccups.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

log = logging.getLogger(__name__)

RETRYABLE = (OperationalError, ConnectionError, TimeoutError, OSError)


@shared_task(name="incoming.deliver", bind=True, acks_late=True, autoretry_for=RETRYABLE,
             retry_backoff=2, retry_backoff_max=120, retry_jitter=True, max_retries=30)
def deliver_document(self, document_id: int) -> dict:
    from . import delivery, services

    services.complete_replied(int(document_id))
    return delivery.deliver(int(document_id))


@shared_task(name="incoming.verify", bind=True, acks_late=True, autoretry_for=RETRYABLE,
             retry_backoff=2, retry_backoff_max=120, max_retries=10)
def verify_file(self, file_id: int) -> str:
    from . import delivery

    return delivery.verify(int(file_id))


@shared_task(name="incoming.ocr", bind=True, acks_late=True, autoretry_for=RETRYABLE,
             max_retries=3, retry_backoff=30, soft_time_limit=3600)
def ocr_file(self, file_id: int) -> int:
    from . import intake

    return intake.ocr(int(file_id))


@shared_task(name="incoming.reconcile", bind=True, acks_late=True, autoretry_for=RETRYABLE,
             max_retries=5, retry_backoff=10)
def reconcile_deliveries(self) -> dict:
    """The safety net: finish deliveries and checks a lost task left undone."""
    from . import delivery
    from .models import IncomingFile, Verdict

    missing = delivery.missing_deliveries()
    for pk in missing:
        deliver_document.delay(pk)
    pending = list(IncomingFile.objects.filter(verdict=Verdict.PENDING)
                   .values_list("pk", flat=True)[:500])
    for pk in pending:
        verify_file.delay(pk)
    return {"documents": len(missing), "files": len(pending)}


@shared_task(name="incoming.remind", bind=True, acks_late=True, autoretry_for=RETRYABLE,
             max_retries=5, retry_backoff=10)
def send_reminders(self) -> int:
    from . import services

    return services.send_reminders()
