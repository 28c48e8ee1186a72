"""The overdue task at a frozen clock: what is flagged, who is told, and only once."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from tests.oversight_helpers import critique_to
from workflow.notifications.models import Notification
from workflow.organisation.models import Role
from workflow.oversight import tasks
from workflow.oversight.models import Recommendation, RecStatus
from workflow.oversight.services.deadlines import flag_overdue
from workflow.oversight.services.recommendations import add_recommendation, recommendation_action


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(8)))


@pytest.mark.django_db
def test_critique_reply_overdue_at_frozen_clock(org, capture):
    case = critique_to(org, capture, "awaiting_reply")  # sent 2025-04-01, due 2025-05-01
    owner = case.owner
    owner.email = "owner@example.org"
    owner.save()
    # Three days before: a reminder, nothing overdue.
    with capture(execute=True):
        counts = flag_overdue(now=at(dt.date(2025, 4, 28)))
    assert counts["critique_reminders"] == 1 and counts["critique_overdue"] == 0
    # On the due date it is not yet late.
    assert flag_overdue(now=at(dt.date(2025, 5, 1)))["critique_overdue"] == 0
    with capture(execute=True):
        counts = flag_overdue(now=at(dt.date(2025, 5, 2)))
    assert counts["critique_overdue"] == 1
    notices = Notification.objects.filter(recipient=owner, kind="deadline")
    assert notices.count() == 2
    assert any(f"oversight:critique:{case.pk}:overdue" == n.dedup_key for n in notices)
    assert len(mail.outbox) == 2 and mail.outbox[-1].to == ["owner@example.org"]
    # Running again tells nobody twice.
    with capture(execute=True):
        assert flag_overdue(now=at(dt.date(2025, 5, 3)))["critique_overdue"] == 0
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_recommendations_overdue_and_escalation_notice(org, settings):
    settings.OVERSIGHT_ESCALATE_NOTICE_AFTER_DAYS = 10
    spec = org.person("commune", Role.SPECIALIST)
    late_forward = add_recommendation(
        spec, unit=org.units["commune"], source="voter_meeting", topic="Điện chiếu sáng",
        addressee="UBND xã", raised_on="2025-01-01")  # forward by 2025-01-16
    resolved = add_recommendation(
        spec, unit=org.units["commune"], source="dialogue", topic="Nước sạch",
        addressee="UBND xã", raised_on="2025-01-01", due_date="2025-02-01")
    recommendation_action(spec, resolved.pk, "forward", on="2025-01-05")
    recommendation_action(spec, resolved.pk, "resolve", on="2025-01-20")
    forwarded = add_recommendation(
        spec, unit=org.units["commune"], source="dialogue", topic="Đường làng",
        addressee="UBND xã", raised_on="2025-01-01", due_date="2025-02-01")
    recommendation_action(spec, forwarded.pk, "forward", on="2025-01-05")

    # The clock is frozen through django.utils.timezone.now, as the beat task sees it.
    with mock.patch("django.utils.timezone.now", return_value=at(dt.date(2025, 1, 20))):
        counts = tasks.flag_overdue()
    assert counts["recommendations_overdue"] == 1
    assert Recommendation.objects.get(pk=late_forward.pk).status == RecStatus.OVERDUE
    assert Recommendation.objects.get(pk=forwarded.pk).status == RecStatus.FORWARDED
    assert Recommendation.objects.get(pk=resolved.pk).status == RecStatus.RESOLVED
    with mock.patch("django.utils.timezone.now", return_value=at(dt.date(2025, 2, 5))):
        counts = tasks.flag_overdue()
    assert counts["recommendations_overdue"] == 1  # the forwarded one, past 2025-02-01
    # Ten days past its forwarding deadline (16/01) the first one reaches the parent
    # unit's leaders; the second, 4 days late, does not yet.
    district_leader = org.person("district", Role.LEADER)
    assert counts["escalation_notices"] == 1
    assert Notification.objects.filter(
        recipient=district_leader, dedup_key=f"oversight:rec:{late_forward.pk}:escalate")
    with mock.patch("django.utils.timezone.now", return_value=at(dt.date(2025, 2, 16))):
        counts = tasks.flag_overdue()
    assert counts["escalation_notices"] == 1  # only the second one: nobody is told twice
    assert Notification.objects.filter(
        recipient=district_leader, dedup_key=f"oversight:rec:{forwarded.pk}:escalate")
    with mock.patch("django.utils.timezone.now", return_value=at(dt.date(2025, 2, 17))):
        assert tasks.flag_overdue()["escalation_notices"] == 0
    # The owner escalates and then records the answer: the item leaves "overdue".
    recommendation_action(spec, forwarded.pk, "escalate", on="2025-02-16")
    commune_parent_leader = org.person("district", Role.LEADER)
    assert Notification.objects.filter(
        recipient=commune_parent_leader,
        dedup_key=f"oversight:rec:{forwarded.pk}:escalate").count() == 1
    recommendation_action(spec, late_forward.pk, "escalate", on="2025-02-16")
    recommendation_action(spec, late_forward.pk, "forward", on="2025-02-17")
    assert Recommendation.objects.get(pk=late_forward.pk).status == RecStatus.FORWARDED


@pytest.mark.django_db
def test_rules_are_configuration(org, capture, settings):
    settings.OVERSIGHT_REMIND_BEFORE_DAYS = 0
    critique_to(org, capture, "awaiting_reply")
    assert flag_overdue(now=at(dt.date(2025, 4, 30)))["critique_reminders"] == 0


def test_beat_schedule_is_registered():
    entry = settings.CELERY_BEAT_SCHEDULE["oversight-flag-overdue"]
    assert entry["task"] == "oversight.flag_overdue"
