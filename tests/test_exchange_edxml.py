"""Issue #15: edXML export and import, hostile packages, status messages, the drop folder, the
admin and the import command (docs/exchange.md).
"""

from __future__ import annotations

import base64
import hashlib
import io
import uuid

import pytest
from django.core.management import call_command
from django.urls import reverse
from knox.models import AuthToken
from lxml import etree
from rest_framework.test import APIClient

from tests.exchange_helpers import CODES, Q, counts, issued, person, settings_outbox
from tests.factories import PASSWORD, advance, draft, pdf_bytes, upload
from tests.incoming_helpers import arrived
from workflow.audit.models import AuditEntry
from workflow.documents import services as doc_services
from workflow.documents.errors import NotAllowed, NotFound
from workflow.exchange import edxml, services
from workflow.exchange.edxml import NS, PackageError
from workflow.exchange.models import Package, PartnerDelivery
from workflow.incoming import services as in_services
from workflow.incoming.models import (
    Delivery,
    DeliveryState,
    IncomingDocument,
)
from workflow.organisation.models import Role

pytestmark = pytest.mark.django_db(transaction=True)


def test_export_package_fields_against_documented_structure(coded):
    org = coded
    extra = pdf_bytes("Phụ lục", pages=1)
    document = issued(org, ["commune", "commune2"], attachment=extra, priority="urgent",
                      due_date="2099-12-31", subject="V/v tổ chức Ngày hội Đại đoàn kết")
    data, package = services.export_document(person(org, "province", Role.CLERK), document)
    root = etree.fromstring(data)
    assert root.tag == Q + "edXML" and root.nsmap["edXML"] == NS
    env = root.find(Q + "edXMLEnvelope")
    mh = env.find(f"{Q}edXMLHeader/{Q}MessageHeader")
    t = lambda path: mh.findtext(path.replace("/", "/" + Q).join([Q, ""]))  # noqa: E731
    assert t("From/OrganId") == CODES["province"]
    assert t("From/OrganName") == org.units["province"].name
    tos = [(el.findtext(Q + "OrganId"), el.findtext(Q + "OrganName"))
           for el in mh.findall(Q + "To")]
    assert tos == [(CODES["commune"], org.units["commune"].name),
                   (CODES["commune2"], org.units["commune2"].name)]
    issued_on = document.issued_at.astimezone().date()
    assert t("DocumentId") == f"{CODES['province']},{issued_on:%Y/%m/%d},{document.symbol}"
    assert t("Code/CodeNumber") == str(document.number)
    assert t("Code/CodeNotation") == document.symbol
    assert t("PromulgationInfo/Place") == "Nghệ An"
    assert t("PromulgationInfo/PromulgationDate") == issued_on.isoformat()
    assert t("DocumentType/Type") == "2"
    assert t("DocumentType/TypeDetail") == "cong-van"
    assert t("DocumentType/TypeName") == document.document_type.name
    assert t("Subject") == "V/v tổ chức Ngày hội Đại đoàn kết"
    assert t("Content") == "Nội dung văn bản."
    assert t("SignerInfo/FullName") == str(document.signer)
    assert t("SignerInfo/Position") == "Phó Chủ tịch"
    assert t("SignerInfo/Competence") == org.units["province"].name
    assert t("DueDate") == "2099-12-31"
    assert [p.text for p in mh.find(Q + "ToPlaces")] == [org.units["commune"].name,
                                                         org.units["commune2"].name]
    assert t("OtherInfo/Priority") == "1"
    assert t("OtherInfo/PageAmount") == "3"
    assert mh.findtext(f"{Q}OtherInfo/{{{edxml.EXT}}}Confidential") == "0"
    assert t("SteeringType") == "0"
    assert mh.find(Q + "ResponseFor") is None
    assert str(uuid.UUID(mh.findtext(f"{{{edxml.EXT}}}PackageId"))) == package.package_id
    header = env.find(Q + "edXMLHeader")
    assert header.findtext(f"{Q}TraceHeaderList/{Q}TraceHeader/{Q}OrganId") == CODES["province"]
    assert header.findtext(f"{Q}Business/{Q}BusinessDocType") == "0"
    refs = env.findall(f"{Q}edXMLBody/{Q}edXMLManifest/{Q}Reference")
    encoded = root.findall(f"{Q}AttachmentEncoded/{Q}Attachment")
    assert len(refs) == len(encoded) == 2
    originals = {f.name: f.current_version for f in document.files.all()}
    for ref, item in zip(refs, encoded, strict=True):
        assert ref.findtext(Q + "ContentId") == "cid:" + item.findtext(Q + "ContentId")
        assert ref.findtext(Q + "ContentType") == "application/pdf"
        name = ref.findtext(Q + "AttachmentName")
        assert item.findtext(Q + "ContentTransferEncoding") == "base64"
        raw = base64.b64decode(item.findtext(Q + "ContentTransferEncoded"))
        assert hashlib.sha256(raw).hexdigest() == originals[name].sha256
        assert ref.findtext(f"{{{edxml.EXT}}}Sha256") == originals[name].sha256
        assert ref.findtext(f"{{{edxml.EXT}}}Size") == str(len(raw))
    # Same order as the in-system delivery (issued_files); the main flag marks the document.
    assert {r.findtext(Q + "AttachmentName"): r.findtext(f"{{{edxml.EXT}}}Main")
            for r in refs} == {"ke-hoach.pdf": "1", "phu-luc.pdf": "0"}
    # The export is recorded: package row, partners' rows, audit.
    assert package.direction == "out" and package.sha256 == hashlib.sha256(data).hexdigest()
    assert set(PartnerDelivery.objects.filter(document=document).values_list(
        "organ_id", "status")) == {(CODES["commune"], "sent"), (CODES["commune2"], "sent")}
    assert AuditEntry.objects.filter(action="document.edxml_exported").count() == 1


