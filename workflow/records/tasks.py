"""Celery task building a handover's archive package after the handover committed.

Idempotent: a package already built is kept; a redelivered message (acks_late) or a retry
after a database hiccup builds it again from the database. The status (waiting, being
built, ready, failed with the reason) is on the handover page.
"""

from __future__ import annotations

import hashlib
import logging

from celery import shared_task
from django.core.files.base import ContentFile
from django.db import OperationalError, transaction
from django.db.models import F
from django.utils import timezone

log = logging.getLogger(__name__)

RETRYABLE = (OperationalError, ConnectionError, TimeoutError)


@shared_task(name="records.build_package", bind=True, acks_late=True, autoretry_for=RETRYABLE,
             retry_backoff=5, retry_backoff_max=300, max_retries=5)
def build_package(self, handover_id: int) -> str:
    return build_now(int(handover_id))


def build_now(handover_id: int) -> str:
    from . import package
    from .models import Handover, PackageStatus

    with transaction.atomic():
        handover = Handover.objects.select_for_update().filter(pk=handover_id).first()
        if handover is None:
            return "gone"
        if handover.status == PackageStatus.READY and handover.package:
            return "ready"
        Handover.objects.filter(pk=handover.pk).update(
            status=PackageStatus.BUILDING, attempts=F("attempts") + 1)
    try:
        data = package.build(handover)
    except RETRYABLE:
        raise
    except Exception as exc:  # a damaged stored file: say so on the page, keep the handover
        log.exception("archive package of handover %s failed", handover_id)
        Handover.objects.filter(pk=handover_id).update(
            status=PackageStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:500])
        return "failed"
    digest = hashlib.sha256(data).hexdigest()
    with transaction.atomic():
        handover = Handover.objects.select_for_update().get(pk=handover_id)
        if handover.package:
            handover.package.delete(save=False)
        handover.package.save(f"nop-luu-{handover.pk}.zip", ContentFile(data), save=False)
        handover.package_sha256 = digest
        handover.package_size = len(data)
        handover.status = PackageStatus.READY
        handover.error = ""
        handover.built_at = timezone.now()
        handover.save()
    return "ready"
