"""edXML packages (QCVN 102:2016/BTTTT): writing and safely reading them.

Pure functions on bytes and plain data: no database. :mod:`workflow.exchange.services`
maps documents to :class:`DocumentPackage` and back. The layout, every element and what
was and was not checked against the standard are in ``docs/exchange.md``.

Reading is defensive: size limit before parsing; UTF-8 only (no NUL, no other declared
encoding); any DOCTYPE/ENTITY declaration refused (on the bytes, and by the tree builder
should one get through); lxml with ``resolve_entities=False``, ``no_network=True``,
``load_dtd=False``, ``huge_tree=False``, building the tree in Python (``TreeBuilder``
target) so a base64 attachment above libxml2's 10 MB text limit still reads; namespace and required
fields checked; each attachment's base64 decoded strictly and its SHA-256 and size
compared with the manifest. Every refusal raises :class:`PackageError` with a translated
message, before anything is stored.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from lxml import etree

from workflow.documents.errors import InvalidInput

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
# Our own additions (package id, SHA-256/size/main flag of each attachment,
# confidentiality): a separate namespace so a partner's reader can ignore them.
EXT = "urn:mttq-eoffice:edxml-extension:1"
NSMAP = {"edXML": NS, "mttq": EXT}

# OtherInfo/Priority: 0 Thường, 1 Khẩn, 2 Thượng khẩn, 3 Hỏa tốc (4 Hỏa tốc hẹn giờ).
PRIORITY_CODES = {"normal": "0", "urgent": "1", "express": "2", "flash": "3"}
PRIORITY_FROM_CODE = {"0": "normal", "1": "urgent", "2": "express", "3": "flash",
                      "4": "flash"}
# Business/BusinessDocType: 0 new, 1 recall (thu hồi), 2 update, 3 replace (thay thế).
BUSINESS_NEW, BUSINESS_RECALL, BUSINESS_UPDATE, BUSINESS_REPLACE = "0", "1", "2", "3"

# Status codes (StatusCode) and what they mean here.
STATUS_RECEIVED = "01"  # Đã đến: arrived, not handled yet
STATUS_RETURNED = "02"  # Từ chối tiếp nhận
STATUS_REGISTERED = "03"  # Đã tiếp nhận (registered)
STATUS_ASSIGNED = "04"  # Phân công
STATUS_IN_HANDLING = "05"  # Đang xử lý
STATUS_DONE = "06"  # Hoàn thành
STATUS_RECALL_ACK = "15"  # the recipient agreed to the recall
STATUS_CODES = (STATUS_RECEIVED, STATUS_RETURNED, STATUS_REGISTERED, STATUS_ASSIGNED,
                STATUS_IN_HANDLING, STATUS_DONE, STATUS_RECALL_ACK)


class PackageError(InvalidInput):
    default_message = gettext_lazy("The edXML package is not valid.")


@dataclass
class Organ:
    organ_id: str
    name: str = ""
    in_charge: str = ""


@dataclass
class Attachment:
    name: str
    content_type: str
    data: bytes
    main: bool = False
    description: str = ""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class ResponseFor:
    organ_id: str
    code: str
    promulgation_date: dt.date | None
    document_id: str


@dataclass
class DocumentPackage:
    package_id: str
    document_id: str
    sender: Organ
    to: list[Organ]
    code_number: str
    code_notation: str
    place: str
    promulgation_date: dt.date
    type_code: str  # DocumentType/Type: 1 legal normative, 2 administrative
    type_detail: str
    type_name: str
    subject: str
    content: str = ""
    competence: str = ""
    position: str = ""
    signer: str = ""
    due_date: dt.date | None = None
    to_places: list[str] = field(default_factory=list)
    priority: str = "normal"
    page_amount: int | None = None
    confidential: bool = False
    steering_type: str = "0"
    response_for: list[ResponseFor] = field(default_factory=list)
    business_type: str = BUSINESS_NEW
    business_reason: str = ""
    replaces: list[str] = field(default_factory=list)  # DocumentIds
    timestamp: dt.datetime | None = None
    attachments: list[Attachment] = field(default_factory=list)


@dataclass
class StatusPackage:
    package_id: str
    response_for: ResponseFor
    sender: Organ
    status_code: str
    description: str
    timestamp: dt.datetime
    staff: str = ""
    department: str = ""


def document_id(organ_id: str, date: dt.date, notation: str) -> str:
    """The DocumentId form seen in partners' messages: ``OrganId,yyyy/mm/dd,CodeNotation``."""
    return f"{organ_id},{date:%Y/%m/%d},{notation}"


