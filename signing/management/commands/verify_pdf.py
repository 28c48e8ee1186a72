"""python manage.py verify_pdf FILE [--json] [--fetch]"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from signing.validation import verify_pdf


class Command(BaseCommand):
    help = "Verify every signature and document timestamp in a PDF."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        parser.add_argument("--fetch", action="store_true",
                            help="fetch missing revocation data from the network")

    def handle(self, *args, **options):
        try:
            data = Path(options["file"]).read_bytes()
        except OSError as exc:
            raise CommandError(_("Cannot read the file: %(error)s") % {"error": exc}) from exc
        report = verify_pdf(data, fetch=options["fetch"])
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        else:
            self.stdout.write(report.message)
            for sig in report.signatures:
                self.stdout.write(f"- {sig.field} [{sig.kind}] {sig.signer}")
                self.stdout.write(f"  {sig.certificate}")
                self.stdout.write(
                    f"  signing time {sig.signing_time or '-'}; timestamp "
                    f"{sig.timestamp_time or '-'} ({sig.timestamp_authority or '-'})")
                self.stdout.write(
                    f"  intact={sig.intact} valid={sig.valid} trusted={sig.trusted} "
                    f"revocation={sig.revocation} level={sig.level} "
                    f"modification={sig.modification}")
                self.stdout.write(f"  {sig.verdict}")
        if not report.ok:
            raise SystemExit(1)
