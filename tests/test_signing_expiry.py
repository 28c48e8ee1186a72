"""The periodic task that expires two-step signatures and drops their prepared PDFs."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.conf import settings
from django.utils import timezone

from signing import remote, tasks
from signing.models import PendingSignature, PendingStatus
from tests.factories import draft
from workflow.audit.models import AuditEntry

pytestmark = pytest.mark.django_db

FROZEN = dt.datetime(2025, 3, 10, 9, 0, tzinfo=dt.UTC)


def pending(document, user, *, expires_at, status=PendingStatus.WAITING) -> PendingSignature:
    return PendingSignature.objects.create(
        document=document, user=user, prepared_pdf=b"%PDF-1.7 prepared" * 100,
        document_digest=b"d" * 32, reserved_start=10, reserved_end=20, signed_attrs=b"attrs",
        data_to_sign_digest="0" * 64, certificate_pem="", content_hash="h",
        status=status, expires_at=expires_at)


def test_task_is_scheduled():
    entry = settings.CELERY_BEAT_SCHEDULE["signing-expire-pending"]
    assert entry["task"] == "signing.tasks.expire_pending_signatures" == \
        tasks.expire_pending_signatures.name
    assert entry["schedule"] > 0


def test_expires_past_deadline_at_a_frozen_clock(org):
    document = draft(org)
    leader = org.person("province", "leader")
    late = pending(document, leader, expires_at=FROZEN - dt.timedelta(seconds=1))
    on_time = pending(document, leader, expires_at=FROZEN + dt.timedelta(minutes=5))
    done = pending(document, leader, expires_at=FROZEN - dt.timedelta(hours=2),
                   status=PendingStatus.DONE)
    with mock.patch("django.utils.timezone.now", return_value=FROZEN):
        assert timezone.now() == FROZEN
        result = tasks.expire_pending_signatures.apply().get()
    assert result == {"expired": 1, "cleaned": 1}  # "cleaned": the done one kept its bytes
    late.refresh_from_db()
    on_time.refresh_from_db()
    done.refresh_from_db()
    assert late.status == PendingStatus.EXPIRED and bytes(late.prepared_pdf) == b""
    assert on_time.status == PendingStatus.WAITING and bytes(on_time.prepared_pdf)
    assert done.status == PendingStatus.DONE and bytes(done.prepared_pdf) == b""
    entry = AuditEntry.objects.get(action="signing.remote.expired")
    assert entry.object_id == str(document.pk) and entry.comment == str(late.token)
    assert entry.actor is None and entry.at == FROZEN

    # Five minutes later the second one is due too; running again changes nothing else.
    later = FROZEN + dt.timedelta(minutes=6)
    assert remote.purge_expired(now=later) == 1
    assert remote.purge_expired(now=later) == 0
    on_time.refresh_from_db()
    assert on_time.status == PendingStatus.EXPIRED and bytes(on_time.prepared_pdf) == b""
    assert AuditEntry.objects.filter(action="signing.remote.expired").count() == 2
    assert tasks.expire_pending_signatures() == {"expired": 0, "cleaned": 0}
