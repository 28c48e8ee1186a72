"""Two-step signing: prepare on the server, sign elsewhere, complete; API, expiry, refusals."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from signing import pki, remote
from signing.models import (
    KeyKind,
    PdfStage,
    PendingSignature,
    PendingStatus,
    SignatureProfile,
    SignedPdf,
    SigningKey,
)
from signing.services import SigningRefused
from signing.validation import verify_pdf
from tests.factories import advance, draft
from tests.signing_fixtures import check_with_tools
from workflow.audit.models import AuditEntry
from workflow.documents.errors import Conflict
from workflow.documents.models import Document

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture
def env(signing_env):
    """The leader's key is "remote": the server only knows the certificate."""
    demo = signing_env["demo"]
    key = SigningKey.objects.create(label="USB token", kind=KeyKind.REMOTE,
                                    certificate_pem=pki.cert_pem(demo.cert("leader")).decode())
    SignatureProfile.objects.filter(user=signing_env["leader"]).update(key=key)
    return signing_env


def approved(org) -> Document:
    doc = draft(org, type_code="ke-hoach", subject="Kế hoạch tổ chức hội nghị",
                body="<p>Căn cứ Điều lệ Mặt trận Tổ quốc Việt Nam;</p>")
    return advance(org, doc, "approved")


def device_sign(demo: pki.DemoPki, label: str, data: bytes) -> bytes:
    """What the USB token does: RSA PKCS#1 v1.5 over SHA-256 of the signed attributes."""
    key = serialization.load_pem_private_key(demo.key_pem(label), password=pki.KEY_PASSWORD)
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def test_prepare_then_complete(env, tmp_path):
    org, leader, demo = env["org"], env["leader"], env["demo"]
    doc = approved(org)
    pending = remote.prepare_remote_signature(leader, doc.pk)
    token = pending.token
    del pending  # nothing kept in memory: step 2 works from the database row alone
    stored = PendingSignature.objects.get(token=token)
    assert stored.status == PendingStatus.WAITING and stored.expires_at > timezone.now()
    signature = device_sign(demo, "leader", bytes(stored.signed_attrs))
    doc = remote.complete_remote_signature(leader, token, signature)
    assert doc.state == "signed"
    data = SignedPdf.objects.get(document=doc, stage=PdfStage.SIGNED).read()
    report = verify_pdf(data)
    assert report.ok, report.as_dict()
    (person,) = report.signatures
    assert person.signer == "Nguyễn Thị Hằng" and person.trusted
    assert person.timestamp_time and person.level == "B-LT"
    path = tmp_path / "remote.pdf"
    path.write_bytes(data)
    check_with_tools(path, 1)
    stored.refresh_from_db()
    assert stored.status == PendingStatus.DONE and not bytes(stored.prepared_pdf)
    # The clerk can issue it like any other signed document.
    from workflow.documents import services

    issued = services.perform(env["clerk"], doc.pk, "issue")
    assert issued.state == "issued"
    assert verify_pdf(SignedPdf.objects.get(document=doc, stage=PdfStage.ISSUED).read()).ok
    with pytest.raises(Conflict):
        remote.complete_remote_signature(leader, token, signature)


def test_wrong_signature_is_refused(env):
    org, leader, demo = env["org"], env["leader"], env["demo"]
    doc = approved(org)
    pending = remote.prepare_remote_signature(leader, doc.pk)
    bad = device_sign(demo, "stranger", bytes(pending.signed_attrs))
    with pytest.raises(SigningRefused):
        remote.complete_remote_signature(leader, pending.token, bad)
    assert Document.objects.get(pk=doc.pk).state == "approved"
    assert not SignedPdf.objects.filter(document=doc, stage=PdfStage.SIGNED).exists()
    assert PendingSignature.objects.get(pk=pending.pk).status == PendingStatus.WAITING
    assert AuditEntry.objects.filter(action="signing.sign.refused", object_id=str(doc.pk)).exists()