# --- writing ---------------------------------------------------------------------------------


def _q(name: str, ns: str = NS) -> str:
    return f"{{{ns}}}{name}"


def _add(parent, name: str, text=None, ns: str = NS):
    el = etree.SubElement(parent, _q(name, ns))
    if text is not None:
        el.text = str(text)
    return el


def _organ(parent, name: str, organ: Organ) -> None:
    el = _add(parent, name)
    _add(el, "OrganId", organ.organ_id)
    _add(el, "OrganizationInCharge", organ.in_charge)
    _add(el, "OrganName", organ.name)


def _response_for(parent, item: ResponseFor) -> None:
    el = _add(parent, "ResponseFor")
    _add(el, "OrganId", item.organ_id)
    _add(el, "Code", item.code)
    _add(el, "PromulgationDate", item.promulgation_date.isoformat()
         if item.promulgation_date else "")
    _add(el, "DocumentId", item.document_id)


def _envelope(package_id: str, timestamp: dt.datetime):
    root = etree.Element(_q("edXML"), nsmap=NSMAP)
    envelope = _add(root, "edXMLEnvelope")
    header = _add(envelope, "edXMLHeader")
    return root, envelope, header


def _serialise(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def write_document(p: DocumentPackage) -> bytes:
    stamp = p.timestamp or dt.datetime.now(dt.UTC)
    root, envelope, header = _envelope(p.package_id, stamp)
    mh = _add(header, "MessageHeader")
    _organ(mh, "From", p.sender)
    for organ in p.to:
        _organ(mh, "To", organ)
    _add(mh, "DocumentId", p.document_id)
    code = _add(mh, "Code")
    _add(code, "CodeNumber", p.code_number)
    _add(code, "CodeNotation", p.code_notation)
    prom = _add(mh, "PromulgationInfo")
    _add(prom, "Place", p.place)
    _add(prom, "PromulgationDate", p.promulgation_date.isoformat())
    dtype = _add(mh, "DocumentType")
    _add(dtype, "Type", p.type_code)
    _add(dtype, "TypeDetail", p.type_detail)
    _add(dtype, "TypeName", p.type_name)
    _add(mh, "Subject", p.subject)
    _add(mh, "Content", p.content)
    signer = _add(mh, "SignerInfo")
    _add(signer, "Competence", p.competence)
    _add(signer, "Position", p.position)
    _add(signer, "FullName", p.signer)
    _add(mh, "DueDate", p.due_date.isoformat() if p.due_date else "")
    places = _add(mh, "ToPlaces")
    for place in p.to_places:
        _add(places, "Place", place)
    other = _add(mh, "OtherInfo")
    _add(other, "Priority", PRIORITY_CODES.get(p.priority, "0"))
    _add(other, "PageAmount", p.page_amount if p.page_amount is not None else "")
    _add(other, "Confidential", "1" if p.confidential else "0", EXT)
    _add(mh, "SteeringType", p.steering_type)
    for item in p.response_for:
        _response_for(mh, item)
    _add(mh, "PackageId", p.package_id, EXT)
    trace_list = _add(header, "TraceHeaderList")
    trace = _add(trace_list, "TraceHeader")
    _add(trace, "OrganId", p.sender.organ_id)
    _add(trace, "Timestamp", stamp.isoformat(timespec="seconds"))
    business = _add(header, "Business")
    _add(business, "BusinessDocType", p.business_type)
    _add(business, "BusinessDocReason", p.business_reason)
    if p.replaces:
        infos = _add(business, "ReplacementInfoList")
        for doc_id in p.replaces:
            info = _add(infos, "ReplacementInfo")
            _add(info, "DocumentId", doc_id)
    body = _add(envelope, "edXMLBody")
    manifest = _add(body, "edXMLManifest")
    encoded = _add(root, "AttachmentEncoded")
    for n, att in enumerate(p.attachments, start=1):
        cid = f"attachment{n}"
        ref = _add(manifest, "Reference")
        _add(ref, "ContentId", f"cid:{cid}")
        _add(ref, "ContentType", att.content_type)
        _add(ref, "Description", att.description)
        _add(ref, "AttachmentName", att.name)
        _add(ref, "Sha256", att.sha256, EXT)
        _add(ref, "Size", len(att.data), EXT)
        _add(ref, "Main", "1" if att.main else "0", EXT)
        item = _add(encoded, "Attachment")
        _add(item, "ContentId", cid)
        _add(item, "AttachmentName", att.name)
        _add(item, "ContentType", att.content_type)
        _add(item, "ContentTransferEncoding", "base64")
        _add(item, "ContentTransferEncoded", base64.b64encode(att.data).decode("ascii"))
    return _serialise(root)


def write_status(s: StatusPackage) -> bytes:
    root, envelope, header = _envelope(s.package_id, s.timestamp)
    status = _add(header, "Status")
    _response_for(status, s.response_for)
    _organ(status, "From", s.sender)
    _add(status, "StatusCode", s.status_code)
    _add(status, "Description", s.description)
    _add(status, "Timestamp", s.timestamp.isoformat(timespec="seconds"))
    staff = _add(status, "StaffInfo")
    _add(staff, "Department", s.department)
    _add(staff, "Staff", s.staff)
    _add(status, "PackageId", s.package_id, EXT)
    return _serialise(root)


# --- reading ---------------------------------------------------------------------------------


class _Builder(etree.TreeBuilder):
    """Builds the tree in Python, so one base64 text may exceed libxml2's 10 MB text-node
    limit while ``huge_tree`` stays off (that limit also guards depth and names); notes a
    DOCTYPE should one get past the byte checks."""

    doctype_seen = False

    def doctype(self, *args) -> None:
        self.doctype_seen = True


def _parser(builder: _Builder) -> etree.XMLParser:
    return etree.XMLParser(target=builder, resolve_entities=False, no_network=True,
                           load_dtd=False, dtd_validation=False, huge_tree=False,
                           remove_pis=True, remove_comments=True)


def parse(data: bytes, *, max_bytes: int):
    """Parse a package; returns a :class:`DocumentPackage` or :class:`StatusPackage`."""
    if not data:
        raise PackageError(_("The edXML package is empty."))
    if len(data) > max_bytes:
        raise PackageError(_("The edXML package is larger than the %(mb)s MB allowed.")
                           % {"mb": max_bytes // (1024 * 1024)})
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.lstrip().startswith(b"<"):
        raise PackageError(_("The file is not XML."))
    # Packages are UTF-8 (NUL is not allowed in XML): so the byte checks below see every
    # declaration, which an UTF-16 or "<\0!\0D…" disguise could otherwise hide.
    if b"\x00" in data or not _utf8(data) or _declared_encoding(data) not in ("", "utf-8",
                                                                             "utf8"):
        raise PackageError(_("The edXML package is not UTF-8 text."))
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise PackageError(_("The edXML package declares a DTD or entities, which are not "
                             "accepted."))
    builder = _Builder()
    try:
        tree = etree.fromstring(data, _parser(builder))
    except etree.XMLSyntaxError:
        raise PackageError(_("The file is not well-formed XML.")) from None
    if builder.doctype_seen:
        raise PackageError(_("The edXML package declares a DTD or entities, which are not "
                             "accepted."))
    if any(isinstance(el, etree._Entity) for el in tree.iter()):
        raise PackageError(_("The edXML package declares a DTD or entities, which are not "
                             "accepted."))
    if tree.tag != _q("edXML"):
        raise PackageError(_("The root element is not edXML in the namespace of QCVN "
                             "102:2016 (%(ns)s).") % {"ns": NS})
    header = _path(tree, "edXMLEnvelope", "edXMLHeader")
    status = header.find(_q("Status"))
    if status is not None:
        return _read_status(status)
    mh = header.find(_q("MessageHeader"))
    if mh is None:
        raise _missing("edXMLHeader/MessageHeader")
    return _read_document(tree, header, mh)


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _declared_encoding(data: bytes) -> str:
    import re

    match = re.match(rb"""\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""", data[:200])
    return match.group(1).decode("ascii").lower() if match else ""


def _missing(name: str) -> PackageError:
    return PackageError(_("The edXML package has no %(field)s.") % {"field": name})


def _path(el, *names: str):
    for name in names:
        nxt = el.find(_q(name))
        if nxt is None:
            raise _missing("/".join(names))
        el = nxt
    return el


def _text(el, name: str, *, required: str | None = None, ns: str = NS) -> str:
    child = el.find(_q(name, ns)) if el is not None else None
    value = (child.text or "").strip() if child is not None else ""
    if required and not value:
        raise _missing(required)
    return value


def _date(value: str, label: str, *, required: bool = False) -> dt.date | None:
    if not value:
        if required:
            raise _missing(label)
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise PackageError(_("%(field)s is not a date (YYYY-MM-DD): %(value)s")
                           % {"field": label, "value": value[:40]}) from None


def _read_organ(el, label: str, required: bool = True) -> Organ:
    if el is None:
        raise _missing(label)
    return Organ(_text(el, "OrganId", required=f"{label}/OrganId" if required else None),
                 _text(el, "OrganName", required=f"{label}/OrganName" if required else None),
                 _text(el, "OrganizationInCharge"))


def _read_response_for(el) -> ResponseFor:
    return ResponseFor(_text(el, "OrganId"), _text(el, "Code"),
                       _date(_text(el, "PromulgationDate"), "ResponseFor/PromulgationDate"),
                       _text(el, "DocumentId"))


def _read_status(el) -> StatusPackage:
    rf = el.find(_q("ResponseFor"))
    if rf is None:
        raise _missing("Status/ResponseFor")
    response_for = _read_response_for(rf)
    if not response_for.document_id:
        raise _missing("Status/ResponseFor/DocumentId")
    code = _text(el, "StatusCode", required="Status/StatusCode")
    if code not in STATUS_CODES:
        raise PackageError(_("Unknown status code %(code)s.") % {"code": code[:8]})
    stamp_text = _text(el, "Timestamp", required="Status/Timestamp")
    try:
        stamp = dt.datetime.fromisoformat(stamp_text)
    except ValueError:
        raise PackageError(_("Status/Timestamp is not a date and time.")) from None
    staff = el.find(_q("StaffInfo"))
    return StatusPackage(
        package_id=_text(el, "PackageId", ns=EXT), response_for=response_for,
        sender=_read_organ(el.find(_q("From")), "Status/From"), status_code=code,
        description=_text(el, "Description"), timestamp=stamp,
        staff=_text(staff, "Staff"), department=_text(staff, "Department"))


def _read_document(root, header, mh) -> DocumentPackage:
    sender = _read_organ(mh.find(_q("From")), "MessageHeader/From")
    to = [_read_organ(el, "MessageHeader/To") for el in mh.findall(_q("To"))]
    if not to:
        raise _missing("MessageHeader/To")
    code = mh.find(_q("Code"))
    prom = mh.find(_q("PromulgationInfo"))
    dtype = mh.find(_q("DocumentType"))
    signer = mh.find(_q("SignerInfo"))
    other = mh.find(_q("OtherInfo"))
    business = header.find(_q("Business"))
    notation = _text(code, "CodeNotation", required="Code/CodeNotation")
    promulgated = _date(_text(prom, "PromulgationDate"), "PromulgationInfo/PromulgationDate",
                        required=True)
    pages = _text(other, "PageAmount")
    priority_code = _text(other, "Priority") or "0"
    if priority_code not in PRIORITY_FROM_CODE:
        raise PackageError(_("Unknown priority code %(code)s.") % {"code": priority_code[:8]})
    package = DocumentPackage(
        package_id=_text(mh, "PackageId", ns=EXT),
        document_id=_text(mh, "DocumentId") or document_id(sender.organ_id, promulgated,
                                                            notation),
        sender=sender, to=to,
        code_number=_text(code, "CodeNumber"), code_notation=notation,
        place=_text(prom, "Place"), promulgation_date=promulgated,
        type_code=_text(dtype, "Type"), type_detail=_text(dtype, "TypeDetail"),
        type_name=_text(dtype, "TypeName", required="DocumentType/TypeName"),
        subject=_text(mh, "Subject", required="MessageHeader/Subject"),
        content=_text(mh, "Content"),
        competence=_text(signer, "Competence"), position=_text(signer, "Position"),
        signer=_text(signer, "FullName"),
        due_date=_date(_text(mh, "DueDate"), "DueDate"),
        to_places=[(el.text or "").strip() for el in
                   (mh.find(_q("ToPlaces")) if mh.find(_q("ToPlaces")) is not None else [])],
        priority=PRIORITY_FROM_CODE[priority_code],
        page_amount=int(pages) if pages.isdigit() else None,
        confidential=_text(other, "Confidential", ns=EXT) == "1",
        steering_type=_text(mh, "SteeringType"),
        response_for=[_read_response_for(el) for el in mh.findall(_q("ResponseFor"))],
        business_type=_text(business, "BusinessDocType") or BUSINESS_NEW,
        business_reason=_text(business, "BusinessDocReason"),
        replaces=[_text(el, "DocumentId") for el in header.iterfind(
            f"{_q('Business')}/{_q('ReplacementInfoList')}/{_q('ReplacementInfo')}")],
    )
    package.attachments = _read_attachments(root)
    if not package.attachments:
        raise PackageError(_("The edXML package carries no attachment."))
    return package


def _read_attachments(root) -> list[Attachment]:
    manifest = root.find(f"{_q('edXMLEnvelope')}/{_q('edXMLBody')}/{_q('edXMLManifest')}")
    encoded = {}
    for item in root.iterfind(f"{_q('AttachmentEncoded')}/{_q('Attachment')}"):
        cid = _text(item, "ContentId", required="Attachment/ContentId")
        encoding = (_text(item, "ContentTransferEncoding") or "base64").lower()
        if encoding != "base64":
            raise PackageError(_("Attachment %(cid)s is not base64-encoded.") % {"cid": cid})
        raw = "".join((_text(item, "ContentTransferEncoded") or "").split())
        try:
            encoded[cid] = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise PackageError(_("Attachment %(cid)s is not valid base64.")
                               % {"cid": cid}) from None
    out = []
    refs = manifest.findall(_q("Reference")) if manifest is not None else []
    for ref in refs:
        cid = _text(ref, "ContentId", required="Reference/ContentId").removeprefix("cid:")
        if cid not in encoded:
            raise PackageError(_("Attachment %(cid)s listed in the manifest is missing.")
                               % {"cid": cid})
        data = encoded.pop(cid)
        name = _text(ref, "AttachmentName", required="Reference/AttachmentName")
        declared = _text(ref, "Sha256", ns=EXT).lower()
        if declared and hashlib.sha256(data).hexdigest() != declared:
            raise PackageError(_("Attachment %(name)s does not match its SHA-256: it was "
                                 "altered or damaged.") % {"name": name})
        size = _text(ref, "Size", ns=EXT)
        if size and (not size.isdigit() or int(size) != len(data)):
            raise PackageError(_("Attachment %(name)s does not have its declared size.")
                               % {"name": name})
        out.append(Attachment(name=name[:255],
                              content_type=_text(ref, "ContentType") or
                              "application/octet-stream",
                              data=data, main=_text(ref, "Main", ns=EXT) == "1",
                              description=_text(ref, "Description")))
    if encoded:
        raise PackageError(_("The package carries attachments not listed in its manifest."))
    if out and not any(a.main for a in out):
        out[0].main = True  # a partner's package: the first attachment is the document
    return out
