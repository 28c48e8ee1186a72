"""Print the current two-factor code of the demo accounts (never on a production system)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django_otp.oath import TOTP

from config.env import env_bool
from workflow.accounts.twofactor import demo_totp_secret


class Command(BaseCommand):
    help = _("Print the current code of the demo accounts' authenticator (demo only).")

    def handle(self, *args, **options) -> None:
        if env_bool("MTTQ_PRODUCTION", False):
            raise CommandError(_("MTTQ_PRODUCTION is set: there are no demo codes."))
        totp = TOTP(demo_totp_secret())
        self.stdout.write(_("%(code)s (valid for %(seconds)d more seconds)") % {
            "code": f"{totp.token():06d}", "seconds": 30 - int(totp.time - totp.t0) % 30})
