"""Load the Decree 30 document types and default review rules (idempotent)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from workflow.documents.document_types import ensure_document_types


class Command(BaseCommand):
    help = "Create the Decree 30 document types and default review rules that are missing."

    def handle(self, *args, **options) -> None:
        types, rules = ensure_document_types()
        self.stdout.write(f"document types created: {types}, review rules created: {rules}")
