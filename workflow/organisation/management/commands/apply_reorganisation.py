"""Apply a reorganisation plan (JSON, see docs/reorganisation.md), or preview it."""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from workflow.organisation.models import User
from workflow.organisation.reorg import PlanError, apply_plan, load_plan, report_lines


class Command(BaseCommand):
    help = _("Apply a reorganisation plan in one transaction (--dry-run: report only).")

    def add_arguments(self, parser) -> None:
        parser.add_argument("plan", help=_("Path of the plan (JSON)."))
        parser.add_argument("--dry-run", action="store_true",
                            help=_("Report what would change and change nothing."))
        parser.add_argument("--user", help=_("Username recorded as the one who applied it."))
        parser.add_argument("--detail", type=int, default=5,
                            help=_("How many items to list per kind of change."))

    def handle(self, *args, **options) -> None:
        path = Path(options["plan"])
        if not path.is_file():
            raise CommandError(_("No such plan file: %(path)s") % {"path": path})
        actor = None
        if options["user"]:
            actor = User.objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(_("Unknown user %(name)s.") % {"name": options["user"]})
        started = time.perf_counter()
        try:
            plan = load_plan(path.read_bytes())
            report = apply_plan(plan, actor=actor, dry_run=options["dry_run"])
        except PlanError as exc:
            raise CommandError(
                _("The plan was refused; nothing was changed:") + "\n- "
                + "\n- ".join(exc.errors)) from exc
        for line in report_lines(report, detail=options["detail"]):
            self.stdout.write(line)
        self.stdout.write(_("Took %(seconds).2f s.") % {"seconds": time.perf_counter() - started})
