"""Builders for incoming-document tests: issue a document to recipient units."""

from __future__ import annotations

from tests.factories import advance, draft
from workflow.documents import services
from workflow.incoming.models import IncomingDocument
from workflow.organisation.models import Role


def issue_to(org, recipients: list[str], unit: str = "province", **extra):
    """Draft in ``unit``, name the recipients, drive it to issued (delivery runs on commit)."""
    document = draft(org, unit, **extra)
    services.update_document(document.drafter, document.pk, data={},
                             recipient_unit_ids=[org.units[r].pk for r in recipients])
    return advance(org, document, "issued")


def arrived(org, document, unit: str) -> IncomingDocument:
    return IncomingDocument.objects.get(delivery__document=document, unit=org.units[unit],
                                        state__in=["received", "registered", "presented",
                                                   "assigned", "in_handling", "done", "filed"])


def clerk(org, unit):
    return org.person(unit, Role.CLERK)
