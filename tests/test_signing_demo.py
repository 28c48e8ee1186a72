"""The demo run command's signing: DEMO PKI provisioned by a command, nothing served."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from signing import pki
from signing.models import PdfStage, SealProfile, SignatureProfile, SignedPdf, SigningKey
from signing.validation import verify_pdf
from tests.factories import advance, draft
from tests.signing_fixtures import check_with_tools
from workflow.documents import services

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def test_provision_demo_signing_works_offline(org, settings, tmp_path):
    settings.SIGNING_PKI_DIR = str(tmp_path / "pki")
    settings.SIGNING_DEMO_PKI = True
    settings.SIGNING_TRUST_ROOTS = []
    settings.SIGNING_TSA_URL = ""
    leader = org.person("province", "leader")
    call_command("provision_demo_signing", "--users", leader.username,
                 org.person("district", "leader").username)
    assert SigningKey.objects.count() == 4  # two leaders, two seals
    root = (tmp_path / "pki" / "demo-root-UNTRUSTED.pem").read_bytes()
    key_id = SignatureProfile.objects.get(user=leader).key_id
    # Again, plus one more leader: the others keep their keys and the CA stays the same.
    call_command("provision_demo_signing", "--users", leader.username,
                 org.person("district", "leader").username, org.person("commune", "leader")
                 .username)
    assert SigningKey.objects.count() == 6
    assert (tmp_path / "pki" / "demo-root-UNTRUSTED.pem").read_bytes() == root
    assert SignatureProfile.objects.get(user=leader).key_id == key_id
    assert SealProfile.objects.get(unit=org.units["province"]).image
    call_command("provision_demo_signing", "--users", leader.username)
    assert SigningKey.objects.count() == 6

    # Nothing is served: the TSA answers in-process and CRLs are made in-process.
    assert pki.load(tmp_path / "pki") is not None
    doc = draft(org, type_code="ke-hoach", subject="Kế hoạch năm 2026",
                body="<p>Nội dung kế hoạch.</p>")
    doc = advance(org, doc, "approved")
    services.perform(leader, doc.pk, "sign")
    doc = services.perform(org.person("province", "clerk"), doc.pk, "issue")
    data = SignedPdf.objects.get(document=doc, stage=PdfStage.ISSUED).read()
    report = verify_pdf(data)
    assert report.ok, report.as_dict()
    person, seal, stamp = report.signatures
    assert person.trusted and person.modification == "FORM_FILLING"
    assert person.level in ("B-LT", "B-LTA") and seal.level == "B-LTA"
    path = tmp_path / "demo.pdf"
    path.write_bytes(data)
    check_with_tools(path, 2)
