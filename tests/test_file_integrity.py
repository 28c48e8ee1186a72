"""A stored PDF changed on disk is refused, reported and never called valid (issue 23 #10)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from signing import integrity, tasks
from signing.models import PdfStage, SignedPdf
from signing.validation import verify_pdf
from tests.factories import advance, draft, pdf_bytes, upload
from workflow.audit.models import AuditEntry
from workflow.documents import services

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

APPENDED = b"\n% appended after issue: not part of the signed document\n"


@pytest.fixture
def issued(signing_env, settings):
    settings.ADMINS = [("Quản trị", "admin@mttq.example")]
    org, leader, clerk = signing_env["org"], signing_env["leader"], signing_env["clerk"]
    doc = advance(org, draft(org, type_code="ke-hoach", subject="Kế hoạch kiểm tra"), "approved")
    services.perform(leader, doc.pk, "sign", expected_state="approved")
    doc = services.perform(clerk, doc.pk, "issue", expected_state="signed")
    return doc, SignedPdf.objects.get(document=doc, stage=PdfStage.ISSUED)


def _append(pdf: SignedPdf) -> bytes:
    with open(pdf.blob.path, "ab") as handle:
        handle.write(APPENDED)
    return pdf.read()


def _alerts(doc) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_id=str(doc.pk), action=integrity.ALTERED))


def test_intact_pdf_is_served(client, issued, signing_env):
    doc, pdf = issued
    client.force_login(signing_env["clerk"])
    response = client.get(f"/signing/documents/{doc.pk}/pdf/issued/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == pdf.read()


def test_appended_bytes_refuse_the_download_and_alert_once(client, issued, signing_env,
                                                           django_capture_on_commit_callbacks):
    doc, pdf = issued
    _append(pdf)
    client.force_login(signing_env["org"].person("province", "specialist"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(f"/signing/documents/{doc.pk}/pdf/issued/")
    assert response.status_code == 409
    assert "altered" in response.content.decode()
    assert len(_alerts(doc)) == 1
    assert len(mail.outbox) == 1 and "altered" in mail.outbox[0].subject
    assert mail.outbox[0].to == ["admin@mttq.example"]
    # Asked again (and by the scan): still refused, but no second alert for the same bytes.
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(f"/signing/documents/{doc.pk}/pdf/issued/?download=1"
                          ).status_code == 409
        result = integrity.scan_stored_files()
    assert result.altered and result.reported == 0
    assert len(_alerts(doc)) == 1 and len(mail.outbox) == 1


def test_verify_page_does_not_call_the_changed_file_valid(client, issued):
    _doc, pdf = issued
    assert verify_pdf(pdf.read()).ok
    changed = _append(pdf)
    report = verify_pdf(changed)
    assert not report.ok
    assert "added after" in report.message
    response = client.post("/signing/verify/", {"file": SimpleUploadedFile("x.pdf", changed)},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert "added after" in response.content.decode()


def test_beat_scan_finds_an_altered_file_nobody_opened(issued, signing_env,
                                                       django_capture_on_commit_callbacks):
    doc, pdf = issued
    org = signing_env["org"]
    other = draft(org, subject="Tờ trình")
    services.add_file(org.person("province", "specialist"), other.pk,
                      upload=upload("to-trinh.pdf", pdf_bytes("Tờ trình")), kind="main")
    with django_capture_on_commit_callbacks(execute=True):
        clean = tasks.scan_stored_files.apply().get()
    assert clean["altered"] == 0 and clean["missing"] == 0 and clean["checked"] >= 4
    _append(pdf)
    version = other.files.get().versions.get()
    with open(version.blob.path, "r+b") as handle:
        handle.write(b"%PDF-9.9")
    with django_capture_on_commit_callbacks(execute=True):
        found = tasks.scan_stored_files.apply().get()
    assert found["altered"] == 2 and found["reported"] == 2
    assert len(_alerts(doc)) == 1 and len(_alerts(other)) == 1
    assert len(mail.outbox) == 2
    # Idempotent: the next run reports nothing new.
    with django_capture_on_commit_callbacks(execute=True):
        again = tasks.scan_stored_files.apply().get()
    assert again["altered"] == 2 and again["reported"] == 0 and len(mail.outbox) == 2


def test_scan_is_chunked(issued):
    result = integrity.scan_stored_files(chunk=1)
    assert result.checked == SignedPdf.objects.count() + services.FileVersion.objects.count()
    assert not result.altered


def test_a_later_revision_that_rewrites_the_page_is_not_valid(issued):
    """Not appended junk but a proper incremental update replacing the page's text: every
    signature is intact over its own bytes (the verify page said "valid"), yet the document
    shown is not the one signed."""
    import io

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    _doc, pdf = issued
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf.read()))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    stream = generic.StreamObject({}, stream_data=b"BT /F1 24 Tf 72 720 Td (Forged) Tj ET")
    page["/Contents"] = writer.add_object(stream)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    report = verify_pdf(out.getvalue())
    assert not report.ok
    assert any(s.intact and s.modification_allowed is False for s in report.signatures)
    assert report.signatures[0].verdict == "FAILED"
    assert "changed after this signature" in report.signatures[0].reason
