"""``manage.py restore SRC``: into an empty installation, then check everything came back."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from workflow.backup import secrets, service
from workflow.backup.archive import BackupError


class Command(BaseCommand):
    help = ("Restore a backup made by `manage.py backup` into this (empty) installation, then "
            "check stored files' SHA-256, verify every issued PDF and rebuild the search index.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("src")
        parser.add_argument("--force", action="store_true",
                            help="Replace the database and files of a non-empty installation.")
        parser.add_argument("--passphrase-file",
                            help="Restore the encrypted keys and secrets with this passphrase.")
        parser.add_argument("--ask-passphrase", action="store_true")
        parser.add_argument("--skip-pdf-verification", action="store_true",
                            help="Do not run the verifier over issued PDFs (reported as not "
                                 "checked).")
        parser.add_argument("--pdf-sample", type=int, metavar="N",
                            help="Verify a random sample of N issued PDFs instead of all "
                                 "(the report says N of how many).")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts) -> None:
        try:
            passphrase = secrets.read_passphrase(opts["passphrase_file"],
                                                 ask=opts["ask_passphrase"])
            report = service.restore_backup(Path(opts["src"]), force=opts["force"],
                                            passphrase=passphrase,
                                            verify_pdfs=not opts["skip_pdf_verification"],
                                            pdf_sample=opts["pdf_sample"])
        except BackupError as exc:
            raise CommandError(exc.message) from None
        if opts["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
        else:
            self._print(report)
        if not report.ok:
            raise CommandError(_("Restored, but the checks above found problems."))

    def _print(self, report: service.RestoreReport) -> None:
        write = self.stdout.write
        write(_("Restored %(archive)s (made %(when)s) in %(s).1f s.")
              % {"archive": report.archive, "when": report.created_at, "s": report.seconds})
        write(_("Database: %(tables)d tables, %(rows)d rows; tables whose count differs from "
                "the backup: %(bad)d.") % {"tables": report.tables, "rows": report.rows,
                                            "bad": len(report.count_mismatches)})
        for line in report.count_mismatches[:20]:
            write("  " + line)
        files = report.files
        write(_("Stored files: %(n)d checked against their SHA-256; %(bad)d differ, "
                "%(missing)d missing.") % {"n": files.checked, "bad": len(files.mismatched),
                                           "missing": len(files.missing)})
        for line in (files.mismatched + files.missing)[:20]:
            write("  " + line)
        if report.pdfs is None:
            write(_("Issued PDFs: not verified (--skip-pdf-verification)."))
        else:
            pdfs = report.pdfs
            write(_("Issued PDFs verified: %(n)d of %(total)d — PASSED %(p)d, FAILED %(f)d, "
                    "INDETERMINATE %(i)d.") % {"n": pdfs.checked, "total": pdfs.total,
                                               "p": pdfs.verdicts["PASSED"],
                                               "f": pdfs.verdicts["FAILED"],
                                               "i": pdfs.verdicts["INDETERMINATE"]})
            for line in pdfs.not_passed[:20]:
                write("  " + line)
        index = report.index
        write(_("Search index rebuilt: %(n)d entries for %(expected)d items; %(missing)d "
                "missing, %(extra)d extra.") % {"n": index.indexed, "expected": index.expected,
                                                "missing": index.missing, "extra": index.extra})
        for path in report.secrets:
            write(_("Secret restored: %(path)s") % {"path": path})
        for warning in report.warnings:
            write(_("Warning: %(text)s") % {"text": warning})
