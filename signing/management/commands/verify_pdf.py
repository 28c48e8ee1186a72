"""python manage.py verify_pdf FILE [--json] [--fetch] [--trust-root ROOT.pem ...]

Exit codes (docs/signing.md): 0 every signature PASSED, 3 INDETERMINATE, 4 FAILED;
1 the file or a trust root cannot be read, 2 a usage error.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from signing.trust import load_certificates
from signing.validation import verify_pdf
from signing.verdicts import (
    TrustRootError,
    local_time,
    modification_label,
    revocation_label,
    verdict_label,
)


class Command(BaseCommand):
    help = "Verify every signature and document timestamp in a PDF."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        parser.add_argument("--fetch", action="store_true",
                            help="fetch missing revocation data (OCSP, CRL) from the network")
        parser.add_argument("--trust-root", action="append", default=[], metavar="FILE",
                            help="also trust this root certificate (PEM or DER); repeatable")

    def handle(self, *args, **options):
        try:
            data = Path(options["file"]).read_bytes()
        except OSError as exc:
            raise CommandError(_("Cannot read the file: %(error)s") % {"error": exc}) from exc
        roots = []
        for name in options["trust_root"]:
            try:
                roots += load_certificates(Path(name).read_bytes())
            except (OSError, TrustRootError) as exc:
                raise CommandError(_("Cannot use the trust root %(file)s: %(error)s")
                                   % {"file": name, "error": exc}) from exc
        report = verify_pdf(data, fetch=options["fetch"], extra_roots=roots)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        else:
            self.stdout.write(f"{report.verdict} ({verdict_label(report.verdict)}): "
                              f"{report.message}")
            for sig in report.signatures:
                self.stdout.write(f"- {sig.field} [{sig.kind}] {sig.signer}: {sig.verdict}"
                                  + (f"/{sig.sub_indication}" if sig.sub_indication else ""))
                self.stdout.write(f"  {sig.reason}")
                self.stdout.write(f"  {sig.certificate}")
                self.stdout.write(
                    f"  signing time {local_time(sig.signing_time)}; timestamp "
                    f"{local_time(sig.timestamp_time)} ({sig.timestamp_authority or '-'})")
                self.stdout.write(
                    f"  intact={sig.intact} valid={sig.valid} trusted={sig.trusted} "
                    f"anchor={sig.trust_anchor or '-'} ({sig.trust_anchor_kind or '-'}) "
                    f"level={sig.level} changes={modification_label(sig.modification)}")
                self.stdout.write(f"  revocation: {revocation_label(sig.revocation)}")
                for evidence in sig.revocation_evidence:
                    self.stdout.write(f"    {evidence.describe()}")
        if report.exit_code:
            raise SystemExit(report.exit_code)