def test_export_reply_carries_response_for_and_outside_addressee(coded):
    org = coded
    original = issued(org, ["commune"])
    incoming = arrived(org, original, "commune")
    clerk, leader = person(org, "commune", Role.CLERK), person(org, "commune", Role.LEADER)
    specialist = person(org, "commune", Role.SPECIALIST)
    in_services.register(clerk, incoming.pk)
    in_services.assign(leader, incoming.pk, direction="Trả lời", lead_id=specialist.pk)
    reply = in_services.draft_reply(specialist, incoming.pk)
    doc_services.add_file(specialist, reply.pk, upload=upload("tl.pdf", pdf_bytes("TL")),
                          kind="main")
    reply = advance(org, reply, "issued")
    data, _p = services.export_document(person(org, "commune", Role.LEADER), reply,
                                        to=["000.00.00.G22|Văn phòng Chính phủ"])
    parsed = edxml.parse(data, max_bytes=10**8)
    assert [(o.organ_id, o.name) for o in parsed.to] == [("000.00.00.G22",
                                                           "Văn phòng Chính phủ")]
    [rf] = parsed.response_for
    assert rf.organ_id == CODES["province"] and rf.code == original.symbol
    assert rf.document_id.endswith("," + original.symbol)


def test_export_access_command_api_and_page(coded, tmp_path, client):
    org = coded
    document = issued(org, ["commune"])
    # Recipients and other units cannot export; the issuing unit's people can.
    with pytest.raises(NotAllowed):
        services.export_document(person(org, "commune", Role.CLERK), document)
    with pytest.raises(NotAllowed):
        services.export_document(person(org, "district2", Role.LEADER), document)
    out = tmp_path / "pkg.xml"
    call_command("edxml_export", str(document.pk), "-o", str(out), stderr=io.StringIO())
    assert edxml.parse(out.read_bytes(), max_bytes=10**8).code_notation == document.symbol
    api = APIClient()
    _row, token = AuthToken.objects.create(user=person(org, "province", Role.CLERK))
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = api.get(f"/api/documents/{document.pk}/edxml/")
    assert response.status_code == 200 and response["Content-Type"] == "application/xml"
    assert edxml.parse(response.content, max_bytes=10**8).subject == document.subject
    other = APIClient()
    _row, token2 = AuthToken.objects.create(user=person(org, "commune", Role.CLERK))
    other.credentials(HTTP_AUTHORIZATION=f"Token {token2}")
    assert other.get(f"/api/documents/{document.pk}/edxml/").status_code == 403
    client.login(username="province-leader", password=PASSWORD)
    page = client.get(reverse("documents:detail", args=[document.pk]))
    assert b'id="edxml-download"' in page.content and b'id="recall-form"' in page.content
    download = client.get(reverse("exchange:export", args=[document.pk]))
    assert download.status_code == 200 and download.content.startswith(b"<?xml")
    # A draft cannot be exported.
    drafted = draft(org, "province")
    with pytest.raises((NotAllowed, NotFound)):
        services.export_document(person(org, "province", Role.LEADER), drafted)


