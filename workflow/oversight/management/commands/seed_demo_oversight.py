"""Demo data for supervision, critique and recommendations (safe to run again)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from config.env import env_bool


class Command(BaseCommand):
    help = _("Create demo critique and supervision cases in every state, recommendations and "
             "periodic report filings. Safe to run again.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true",
                            help=_("Seed even though MTTQ_PRODUCTION is set."))

    def handle(self, *args, **options) -> None:
        if env_bool("MTTQ_PRODUCTION", False) and not options["force"]:
            raise CommandError(_("MTTQ_PRODUCTION is set: demo data is refused (use --force)."))
        # The core seed is idempotent and runs every app's extend_demo hook, ours included;
        # it also guarantees the demo units and people the cases need.
        from workflow.organisation.demo import seed

        demo = seed()
        created = ", ".join(f"{k}: {v}" for k, v in sorted(demo.created.items()) if v)
        self.stdout.write(_("Oversight demo data ready (created: %(created)s).")
                          % {"created": created or _("nothing, already complete")})
