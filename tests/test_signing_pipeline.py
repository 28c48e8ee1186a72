"""Signing pipeline end to end, with the session DEMO PKI served on loopback."""

from __future__ import annotations

import random

import pytest

from signing import pki
from signing.models import PdfStage, SignedPdf
from signing.services import SigningRefused
from signing.validation import verify_pdf
from tests.factories import advance, draft
from tests.signing_fixtures import check_with_tools
from workflow.audit.models import AuditEntry
from workflow.documents import services
from workflow.documents.errors import Conflict
from workflow.documents.models import Document, RegisterEntry

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=False)]


@pytest.fixture
def env(signing_env):
    return signing_env


def approved(org, **extra) -> Document:
    body = "<p>Căn cứ Điều lệ Mặt trận Tổ quốc Việt Nam;</p><ul><li><b>Một</b></li></ul>"
    doc = draft(org, type_code="ke-hoach", subject="Tổ chức Ngày hội Đại đoàn kết", body=body,
                **extra)
    return advance(org, doc, "approved")


def test_sign_and_issue_end_to_end(env, tmp_path):
    org, leader, clerk = env["org"], env["leader"], env["clerk"]
    doc = approved(org)
    doc = services.perform(leader, doc.pk, "sign", expected_state="approved")
    assert doc.state == "signed"
    rendered = SignedPdf.objects.get(document=doc, stage=PdfStage.RENDERED)
    assert rendered.content_hash == doc.approved_hash and rendered.page_count >= 1
    doc = services.perform(clerk, doc.pk, "issue", expected_state="signed")
    assert doc.state == "issued" and doc.symbol.startswith("01/KH-")
    issued = SignedPdf.objects.get(document=doc, stage=PdfStage.ISSUED)
    data = issued.read()
    report = verify_pdf(data)
    assert report.ok, report.as_dict()
    person, seal, stamp = report.signatures
    assert person.field == "NguoiKy" and person.signer == "Nguyễn Thị Hằng"
    assert person.intact and person.valid and person.trusted
    assert person.modification == "FORM_FILLING"
    assert person.timestamp_time and person.level in ("B-LT", "B-LTA")
    assert seal.field == "DauCoQuan" and seal.level == "B-LTA"
    assert stamp.kind == "timestamp" and stamp.valid
    path = tmp_path / "issued.pdf"
    path.write_bytes(data)
    check_with_tools(path, 2)
    # The number and date are in the PDF's form fields.
    from pypdf import PdfReader

    fields = PdfReader(path).get_fields()
    assert fields["so_ky_hieu"]["/V"] == doc.symbol
    assert "ngày" in fields["ngay_ban_hanh"]["/V"]
    # Any flipped byte in the signed ranges is detected.
    rng = random.Random(7)
    for position in rng.sample(range(20, len(data) - 20), 12):
        damaged = bytearray(data)
        damaged[position] ^= 0x01
        assert not verify_pdf(bytes(damaged)).ok, position


def test_second_click_is_refused(env):
    org, leader = env["org"], env["leader"]
    doc = approved(org)
    services.perform(leader, doc.pk, "sign", expected_state="approved")
    with pytest.raises(Conflict):
        services.perform(leader, doc.pk, "sign", expected_state="approved")
    assert SignedPdf.objects.filter(document=doc, stage=PdfStage.SIGNED).count() == 1


def test_changed_since_approval_is_refused(env):
    org, leader = env["org"], env["leader"]
    doc = approved(org)
    Document.objects.filter(pk=doc.pk).update(body="<p>Đã sửa</p>")
    with pytest.raises(Conflict):
        services.perform(leader, doc.pk, "sign")
    assert Document.objects.get(pk=doc.pk).state == "approved"
    assert AuditEntry.objects.filter(action="signing.sign.refused", object_id=str(doc.pk)).exists()


@pytest.mark.parametrize("label", ["revoked", "expired", "nosign", "stranger"])
def test_bad_certificates_are_refused(env, label):
    from signing.demo import attach_key

    org, leader = env["org"], env["leader"]
    attach_key(leader, env["demo"], label)
    doc = approved(org)
    with pytest.raises(SigningRefused) as refused:
        services.perform(leader, doc.pk, "sign")
    if label == "revoked":
        assert "revoked" in str(refused.value) or "thu hồi" in str(refused.value)
    assert Document.objects.get(pk=doc.pk).state == "approved"
    assert not SignedPdf.objects.filter(document=doc, stage=PdfStage.SIGNED).exists()
    assert AuditEntry.objects.filter(action="signing.sign.refused", object_id=str(doc.pk)).exists()


def test_tsa_down_signs_nothing(env, settings):
    org, leader = env["org"], env["leader"]
    doc = approved(org)
    settings.SIGNING_TSA_URL = f"http://127.0.0.1:{pki.free_port()}/tsa"
    with pytest.raises(SigningRefused):
        services.perform(leader, doc.pk, "sign")
    assert Document.objects.get(pk=doc.pk).state == "approved"
    assert not SignedPdf.objects.filter(document=doc, stage=PdfStage.SIGNED).exists()


def test_failed_issue_keeps_the_number(env, settings):
    org, leader, clerk = env["org"], env["leader"], env["clerk"]
    doc = approved(org)
    services.perform(leader, doc.pk, "sign")
    settings.SIGNING_TSA_URL = f"http://127.0.0.1:{pki.free_port()}/tsa"
    with pytest.raises(SigningRefused):
        services.perform(clerk, doc.pk, "issue")
    doc.refresh_from_db()
    assert doc.state == "signed" and doc.number is None
    assert not RegisterEntry.objects.exists()
    settings.SIGNING_TSA_URL = env["demo"].tsa_url
    doc = services.perform(clerk, doc.pk, "issue")
    assert doc.number == 1


def test_batch_issue_goes_on_after_a_failure(env, client):
    from signing.services import issue_many

    org, leader, clerk = env["org"], env["leader"], env["clerk"]
    docs = [approved(org) for _ in range(3)]
    for doc in docs[:2]:
        services.perform(leader, doc.pk, "sign")
    # The third was never signed: refused, and the first two are still issued.
    seen = []
    results = issue_many(clerk, [docs[0].pk, docs[2].pk, docs[1].pk],
                         progress=lambda i, n, r: seen.append((i, n, r["ok"])))
    assert [r["ok"] for r in results] == [True, False, True]
    assert results[1]["message"]
    assert seen == [(1, 3, True), (2, 3, False), (3, 3, True)]
    numbers = [Document.objects.get(pk=d.pk).number for d in (docs[0], docs[1])]
    assert numbers == [1, 2]
    for doc in docs[:2]:
        assert verify_pdf(SignedPdf.objects.get(document=doc, stage=PdfStage.ISSUED).read()).ok
    # The batch page lists what is left and reports each result.
    doc = approved(org)
    services.perform(leader, doc.pk, "sign")
    client.force_login(clerk)
    page = client.get("/signing/batch-issue/")
    assert str(doc.subject) in page.content.decode()
    # The page runs the batch as a task and shows its progress (tests/test_signing_batch.py).