FIELDS = ("issuer_name", "number_symbol", "issued_on", "type_name", "subject", "priority",
          "confidential", "page_count", "signer_name", "signer_position", "deadline")


def _round_trip(org, document) -> None:
    direct = arrived(org, document, "commune")
    data, _p = services.export_document(None, document, to=[CODES["commune2"]])
    result = services.import_package(data, user=person(org, "commune2", Role.CLERK),
                                     unit=org.units["commune2"])
    [imported] = result.incoming
    assert imported.unit == org.units["commune2"] and imported.source == "other_system"
    assert imported.origin == document  # the sender is a unit here: linked
    for name in FIELDS:
        assert getattr(imported, name) == getattr(direct, name), name
    mine = [(a.name, a.main, a.file.sha256, a.file.read()) for a in imported.attachments.all()]
    theirs = [(a.name, a.main, a.file.sha256, a.file.read()) for a in direct.attachments.all()]
    assert mine == theirs
    # Same bytes, same stored file, hence the same signature verdict.
    assert [a.file_id for a in imported.attachments.all()] == \
        [a.file_id for a in direct.attachments.all()]
    return imported, direct


def test_round_trip_equals_in_system_delivery(coded):
    org = coded
    document = issued(org, ["commune"], attachment=pdf_bytes("Phụ lục", pages=2),
                      priority="express", due_date="2099-01-31")
    imported, direct = _round_trip(org, document)
    assert imported.attachments.get(main=True).file.verdict == \
        direct.attachments.get(main=True).file.verdict != ""


def test_round_trip_of_a_signed_document(signing_env, settings, tmp_path):
    """The real signing pipeline: issued PDF with PAdES signatures, verified on arrival."""
    org = signing_env["org"]
    for key, code in CODES.items():
        org.units[key].organ_id = code
        org.units[key].save(update_fields=["organ_id"])
    settings.EDXML_OUTBOX_DIR = tmp_path / "outbox"
    document = draft(org, "province")
    doc_services.update_document(document.drafter, document.pk, data={},
                                 recipient_unit_ids=[org.units["commune"].pk])
    document = advance(org, document, "approved")
    doc_services.perform(signing_env["leader"], document.pk, "sign")
    doc_services.perform(signing_env["clerk"], document.pk, "issue")
    document.refresh_from_db()
    assert document.state == "issued"
    imported, direct = _round_trip(org, document)
    main = imported.attachments.get(main=True).file
    assert main.verdict == "PASSED" and main.signers


def test_import_is_idempotent_and_needs_the_clerk_of_an_addressed_unit(coded):
    org = coded
    document = issued(org, ["commune"])
    data, _p = services.export_document(None, document, to=[CODES["commune2"]])
    with pytest.raises(NotAllowed):
        services.import_package(data, user=person(org, "commune2", Role.SPECIALIST),
                                unit=org.units["commune2"])
    with pytest.raises(PackageError, match="not addressed to"):
        services.import_package(data, user=person(org, "district2", Role.CLERK),
                                unit=org.units["district2"])
    first = services.import_package(data, source="folder")
    again = services.import_package(data, source="folder")
    assert len(first.incoming) == 1 and again.incoming == [] and \
        again.duplicates == first.incoming