def test_expired_is_refused_and_cleaned(env):
    org, leader, demo = env["org"], env["leader"], env["demo"]
    doc = approved(org)
    pending = remote.prepare_remote_signature(leader, doc.pk)
    signature = device_sign(demo, "leader", bytes(pending.signed_attrs))
    PendingSignature.objects.filter(pk=pending.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(SigningRefused):
        remote.complete_remote_signature(leader, pending.token, signature)
    pending.refresh_from_db()
    assert pending.status == PendingStatus.EXPIRED and not bytes(pending.prepared_pdf)
    assert Document.objects.get(pk=doc.pk).state == "approved"
    assert remote.purge_expired() == 0


def test_changed_after_prepare_is_refused(env):
    org, leader, demo = env["org"], env["leader"], env["demo"]
    doc = approved(org)
    pending = remote.prepare_remote_signature(leader, doc.pk)
    Document.objects.filter(pk=doc.pk).update(body="<p>Đã sửa sau khi duyệt</p>")
    with pytest.raises(Conflict):
        remote.complete_remote_signature(leader, pending.token,
                                         device_sign(demo, "leader", bytes(pending.signed_attrs)))


def test_foreign_certificate_is_refused(env):
    org, leader, demo = env["org"], env["leader"], env["demo"]
    doc = approved(org)
    with pytest.raises(SigningRefused):
        remote.prepare_remote_signature(leader, doc.pk,
                                        certificate=pki.cert_pem(demo.cert("stranger")))
    assert not PendingSignature.objects.exists()


def test_api_round_trip(env):
    org, leader, demo = env["org"], env["leader"], env["demo"]
    doc = approved(org)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + AuthToken.objects.create(user=leader)[1],
                       HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(f"/api/signing/documents/{doc.pk}/prepare/", {}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    listed = client.get("/api/signing/pending/").json()
    assert [p["id"] for p in listed] == [body["id"]]
    attrs = base64.b64decode(body["signed_attributes"])
    signature = base64.b64encode(device_sign(demo, "leader", attrs)).decode()
    bad = client.post(f"/api/signing/pending/{body['id']}/complete/",
                      {"signature": "***"}, format="json")
    assert bad.status_code == 400 and "base64" in bad.json()["message"]
    done = client.post(f"/api/signing/pending/{body['id']}/complete/",
                       {"signature": signature}, format="json")
    assert done.status_code == 200, done.json()
    assert done.json()["state"] == "signed"
    again = client.post(f"/api/signing/pending/{body['id']}/complete/",
                        {"signature": signature}, format="json")
    assert again.status_code == 409
    # Someone else cannot see or use it.
    other = APIClient()
    other.force_authenticate(org.person("province", "clerk"))
    assert other.get(f"/api/signing/pending/{body['id']}/").status_code == 404
    assert other.post(f"/api/signing/documents/{doc.pk}/prepare/", {}, format="json")\
        .status_code in (403, 404, 409)


def test_schema_lists_signing_endpoints(db):
    client = APIClient()
    schema = client.get("/api/schema/", {"format": "json"}).json()
    for path in ("/api/signing/documents/{id}/prepare/", "/api/signing/pending/",
                 "/api/signing/pending/{token}/complete/"):
        assert path in schema["paths"], sorted(schema["paths"])


CLIENT = "signing/client/mttq_sign.py"


@pytest.mark.django_db(transaction=True)
def test_usb_token_client_end_to_end(env, softhsm, live_server, tmp_path):
    """The real command-line client, in its own process, signs with the SoftHSM2 token."""
    import subprocess
    import sys

    org, leader = env["org"], env["leader"]
    first, second = approved(org), approved(org)
    api_token = AuthToken.objects.create(user=leader)[1]
    # The second one is prepared from the web application and waits for the client.
    remote.prepare_remote_signature(leader, second.pk)
    base = [sys.executable, CLIENT, "--server", live_server.url, "--api-token", api_token,
            "--module", softhsm.module, "--token-label", softhsm.label, "--key", "leader"]
    env_vars = {**softhsm.env(), "MTTQ_TOKEN_PIN": softhsm.pin}
    done = subprocess.run(base + ["--document", str(first.pk)], env=env_vars,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "is now signed" in done.stdout
    done = subprocess.run(base, env=env_vars, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    for doc in (first, second):
        doc.refresh_from_db()
        assert doc.state == "signed"
        data = SignedPdf.objects.get(document=doc, stage=PdfStage.SIGNED).read()
        report = verify_pdf(data)
        assert report.ok and report.signatures[0].signer == "Nguyễn Thị Hằng"
        path = tmp_path / f"client-{doc.pk}.pdf"
        path.write_bytes(data)
        check_with_tools(path, 1)
    # Nothing left; a wrong PIN is a clear error, not a traceback.
    done = subprocess.run(base, env=env_vars, capture_output=True, text=True, timeout=120)
    assert "Nothing is waiting" in done.stdout
    bad = subprocess.run(base, env={**env_vars, "MTTQ_TOKEN_PIN": "000000"},
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "wrong PIN" in bad.stderr


def test_web_page_prepares_for_the_usb_token(env, client):
    org, leader = env["org"], env["leader"]
    doc = approved(org)
    client.force_login(leader)
    page = client.get(f"/signing/documents/{doc.pk}/sign/")
    assert b'data-testid="prepare-remote"' in page.content
    assert b'data-testid="confirm-sign"' not in page.content
    response = client.post(f"/signing/documents/{doc.pk}/sign/usb-token/", follow=True)
    assert response.status_code == 200
    assert b'data-testid="pending-signature"' in response.content
    assert PendingSignature.objects.filter(document=doc, status=PendingStatus.WAITING).count() == 1
