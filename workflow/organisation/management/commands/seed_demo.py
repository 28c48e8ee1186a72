"""Build the Nghệ An demo organisation, people, document types and documents."""

from __future__ import annotations

import base64
import os
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from config.env import env_bool
from workflow.accounts.twofactor import demo_totp_secret
from workflow.organisation.demo import DEMO_PASSWORD, PEOPLE, seed
from workflow.organisation.models import Membership, Role, Unit


def enrol_demo_accounts(demo) -> list:
    """Give the demo people whose role requires two-factor the published demo TOTP key.

    Demo only (never with MTTQ_PRODUCTION): the key is printed and in the README, so the
    demo can be tried with any authenticator app or ``manage.py demo_otp``.
    """
    from workflow.accounts import twofactor

    enrolled = []
    for level, roles in PEOPLE.items():
        for role in roles:
            user = demo.person(level, role)
            if twofactor.is_required(user):
                twofactor.enrol_with_secret(user, demo_totp_secret())
                enrolled.append(user)
    return enrolled


class Command(BaseCommand):
    help = _(
        "Create the demo organisation (Nghệ An: 1 province, 21 districts, 460 communes), "
        "demo accounts, document types and documents. Safe to run again."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--password",
            default=os.environ.get("MTTQ_DEMO_PASSWORD", DEMO_PASSWORD),
            help=_("Password for new demo accounts (default: the shared demo password)."),
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help=_("Seed even though MTTQ_PRODUCTION is set."),
        )
        parser.add_argument(
            "--no-accounts", action="store_true", help=_("Do not print the accounts table.")
        )

    def handle(self, *args, **options) -> None:
        # Demo accounts share a published password: never on a production system by mistake.
        production = env_bool("MTTQ_PRODUCTION", False)
        if production and not options["force"]:
            raise CommandError(
                _("MTTQ_PRODUCTION is set: demo accounts are refused (use --force).")
            )
        started = time.perf_counter()
        demo = seed(password=options["password"])
        elapsed = time.perf_counter() - started
        created = ", ".join(f"{k}: {v}" for k, v in sorted(demo.created.items()) if v)
        self.stdout.write(
            _("Demo data ready in %(seconds).1f s (%(units)d units; created: %(created)s).")
            % {
                "seconds": elapsed,
                "units": Unit.objects.count(),
                "created": created or _("nothing, already complete"),
            }
        )
        if options["verbosity"] >= 2:
            for phase, (wall, cpu) in demo.timings.items():
                self.stdout.write(f"  {phase}: {wall:.2f} s (CPU {cpu:.2f} s)")
        enrolled = [] if production else enrol_demo_accounts(demo)
        report = getattr(demo, "reorganisation_report", None)
        if report:
            from workflow.organisation.reorg import report_lines

            for line in report_lines(report, detail=3):
                self.stdout.write(line)
        if not options["no_accounts"]:
            self.print_accounts(demo)
            if enrolled:
                self.print_two_factor(len(enrolled))

    def print_two_factor(self, count: int) -> None:
        secret = base64.b32encode(demo_totp_secret()).decode().rstrip("=")
        self.stdout.write("")
        self.stdout.write(_(
            "Two-factor authentication: %(count)d demo leaders, clerks and administrators "
            "log in with a code from an authenticator app set up with the key %(secret)s; "
            "or print the current code with: manage.py demo_otp"
        ) % {"count": count, "secret": secret})

    def print_accounts(self, demo) -> None:
        self.stdout.write("")
        self.stdout.write(
            _("Demo accounts (password for all: %(password)s)") % {"password": demo.password}
        )
        rows = []
        for level, roles in PEOPLE.items():
            unit = demo.demo_units[level]
            for role in roles:
                user = demo.person(level, role)
                # Where the person works today (Nam Đàn's people: the province since 2025).
                current = Membership.objects.filter(user=user, role=role, is_active=True) \
                    .select_related("unit").first()
                name = current.unit.name if current else unit.name
                rows.append((user.username, user.full_name, str(Role(role).label), name))
        headers = (_("Username"), _("Full name"), _("Role"), _("Unit"))
        widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(4)]
        line = "  ".join(f"{{:<{w}}}" for w in widths)
        self.stdout.write(line.format(*headers))
        self.stdout.write("  ".join("-" * w for w in widths))
        for row in rows:
            self.stdout.write(line.format(*row))
