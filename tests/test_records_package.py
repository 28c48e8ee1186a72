"""The archive package re-verifies from its manifest: each PDF's SHA-256 and signatures."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from xml.etree import ElementTree as ET

import pytest
from django.core.files.base import ContentFile

from signing.validation import verify_pdf
from tests.factories import advance, draft
from tests.records_helpers import registered_incoming
from workflow.documents import services as documents
from workflow.incoming.models import IncomingAttachment, IncomingFile
from workflow.records import package, services, tasks

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def signed_and_issued(env, subject: str):
    org, leader, clerk = env["org"], env["leader"], env["clerk"]
    doc = advance(org, draft(org, type_code="ke-hoach", subject=subject), "approved")
    documents.perform(leader, doc.pk, "sign", expected_state="approved")
    return documents.perform(clerk, doc.pk, "issue", expected_state="signed")


def test_package_reverifies_every_pdf_from_the_manifest(signing_env, settings):
    org, clerk = signing_env["org"], signing_env["clerk"]
    a = signed_and_issued(signing_env, "Kế hoạch tổ chức Ngày hội Đại đoàn kết")
    b = signed_and_issued(signing_env, "Kế hoạch giám sát năm")
    # An incoming document keeps the signed PDF as it arrived.
    from signing.models import PdfStage, SignedPdf

    data = SignedPdf.objects.get(document=a, stage=PdfStage.ISSUED).read()
    stored = IncomingFile(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    stored.blob.save("den.pdf", ContentFile(data), save=True)
    incoming = registered_incoming(org, "province")
    IncomingAttachment.objects.create(incoming=incoming, file=stored, name="den.pdf", main=True)

    case_file = services.open_case_file(clerk, org.units["province"], code="01.VP",
                                        title="Hồ sơ Ngày hội", retention=None)
    services.file_documents(clerk, case_file.pk, documents=[a.pk, b.pk], incoming=[incoming.pk])
    services.close_case_file(clerk, case_file.pk)
    handover = services.hand_over(clerk, org.units["province"], [case_file.pk])
    assert tasks.build_now(handover.pk) == "ready"
    handover.refresh_from_db()
    with handover.package.open("rb") as handle:
        zipped = handle.read()
    assert hashlib.sha256(zipped).hexdigest() == handover.package_sha256

    archive = zipfile.ZipFile(io.BytesIO(zipped))
    manifest = json.loads(archive.read("manifest.json"))
    (meta,) = manifest["files"]
    assert meta["FileNotation"] == "01.VP" and meta["Maintenance"] == "Vĩnh viễn"
    assert meta["DocTotal"] == 3 and meta["FileCatalog"] == case_file.year
    assert [d["DocOrdinal"] for d in meta["documents"]] == [1, 2, 3]
    first = meta["documents"][0]
    assert first["CodeNotation"].startswith("KH-") and first["FullName"] == "Nguyễn Thị Hằng"
    assert meta["documents"][2]["Kind"] == "incoming"
    paths = [f["path"] for d in meta["documents"] for f in d["files"]]
    assert len(paths) == 3
    for document in meta["documents"]:
        for entry in document["files"]:
            content = archive.read(entry["path"])
            assert hashlib.sha256(content).hexdigest() == entry["sha256"]
            assert len(content) == entry["size"]
            report = verify_pdf(content)
            assert report.ok, report.as_dict()
            assert entry["verification_at_packaging"]["verdict"] == "PASSED"
    assert all(r["sha256_ok"] and r["verdict"] == "PASSED" for r in package.verify(zipped))
    # The XML manifest names the same files and digests; each file has its metadata.
    root = ET.fromstring(archive.read("manifest.xml"))  # noqa: S314 - made by this test
    assert sorted(a.get("sha256") for a in root.iter("Attachment")) == sorted(
        f["sha256"] for d in meta["documents"] for f in d["files"])
    folder = paths[0].split("/")[0]
    metadata = ET.fromstring(archive.read(f"{folder}/metadata.xml"))  # noqa: S314 - ours
    assert metadata.findtext("Title") == "Hồ sơ Ngày hội"
    assert archive.read(f"{folder}/muc-luc-van-ban.pdf").startswith(b"%PDF")
    assert archive.read("muc-luc-ho-so.pdf").startswith(b"%PDF")
    # A flipped byte in a stored PDF is caught by the manifest check.
    tampered = io.BytesIO()
    with zipfile.ZipFile(tampered, "w") as out:
        for info in archive.infolist():
            body = archive.read(info)
            if info.filename == paths[0]:
                body = body[:200] + bytes([body[200] ^ 1]) + body[201:]
            out.writestr(info, body)
    rows = {r["path"]: r for r in package.verify(tampered.getvalue())}
    assert not rows[paths[0]]["sha256_ok"] and rows[paths[0]]["verdict"] != "PASSED"
