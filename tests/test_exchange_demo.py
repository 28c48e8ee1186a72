"""The demo holds a recalled and a replaced document at xã Kim Liên; units have codes."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from workflow.exchange import demo
from workflow.exchange.models import Recall, Replacement
from workflow.incoming.models import IncomingDocument
from workflow.organisation.models import Unit, User


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_demo_recall_and_replacement_idempotent():
    call_command("seed_demo", stdout=io.StringIO())
    unit = User.objects.get(username="xa.vanthu").memberships.first().unit
    assert unit.organ_id == demo.CODES["xa"]
    assert Unit.objects.filter(organ_id=demo.CODES["tinh"]).count() == 1
    assert IncomingDocument.objects.filter(unit=unit, state="recalled",
                                           origin__subject=demo.RECALLED).exists()
    link = Replacement.objects.get(old__subject=demo.REPLACED)
    assert link.replaced_at is not None
    counts = (Recall.objects.count(), Replacement.objects.count(),
              IncomingDocument.objects.count())
    call_command("seed_demo", stdout=io.StringIO())
    assert (Recall.objects.count(), Replacement.objects.count(),
            IncomingDocument.objects.count()) == counts
