"""Create the demo meetings (a published province meeting with papers). Safe to run again."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from workflow.meetings.demo import published_demo_meeting, seed_meetings
from workflow.organisation.models import Membership, Role


def _demo_unit(username: str):
    membership = Membership.objects.filter(user__username=username, role=Role.LEADER,
                                           is_active=True).select_related("unit").first()
    return membership.unit if membership else None


class Command(BaseCommand):
    help = _("Create the demo meetings: a published province meeting with agenda and papers.")

    def handle(self, *args, **options) -> None:
        province = _demo_unit("tinh.lanhdao")
        if province is None:
            raise CommandError(_("Run seed_demo first: the demo province does not exist."))
        created = seed_meetings(province, _demo_unit("huyen.lanhdao"),
                                _demo_unit("xa.lanhdao"))
        meeting = published_demo_meeting()
        self.stdout.write(_("Demo meetings created: %(n)d.") % {"n": created})
        if meeting is not None:
            self.stdout.write(_("Meeting room: /meetings/%(pk)d/room/") % {"pk": meeting.pk})
