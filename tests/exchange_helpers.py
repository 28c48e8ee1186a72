"""Shared set-up of the exchange tests (issue #15): national organ codes on the test tree, the
edXML drop folders, an issued document with recipients, and counters of what an import creates.
"""

from __future__ import annotations

import pytest

from tests.factories import advance, draft, pdf_bytes, upload
from workflow.audit.models import AuditEntry
from workflow.documents import services as doc_services
from workflow.exchange.edxml import NS
from workflow.exchange.models import Package
from workflow.incoming.models import IncomingDocument, IncomingFile

CODES = {"province": "000.00.00.H41", "district": "000.00.12.H41", "district2": "000.00.13.H41",
         "commune": "000.12.34.H41", "commune2": "000.12.35.H41"}
Q = f"{{{NS}}}"


@pytest.fixture
def coded(org, settings, tmp_path):
    for key, code in CODES.items():
        org.units[key].organ_id = code
        org.units[key].save(update_fields=["organ_id"])
    settings.EDXML_OUTBOX_DIR = tmp_path / "outbox"
    settings.EDXML_INBOX_DIR = tmp_path / "inbox"
    return org


def issued(org, recipients, *, attachment: bytes | None = None, **extra):
    document = draft(org, "province", **extra)
    doc_services.add_file(document.drafter, document.pk,
                          upload=upload("ke-hoach.pdf", pdf_bytes("Kế hoạch", pages=3)),
                          kind="main")
    if attachment is not None:
        doc_services.add_file(document.drafter, document.pk,
                              upload=upload("phu-luc.pdf", attachment), kind="attachment")
    doc_services.update_document(document.drafter, document.pk, data={},
                                 recipient_unit_ids=[org.units[r].pk for r in recipients])
    return advance(org, document, "issued")


def person(org, unit, role):
    return org.person(unit, role)


def counts() -> tuple:
    return (IncomingDocument.objects.count(), IncomingFile.objects.count(),
            Package.objects.count(), AuditEntry.objects.count())


def settings_outbox():
    from django.conf import settings

    return settings.EDXML_OUTBOX_DIR
