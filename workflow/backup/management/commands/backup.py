"""``manage.py backup DEST``: database, stored files and settings in one archive."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from workflow.backup import secrets, service
from workflow.backup.archive import BackupError


class Command(BaseCommand):
    help = ("Back up the database, every stored file and the settings needed to restore into "
            "DEST (a folder, or a path ending in .tar). Keys and secrets only when asked, "
            "encrypted with a passphrase.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("dest")
        parser.add_argument("--include-secrets", action="store_true",
                            help="Also SECRET_KEY's file and the signing KEK file, encrypted.")
        parser.add_argument("--include-keys", action="store_true",
                            help="Also PKCS#12 key files and the DEMO PKI's keys, encrypted.")
        parser.add_argument("--passphrase-file",
                            help="File whose first line is the passphrase (mode 600).")
        parser.add_argument("--ask-passphrase", action="store_true",
                            help="Type the passphrase at a prompt.")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts) -> None:
        wants = opts["include_secrets"] or opts["include_keys"]
        try:
            passphrase = secrets.read_passphrase(opts["passphrase_file"],
                                                 ask=wants and opts["ask_passphrase"],
                                                 confirm=True) if wants else None
            result = service.create_backup(Path(opts["dest"]),
                                           include_secrets=opts["include_secrets"],
                                           include_keys=opts["include_keys"],
                                           passphrase=passphrase)
        except BackupError as exc:
            raise CommandError(exc.message) from None
        if opts["json"]:
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
            return
        self.stdout.write(_("Backup written to %(path)s: %(mb).1f MB in %(s).1f s; %(tables)d "
                            "tables, %(rows)d rows, %(files)d stored files.")
                          % {"path": result.path, "mb": result.size / 2 ** 20,
                             "s": result.seconds, "tables": result.tables, "rows": result.rows,
                             "files": result.media_files})
        if result.secrets:
            self.stdout.write(_("Encrypted with the passphrase: %(names)s")
                              % {"names": ", ".join(result.secrets)})
        if result.skipped:
            self.stdout.write(_("%(n)d symbolic links, special files or files with names the "
                                "application never writes under MEDIA_ROOT were left out.")
                              % {"n": result.skipped})
