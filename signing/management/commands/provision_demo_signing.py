"""python manage.py provision_demo_signing: DEMO keys so signing works out of the box."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from signing import conf
from signing.demo import provision_missing
from workflow.organisation.models import Membership, Role

DEMO_LEADERS = ["tinh.lanhdao", "huyen.lanhdao", "xa.lanhdao"]


class Command(BaseCommand):
    help = _("Create the local DEMO PKI and give the demo leaders signing keys and their units "
             "seal keys (untrusted, for the demo only). Safe to run again.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--users", nargs="*", default=DEMO_LEADERS,
                            help=_("Leaders to provision (default: the demo leaders)."))

    def handle(self, *args, **options) -> None:
        if not conf.demo_enabled():
            raise CommandError(_("The DEMO PKI is disabled (MTTQ_PRODUCTION or "
                                 "SIGNING_DEMO_PKI=False); configure real keys instead."))
        users = list(get_user_model().objects.filter(username__in=options["users"]))
        if not users:
            self.stdout.write(_("No demo leader found: run seed_demo first."))
            return
        # Each leader's units get a seal: the unit whose clerk issues what they sign.
        units = {m.unit for m in Membership.objects.filter(user__in=users, role=Role.LEADER)
                 .select_related("unit")}
        with transaction.atomic():
            people_count, unit_count = provision_missing(
                conf.pki_dir(), people=users, units=sorted(units, key=lambda u: u.pk))
        self.stdout.write(
            _("DEMO signing keys ready in %(dir)s (new: %(people)d people, %(units)d seals). "
              "They are UNTRUSTED outside this demo.")
            % {"dir": conf.pki_dir(), "people": people_count, "units": unit_count})
