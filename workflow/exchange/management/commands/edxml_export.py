from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from workflow.documents.errors import WorkflowError
from workflow.documents.models import Document
from workflow.exchange import services


class Command(BaseCommand):
    help = "Write the edXML package of an issued document (by id or number and symbol)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("document", help="document id or number and symbol")
        parser.add_argument("--to", action="append", default=[],
                            help="addressee: national code of a unit, or CODE|Name (repeat)")
        parser.add_argument("-o", "--output", help="file to write (default: stdout)")

    def handle(self, *args, **opts) -> None:
        ref = opts["document"]
        qs = Document.objects.filter(pk=int(ref)) if ref.isdigit() else \
            Document.objects.filter(symbol=ref)
        document = qs.first()
        if document is None:
            raise CommandError(f"no document {ref}")
        try:
            data, package = services.export_document(None, document, to=opts["to"],
                                                     source="command")
        except WorkflowError as exc:
            raise CommandError(str(exc.message)) from None
        if opts["output"]:
            Path(opts["output"]).write_bytes(data)
            self.stderr.write(f"package {package.package_id}: {len(data)} bytes")
        else:
            self.stdout.buffer.write(data) if hasattr(self.stdout, "buffer") else \
                self.stdout.write(data.decode())
