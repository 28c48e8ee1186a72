from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from workflow.documents.errors import WorkflowError
from workflow.exchange import services


class Command(BaseCommand):
    help = "Import edXML packages (documents or status messages); no file: scan the drop folder."

    def add_arguments(self, parser) -> None:
        parser.add_argument("files", nargs="*")

    def handle(self, *args, **opts) -> None:
        if not opts["files"]:
            self.stdout.write(str(services.scan_inbox()))
            return
        for name in opts["files"]:
            try:
                result = services.import_package(Path(name).read_bytes(), source="command")
            except WorkflowError as exc:
                raise CommandError(f"{name}: {exc.message}") from None
            self.stdout.write(f"{name}: {result.kind}, {len(result.incoming)} new, "
                              f"{len(result.duplicates)} already there, {result.updated} "
                              "status rows updated")
