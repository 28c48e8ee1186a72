"""Celery: the watched drop folder of edXML packages (beat, ``EDXML_SCAN_SECONDS``)."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError


@shared_task(name="exchange.scan_inbox", bind=True, acks_late=True,
             autoretry_for=(OperationalError, ConnectionError), retry_backoff=2,
             max_retries=10)
def scan_inbox(self) -> dict:
    # Idempotent: processed files leave the folder, and re-importing a package that is
    # in the database already creates nothing.
    from .services import scan_inbox as scan

    return scan()
