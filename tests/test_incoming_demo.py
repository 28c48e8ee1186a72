"""The demo: incoming documents in every state; xa.vanthu sees a non-empty register at once."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from workflow.incoming.models import Delivery, IncomingDocument
from workflow.organisation.demo import DEMO_PASSWORD
from workflow.organisation.models import User


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_demo_incoming_in_every_state_and_idempotent():
    call_command("seed_demo", stdout=io.StringIO())
    clerk = User.objects.get(username="xa.vanthu")
    unit = clerk.memberships.first().unit
    states = set(IncomingDocument.objects.filter(unit=unit).values_list("state", flat=True))
    assert states >= {"received", "registered", "presented", "assigned", "in_handling", "done",
                      "filed", "returned"}
    assert IncomingDocument.objects.filter(unit=unit, source="paper").exists()
    overdue = IncomingDocument.objects.filter(unit=unit, state="assigned",
                                              deadline__lt="2100-01-01",
                                              priority="urgent").get()
    assert overdue.deadline is not None
    answered = IncomingDocument.objects.get(unit=unit, reply__state="issued")
    assert answered.state == "done"
    # Delivered from the province to every commune of the demo district (in 2024, before
    # the 2025 reorganisation merged the district and most of its communes).
    to_kim_lien = Delivery.objects.filter(document__unit__parent__isnull=True,
                                          unit=unit).values_list("document", flat=True)
    assert Delivery.objects.filter(document__in=list(to_kim_lien)) \
        .values("unit").distinct().count() > 1
    # Signed PDFs arrived and were checked.
    assert answered.attachments.filter(file__verdict="PASSED").exists()
    before = IncomingDocument.objects.count()
    call_command("seed_demo", stdout=io.StringIO())
    assert IncomingDocument.objects.count() == before

    client = Client()
    assert client.login(username="xa.vanthu", password=DEMO_PASSWORD)
    page = client.get(reverse("incoming:list")).content.decode()
    assert 'id="incoming-table"' in page
    province = Client()
    assert province.login(username="tinh.chuyenvien", password=DEMO_PASSWORD)
    html = province.get(reverse("documents:detail", args=[answered.origin_id])).content.decode()
    assert "Answered by" in html
