"""Compile gettext catalogues with polib, so no gettext binaries are needed to run."""

from __future__ import annotations

from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _


def catalogues() -> list[Path]:
    """Every ``.po`` under the project's LOCALE_PATHS."""
    found: list[Path] = []
    for base in settings.LOCALE_PATHS:
        found += sorted(Path(base).glob("*/LC_MESSAGES/*.po"))
    return found


def compile_catalogue(po_path: Path, *, force: bool = False) -> bool:
    """Write the ``.mo`` next to ``po_path``; return False when it was already current."""
    mo_path = po_path.with_suffix(".mo")
    if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
        return False
    catalogue = polib.pofile(str(po_path))
    # Fuzzy entries are guesses that nobody checked; msgfmt leaves them out too.
    for entry in catalogue.fuzzy_entries():
        catalogue.remove(entry)
    tmp = mo_path.with_suffix(".mo.tmp")
    catalogue.save_as_mofile(str(tmp))
    # Replace atomically: a running server may be reading the old file.
    tmp.replace(mo_path)
    return True


class Command(BaseCommand):
    help = _("Compile locale/*/LC_MESSAGES/*.po to .mo without the gettext tools.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help=_("Recompile current files."))

    def handle(self, *args, **options) -> None:
        compiled = 0
        for po_path in catalogues():
            try:
                if compile_catalogue(po_path, force=options["force"]):
                    compiled += 1
                    if options["verbosity"] >= 1:
                        self.stdout.write(_("compiled %(path)s") % {"path": po_path})
            except (OSError, ValueError) as exc:
                raise CommandError(
                    _("Cannot compile %(path)s: %(error)s") % {"path": po_path, "error": exc}
                ) from exc
        if options["verbosity"] >= 1:
            self.stdout.write(_("%(count)d catalogue(s) compiled.") % {"count": compiled})
