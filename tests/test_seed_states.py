"""``seed_demo`` on an empty database: without the DEMO PKI, and refused in production."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from signing.models import PdfStage, SignedPdf, SigningKey
from tests.test_seed import demo_documents, seed
from workflow.documents.models import State
from workflow.organisation.models import Unit


@pytest.mark.django_db
def test_seed_without_demo_pki_stops_at_approved_then_completes(settings):
    settings.SIGNING_DEMO_PKI = False
    seed()
    assert not SigningKey.objects.exists()
    assert not demo_documents().filter(state__in=[State.SIGNED, State.ISSUED,
                                                  State.ARCHIVED]).exists()
    # Keys become available later: the next seed signs and issues what was left approved.
    settings.SIGNING_DEMO_PKI = True
    seed()
    assert demo_documents().filter(state=State.SIGNED).count() == 1
    assert SignedPdf.objects.filter(stage=PdfStage.ISSUED,
                                    document__in=demo_documents()).count() == 4


@pytest.mark.django_db
def test_seed_refuses_production(monkeypatch):
    monkeypatch.setenv("MTTQ_PRODUCTION", "1")
    with pytest.raises(CommandError):
        call_command("seed_demo", stdout=io.StringIO())
    assert not Unit.objects.exists()