def _package(org, document, **changes) -> bytes:
    package = services.build_package(document, [services.organ_of(org.units["commune2"])])
    for key, value in changes.items():
        setattr(package, key, value)
    return edxml.write_document(package)


HOSTILE = {
    "not xml": lambda ok: b"%PDF-1.7 not a package",
    "not well-formed": lambda ok: ok[:-30],
    "wrong namespace": lambda ok: ok.replace(NS.encode(), b"http://example.org/other"),
    "missing subject": lambda ok: ok.replace(b"<edXML:Subject>", b"<edXML:Subjekt>").replace(
        b"</edXML:Subject>", b"</edXML:Subjekt>"),
    "missing to": lambda ok: _drop(ok, "MessageHeader", "To"),
    "missing notation": lambda ok: _drop(ok, "Code", "CodeNotation"),
    "hash mismatch": lambda ok: _tamper(ok),
    "bad base64": lambda ok: _set_attachment(ok, "@@@not base64@@@"),
    "missing attachment": lambda ok: _drop_attachments(ok),
    "billion laughs": lambda ok: (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                                  b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
                                  b'<edXML:edXML xmlns:edXML="' + NS.encode() +
                                  b'">&lol2;</edXML:edXML>'),
    "external entity": lambda ok: (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM '
                                   b'"file:///etc/passwd">]><edXML:edXML xmlns:edXML="' +
                                   NS.encode() + b'">&xxe;</edXML:edXML>'),
    "utf-16 doctype": lambda ok: ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY'
                                  ' a "b">]><x>&a;</x>').encode("utf-16"),
    "utf-16 disguised": lambda ok: (b'<?xml version="1.0"?><\x00!\x00D\x00O\x00C\x00T'
                                    b'\x00Y\x00P\x00E\x00 x>'),
    "declared utf-16": lambda ok: ok.replace(b"encoding='UTF-8'", b"encoding='UTF-16'", 1),
    "oversized": lambda ok: ok + b" " * 2048,
    "empty": lambda ok: b"",
}


