"""The archive package of a handover (nộp lưu hồ sơ điện tử, Art. 30.3b, Appendix VI).

One ZIP per handover::

    manifest.json            every file and document with its metadata (Appendix VI
    manifest.xml             part II) and every PDF's path, size and SHA-256
    muc-luc-ho-so.pdf/.xlsx  the handover list
    <file code>/metadata.xml        the file's metadata
    <file code>/muc-luc-van-ban.pdf the file's contents list
    <file code>/NNN-<name>.pdf      each document's signed PDFs, in filing order

An outgoing document contributes its issued PDF (leader's signature and the seal) and its
signed attachments; an incoming one the PDFs as received. Each PDF's signatures are checked
when the package is built (``signing.validation.verify_pdf``) and the verdict is written in
the manifest as it was found then, no more. Entries carry the handover's time; the
printed lists inside are rendered afresh, so a rebuilt package has the same PDFs and
manifest entries but not byte-identical lists (the task builds it once and keeps it).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from xml.etree import ElementTree as ET

from django.utils import timezone

from . import exports
from .models import CaseFileItem

FORMAT = "mttq-archive-package"
FORMAT_VERSION = 1


def _safe(name: str, limit: int = 60) -> str:
    name = re.sub(r"[^0-9A-Za-z._-]+", "-", name or "").strip("-.")
    return (name or "tep")[:limit]


def _pdfs_of(item: CaseFileItem) -> list[tuple[str, bytes]]:
    """The signed PDFs of one filed document: (name, bytes)."""
    out: list[tuple[str, bytes]] = []
    if item.document_id:
        from signing.models import PdfStage, SignedPdf

        versions = SignedPdf.objects.filter(document_id=item.document_id,
                                            stage__in=[PdfStage.ISSUED, PdfStage.ATTACHMENT])
        issued = versions.filter(stage=PdfStage.ISSUED).order_by("-created_at", "-pk").first()
        if issued is not None:
            out.append(("van-ban.pdf", issued.read()))
        for index, attachment in enumerate(
                versions.filter(stage=PdfStage.ATTACHMENT).order_by("pk"), start=1):
            out.append((f"phu-luc-{index}.pdf", attachment.read()))
        return out
    for attachment in item.incoming.attachments.select_related("file").order_by("-main", "pk"):
        with attachment.file.blob.open("rb") as handle:
            data = handle.read()
        if data.startswith(b"%PDF") or b"%PDF" in data[:1024]:
            out.append((_safe(attachment.name), data))
    return out


def _verdict(data: bytes) -> dict:
    from signing.validation import verify_pdf

    report = verify_pdf(data)
    return {"verdict": report.verdict, "signatures": len(report.signatures)}


def _xml(tag: str, fields: dict) -> ET.Element:
    element = ET.Element(tag)
    for key, value in fields.items():
        if isinstance(value, list):
            continue
        child = ET.SubElement(element, key)
        child.text = "" if value is None else str(value)
    return element


def build(handover) -> bytes:
    """The package's bytes; reads the database and the stored PDFs afresh."""
    when = timezone.localtime(handover.created_at)
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
    entries: list[tuple[str, bytes]] = []
    files_out = []
    for case_file in exports.handover_files(handover):
        folder = _safe(f"{case_file.year}-{case_file.code}")
        items = list(case_file.items.select_related(
            "document__document_type", "document__unit", "document__signer", "incoming"))
        meta = exports.file_metadata(case_file, items)
        docs_out = []
        for item in items:
            doc_meta = exports.item_metadata(item)
            doc_files = []
            for name, data in _pdfs_of(item):
                path = f"{folder}/{item.ordinal:03d}-{name}"
                entries.append((path, data))
                doc_files.append({"path": path, "size": len(data),
                                  "sha256": hashlib.sha256(data).hexdigest(),
                                  "verification_at_packaging": _verdict(data)})
            doc_meta["files"] = doc_files
            docs_out.append(doc_meta)
        meta["documents"] = docs_out
        files_out.append(meta)
        entries.append((f"{folder}/muc-luc-van-ban.pdf",
                        exports.contents_pdf(case_file, items)))
        file_xml = _xml("File", meta)
        for doc_meta in docs_out:
            doc_xml = _xml("Document", doc_meta)
            for f in doc_meta["files"]:
                ET.SubElement(doc_xml, "Attachment", {"path": f["path"], "sha256": f["sha256"],
                                                      "size": str(f["size"])})
            file_xml.append(doc_xml)
        entries.append((f"{folder}/metadata.xml", _xml_bytes(file_xml)))
    entries.append(("muc-luc-ho-so.pdf", exports.handover_pdf(handover)))
    entries.append(("muc-luc-ho-so.xlsx", exports.handover_xlsx(handover)))
    manifest = {
        "format": FORMAT, "version": FORMAT_VERSION,
        "handover": {"id": handover.pk, "unit": handover.unit.name,
                     "organ_id": handover.unit.organ_id or handover.unit.code,
                     "handed_over_at": when.isoformat(), "by": str(handover.created_by),
                     "notes": handover.notes},
        "files": files_out,
    }
    entries.append(("manifest.json",
                    json.dumps(manifest, ensure_ascii=False, indent=2).encode()))
    root = ET.Element("ArchivePackage", {"format": FORMAT, "version": str(FORMAT_VERSION)})
    root.append(_xml("Handover", manifest["handover"]))
    for meta in files_out:
        file_xml = _xml("File", meta)
        for doc_meta in meta["documents"]:
            doc_xml = _xml("Document", doc_meta)
            for f in doc_meta["files"]:
                ET.SubElement(doc_xml, "Attachment", {
                    "path": f["path"], "sha256": f["sha256"], "size": str(f["size"]),
                    "verdict": f["verification_at_packaging"]["verdict"]})
            file_xml.append(doc_xml)
        root.append(file_xml)
    entries.append(("manifest.xml", _xml_bytes(root)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in entries:
            info = zipfile.ZipInfo(path, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return out.getvalue()


def _xml_bytes(element: ET.Element) -> bytes:
    ET.indent(element)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def verify(data: bytes) -> list[dict]:
    """Re-check a package from its manifest: each PDF's SHA-256 and signatures.

    Returns one row per PDF: path, ``sha256_ok``, ``verdict`` (now).
    """
    from signing.validation import verify_pdf

    rows = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        for case_file in manifest["files"]:
            for document in case_file["documents"]:
                for f in document["files"]:
                    content = archive.read(f["path"])
                    rows.append({"path": f["path"],
                                 "sha256_ok": hashlib.sha256(content).hexdigest() == f["sha256"],
                                 "verdict": verify_pdf(content).verdict})
    return rows