def _edit(data: bytes, fn) -> bytes:
    root = etree.fromstring(data)
    fn(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _drop(data, parent, child):
    def fn(root):
        for p in root.iter(Q + parent):
            for el in p.findall(Q + child):
                p.remove(el)
    return _edit(data, fn)


def _set_attachment(data, text):
    def fn(root):
        root.find(f"{Q}AttachmentEncoded/{Q}Attachment/{Q}ContentTransferEncoded").text = text
    return _edit(data, fn)


def _tamper(data):
    root = etree.fromstring(data)
    el = root.find(f"{Q}AttachmentEncoded/{Q}Attachment/{Q}ContentTransferEncoded")
    raw = bytearray(base64.b64decode(el.text))
    raw[len(raw) // 2] ^= 0xFF
    return _set_attachment(data, base64.b64encode(bytes(raw)).decode())


def _drop_attachments(data):
    def fn(root):
        root.remove(root.find(Q + "AttachmentEncoded"))
    return _edit(data, fn)


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_packages_are_refused_and_change_nothing(coded, settings, case):
    org = coded
    document = issued(org, ["commune"])
    ok = _package(org, document)
    bad = HOSTILE[case](ok)
    if case == "oversized":
        settings.EDXML_MAX_BYTES = len(ok) + 1024
    before = counts()
    with pytest.raises(PackageError) as info:
        services.import_package(bad, user=person(org, "commune2", Role.CLERK),
                                unit=org.units["commune2"])
    assert str(info.value.message)
    assert counts() == before
    # The good one still goes in.
    settings.EDXML_MAX_BYTES = 10**8
    assert len(services.import_package(ok, source="api").incoming) == 1


def test_attachment_above_libxml2_text_limit_reads_back():
    """12 MB of bytes = 16 MB of base64 in one element: more than libxml2's 10 MB text
    limit, which ``huge_tree=False`` keeps; the Python tree builder reads it."""
    import datetime as dt
    import os

    data = os.urandom(12 * 1024 * 1024)
    package = edxml.DocumentPackage(
        package_id="p", document_id="d", sender=edxml.Organ("A", "A"), to=[edxml.Organ("B", "B")],
        code_number="1", code_notation="1/X", place="", promulgation_date=dt.date(2026, 1, 1),
        type_code="2", type_detail="", type_name="Công văn", subject="S",
        attachments=[edxml.Attachment("a.pdf", "application/pdf", data, main=True)])
    parsed = edxml.parse(edxml.write_document(package), max_bytes=10**8)
    assert parsed.attachments[0].data == data


def test_hostile_upload_page_shows_the_error(coded, client):
    client.login(username="commune2-clerk", password=PASSWORD)
    page = client.get(reverse("exchange:upload"))
    assert page.status_code == 200
    response = client.post(reverse("exchange:upload"), {
        "unit": coded.units["commune2"].pk,
        "package": upload("x.xml", HOSTILE["external entity"](b""))})
    assert response.status_code == 400
    assert b"DTD or entities" in response.content
    assert IncomingDocument.objects.count() == 0


def test_upload_page_and_api_import(coded, client):
    org = coded
    document = issued(org, ["commune"])
    data = _package(org, document)
    client.login(username="commune2-clerk", password=PASSWORD)
    response = client.post(reverse("exchange:upload"), {
        "unit": org.units["commune2"].pk, "package": upload("goi.xml", data)})
    incoming = IncomingDocument.objects.get(unit=org.units["commune2"])
    assert response.status_code == 302 and response["Location"].endswith(f"/{incoming.pk}/")
    api = APIClient()
    _row, token = AuthToken.objects.create(user=person(org, "commune2", Role.CLERK))
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    again = api.post("/api/edxml/import/", {"unit": org.units["commune2"].pk,
                                             "package": upload("goi.xml", data)},
                     format="multipart")
    assert again.status_code == 200 and again.json()["duplicates"] == [incoming.pk]
    bad = api.post("/api/edxml/import/", {"unit": org.units["commune2"].pk,
                                           "package": upload("x.xml", b"not xml")},
                   format="multipart")
    assert bad.status_code == 400 and "not XML" in bad.json()["message"]


def test_drop_folder_scan(coded, settings):
    from workflow.exchange.tasks import scan_inbox

    org = coded
    document = issued(org, ["commune"])
    inbox = settings.EDXML_INBOX_DIR
    inbox.mkdir(parents=True)
    (inbox / "good.xml").write_bytes(_package(org, document))
    (inbox / "bad.xml").write_bytes(b"<nope/>")
    assert scan_inbox.apply().get() == {"imported": 1, "failed": 1}
    assert (inbox / "done" / "good.xml").exists() and (inbox / "failed" / "bad.xml").exists()
    assert "namespace" in (inbox / "failed" / "bad.xml.error.txt").read_text()
    assert IncomingDocument.objects.filter(unit=org.units["commune2"]).count() == 1
    assert scan_inbox.apply().get() == {"imported": 0, "failed": 0}
    assert "exchange-scan-inbox" in settings.CELERY_BEAT_SCHEDULE


def test_status_messages_produced_and_read_back(coded):
    org = coded
    document = issued(org, ["commune"])
    data, _p = services.export_document(None, document, to=[CODES["commune2"]])
    [incoming] = services.import_package(data, source="folder").incoming
    clerk, leader = person(org, "commune2", Role.CLERK), person(org, "commune2", Role.LEADER)
    specialist = person(org, "commune2", Role.SPECIALIST)
    in_services.register(clerk, incoming.pk)
    in_services.assign(leader, incoming.pk, direction="Xử lý", lead_id=specialist.pk)
    in_services.start(specialist, incoming.pk)
    in_services.complete(specialist, incoming.pk, result="Đã xong")
    out = list(Package.objects.filter(direction="out", kind="status", incoming=incoming)
               .order_by("pk"))
    assert [p.status_code for p in out] == ["01", "03", "04", "05", "06"]
    files = sorted((settings_outbox() / CODES["province"]).glob("*.xml"))
    assert len(files) == 5
    for package in out:
        parsed = edxml.parse(bytes(package.content), max_bytes=10**6)
        assert isinstance(parsed, edxml.StatusPackage)
        assert parsed.sender.organ_id == CODES["commune2"]
        assert parsed.response_for.organ_id == CODES["province"]
        assert parsed.response_for.code == document.symbol
        result = services.import_package(bytes(package.content), source="folder")
        assert result.kind == "status" and result.updated == 1
        row = PartnerDelivery.objects.get(document=document, organ_id=CODES["commune2"])
        assert row.status_code == package.status_code
    assert row.status == "done"
    # A status about a document never sent from here is refused.
    other = edxml.StatusPackage("x", edxml.ResponseFor("1", "1/X", None, "nope"),
                                edxml.Organ("1", "A"), "01", "", out[0].created_at)
    with pytest.raises(PackageError):
        services.import_package(edxml.write_status(other))


def test_returned_status_updates_the_local_delivery_row(coded):
    org = coded
    document = issued(org, ["commune"])
    data, _p = services.export_document(None, document, to=[CODES["commune"]])
    # The commune also gets it through the system: its delivery row follows the status.
    inbound = services.import_package(data, source="folder").incoming[0]
    in_services.return_to_sender(person(org, "commune", Role.CLERK), inbound.pk,
                                 reason="Gửi nhầm nơi")
    status = Package.objects.get(direction="out", kind="status", status_code="02")
    services.import_package(bytes(status.content))
    d = Delivery.objects.get(document=document, unit=org.units["commune"])
    assert d.state == DeliveryState.RETURNED and d.return_reason == "Gửi nhầm nơi"


def test_admin_sets_the_national_code_once_per_unit_and_shows_packages(coded, admin_client):
    org = coded
    commune = org.units["commune"]
    data = {"name": commune.name, "parent_name": "", "abbreviation": "MTTQ-BTT",
            "place_name": "Nghệ An", "code": commune.code, "organ_id": "000.99.99.H41",
            "level": commune.level_id, "parent": commune.parent_id, "is_active": "on",
            "departments-TOTAL_FORMS": "0", "departments-INITIAL_FORMS": "0"}
    response = admin_client.post(f"/admin/organisation/unit/{commune.pk}/change/", data)
    assert response.status_code == 302
    commune.refresh_from_db()
    assert commune.organ_id == "000.99.99.H41"
    data["organ_id"] = CODES["province"]  # taken by the province
    response = admin_client.post(f"/admin/organisation/unit/{commune.pk}/change/", data)
    assert response.status_code == 200
    commune.refresh_from_db()
    assert commune.organ_id == "000.99.99.H41"
    services.export_document(None, issued(org, ["commune"]))
    for name in ("recall", "recallnotice", "replacement", "package", "partnerdelivery"):
        assert admin_client.get(f"/admin/exchange/{name}/").status_code == 200


def test_import_command(coded, tmp_path):
    from django.core.management.base import CommandError

    org = coded
    document = issued(org, ["commune"])
    path = tmp_path / "goi.xml"
    path.write_bytes(_package(org, document))
    out = io.StringIO()
    call_command("edxml_import", str(path), stdout=out)
    assert "1 new" in out.getvalue()
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<x/>")
    with pytest.raises(CommandError, match="namespace"):
        call_command("edxml_import", str(bad), stdout=io.StringIO())
