"""Make an uploaded DOCX safe to hand to LibreOffice.

LibreOffice follows whatever a DOCX points at while converting it: an image
relationship with ``TargetMode="External"`` makes the server fetch an address
(SSRF), and one pointing at ``file:///…/seals/<another unit>.png`` embeds a local
file in the uploader's own PDF. Fields (``INCLUDEPICTURE``, ``INCLUDETEXT``,
``LINK``, ``DDE``…), OLE objects, ActiveX controls, alternative-format chunks,
attached templates and mail-merge sources can do the same. :func:`sanitize_docx`
rewrites the package without any of them before conversion; the converter also
runs without network and without sight of the media or key folders
(:func:`signing.docx_convert.convert_docx`), so either level alone stops the attack.

The XML is parsed with lxml without DTDs, entities or network, within libxml2's
default depth and size limits; a package with a DTD, too many parts or too much
uncompressed data is refused (zip bombs).
"""

from __future__ import annotations

import io
import logging
import posixpath
import re
import zipfile
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from lxml import etree

logger = logging.getLogger(__name__)

MAX_PARTS = 2000
MAX_UNCOMPRESSED = 256 * 1024 * 1024
MAX_XML_PART = 64 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, per part

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"

# Relationship types that import or run outside content even when the target sits
# inside the package (the last path segment of the type URI).
DROPPED_REL_TYPES = {
    "oleObject", "package", "aFChunk", "attachedTemplate", "subDocument", "frame",
    "control", "activeXControl", "activeXControlBinary", "mailMergeSource",
    "mailMergeHeaderSource", "mailMergeRecipientData", "recipientData", "externalLink",
    "externalLinkPath", "vbaProject", "wordVbaData", "dataSource",
}
HYPERLINK_TYPE = "hyperlink"
SAFE_LINK = re.compile(r"^(https?:|mailto:)", re.IGNORECASE)

# Elements removed wherever they appear in a WordprocessingML part.
DROPPED_ELEMENTS = [f"{{{W}}}object", f"{{{W}}}altChunk", f"{{{W}}}subDoc",
                    f"{{{W}}}mailMerge", f"{{{W}}}attachedTemplate", f"{{{W}}}control"]
# Fields that fetch or import something when updated (Word field codes).
FETCHING_FIELD = re.compile(
    r"^\s*(INCLUDEPICTURE|INCLUDETEXT|INCLUDE|IMPORT|LINK|DDE|DDEAUTO|DATABASE|"
    r"AUTOTEXTLIST)\b", re.IGNORECASE)
# An attribute value naming something outside the package (URL, UNC path, LibreOffice
# URL schemes): VML ``src``, ``o:href``, SVG ``href``…
OUTSIDE = re.compile(r"^\s*([a-z][a-z0-9+.\-]{1,40}:(?!\s*$)|//|\\\\)", re.IGNORECASE)
OUTSIDE_ATTRS = {"src", "href", "link", "id", "embed", "pict", "dataSource"}

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          dtd_validation=False, huge_tree=False, remove_comments=False)


class UnsafeDocx(ValueError):
    """The package cannot be made safe (bomb, DTD, broken XML): refuse it."""


@dataclass
class Sanitized:
    data: bytes
    removed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.removed)


def _parse(name: str, raw: bytes) -> etree._Element:
    if len(raw) > MAX_XML_PART:
        raise UnsafeDocx(_("A part of the DOCX file is too large."))
    try:
        tree = etree.parse(io.BytesIO(raw), _PARSER)
    except etree.XMLSyntaxError as exc:
        raise UnsafeDocx(_("The DOCX file is damaged and cannot be opened.")) from exc
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise UnsafeDocx(_("The DOCX file contains a document type declaration, which is "
                           "not accepted."))
    return tree.getroot()


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _source_dir(rels_name: str) -> str:
    # word/_rels/document.xml.rels describes word/document.xml: targets are relative to word/
    folder = posixpath.dirname(posixpath.dirname(rels_name))
    return folder


def _inside_package(rels_name: str, target: str) -> str | None:
    """The part a relationship points at, or None when it leaves the package."""
    if OUTSIDE.match(target) or "\\" in target or "%" in target:
        return None
    path = target.lstrip("/") if target.startswith("/") else posixpath.join(
        _source_dir(rels_name), target)
    normal = posixpath.normpath(path)
    if normal.startswith("../") or normal == ".." or normal.startswith("/"):
        return None
    return normal


def _clean_rels(name: str, root: etree._Element, removed: list[str],
                dropped_parts: set[str], dropped_ids: set[str]) -> bool:
    """Drop relationships that leave the package or import active content."""
    changed = False
    for rel in list(root):
        if rel.tag != f"{{{PKG_RELS}}}Relationship":
            continue
        kind = (rel.get("Type") or "").rstrip("/").rsplit("/", 1)[-1]
        target = rel.get("Target") or ""
        external = (rel.get("TargetMode") or "").lower() == "external"
        if kind == HYPERLINK_TYPE and external and SAFE_LINK.match(target.strip()):
            continue  # a clickable link in the PDF; LibreOffice does not fetch it
        part = None if external else _inside_package(name, target)
        if external or part is None or kind in DROPPED_REL_TYPES:
            removed.append(f"{name}: {kind} → {target[:200]}")
            dropped_ids.add(rel.get("Id") or "")
            if part is not None:
                dropped_parts.add(part)
            root.remove(rel)
            changed = True
    return changed


def _clean_fields(root: etree._Element, name: str, removed: list[str]) -> bool:
    changed = False
    # Simple fields: keep the shown result, drop the instruction.
    for simple in root.iter(f"{{{W}}}fldSimple"):
        if FETCHING_FIELD.match(simple.get(f"{{{W}}}instr") or ""):
            removed.append(f"{name}: field {simple.get(f'{{{W}}}instr')[:100]}")
            parent = simple.getparent()
            index = parent.index(simple)
            for offset, child in enumerate(list(simple)):
                parent.insert(index + offset, child)
            parent.remove(simple)
            changed = True
    # Complex fields: the instruction may be split over many runs and fields nest, so
    # collect each field's instruction text from its begin to its separate/end marker.
    stack: list[list[etree._Element]] = []
    collecting: list[bool] = []
    for element in root.iter(f"{{{W}}}fldChar", f"{{{W}}}instrText", f"{{{W}}}delInstrText"):
        if element.tag.endswith("}fldChar"):
            kind = element.get(f"{{{W}}}fldCharType")
            if kind == "begin":
                stack.append([])
                collecting.append(True)
            elif stack and kind in ("separate", "end"):
                if collecting[-1]:
                    collecting[-1] = False
                    parts = stack[-1]
                    text = "".join(p.text or "" for p in parts)
                    if FETCHING_FIELD.match(text):
                        removed.append(f"{name}: field {text[:100]}")
                        for part in parts:
                            part.text = ""
                        changed = True
                if kind == "end":
                    stack.pop()
                    collecting.pop()
        elif stack and collecting[-1]:
            stack[-1].append(element)
    return changed


def _clean_elements(root: etree._Element, name: str, removed: list[str],
                    dropped_ids: set[str]) -> bool:
    changed = False
    for element in list(root.iter(*DROPPED_ELEMENTS)):
        parent = element.getparent()
        if parent is not None:
            removed.append(f"{name}: {etree.QName(element).localname}")
            parent.remove(element)
            changed = True
    r_prefix = f"{{{R}}}"
    # One pass over the attributes, with plain string tests (a QName per attribute made
    # this most of the sanitiser's time on a long document).
    for element in root.iter():
        attrib = element.attrib
        if not attrib or not isinstance(element.tag, str):
            continue
        for attr, value in list(attrib.items()):
            local = attr.rpartition("}")[2]
            # A reference to a dropped relationship (r:link on a:blip, r:id on v:imagedata).
            if dropped_ids and attr.startswith(r_prefix) and value in dropped_ids:
                del attrib[attr]
                changed = True
            elif local in OUTSIDE_ATTRS and OUTSIDE.match(value) and not value.startswith(
                    "data:"):
                removed.append(f"{name}: {local}={value[:100]}")
                del attrib[attr]
                changed = True
    return changed


SVG_ACTIVE = {"style", "script", "foreignObject"}
CSS_URL = re.compile(r"url\(\s*['\"]?\s*(?!#)", re.IGNORECASE)


def _clean_svg(root: etree._Element, name: str, removed: list[str]) -> bool:
    """An SVG image: no style sheets, scripts or foreign content, no ``url(…)`` but ``#id``."""
    changed = False
    for element in list(root.iter()):
        if not isinstance(element.tag, str):
            continue
        if etree.QName(element).localname in SVG_ACTIVE and element.getparent() is not None:
            removed.append(f"{name}: {etree.QName(element).localname}")
            element.getparent().remove(element)
            changed = True
            continue
        for attr, value in list(element.attrib.items()):
            if CSS_URL.search(value):
                removed.append(f"{name}: {etree.QName(attr).localname}={value[:100]}")
                del element.attrib[attr]
                changed = True
    return changed


def sanitize_docx(data: bytes) -> Sanitized:
    """The DOCX without anything that reaches outside the package; refuses bombs and DTDs."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnsafeDocx(_("The DOCX file is damaged and cannot be opened.")) from exc
    if len(infos) > MAX_PARTS:
        raise UnsafeDocx(_("The DOCX file has too many parts."))
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(
                info.compress_size, 1):
            raise UnsafeDocx(_("The DOCX file is compressed suspiciously well and was refused."))
    if total > MAX_UNCOMPRESSED:
        raise UnsafeDocx(_("The DOCX file is too large once uncompressed."))

    removed: list[str] = []
    parts: dict[str, bytes] = {}
    order: list[str] = []
    try:
        for info in infos:
            if info.is_dir() or info.filename in parts:
                continue
            parts[info.filename] = archive.read(info)
            order.append(info.filename)
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError) as exc:
        raise UnsafeDocx(_("The DOCX file is damaged and cannot be opened.")) from exc

    dropped_parts: set[str] = set()
    # Relationship ids are per source part: word/_rels/document.xml.rels → word/document.xml
    dropped_ids: dict[str, set[str]] = {}
    rewritten: dict[str, bytes] = {}
    for name in order:
        if name.endswith(".rels"):
            root = _parse(name, parts[name])
            source = posixpath.join(_source_dir(name), posixpath.basename(name)[:-5])
            if _clean_rels(name, root, removed, dropped_parts,
                           dropped_ids.setdefault(source, set())):
                rewritten[name] = _serialize(root)
    for name in order:
        lower = name.lower()
        if name.endswith(".rels") or not (lower.endswith(".xml") or lower.endswith(".svg")
                                          or lower.endswith(".vml")):
            continue
        root = _parse(name, parts[name])
        changed = False
        if lower.endswith(".svg"):
            changed |= _clean_svg(root, name, removed)
        if lower.endswith((".svg", ".vml")) or name.startswith("word/"):
            changed |= _clean_elements(root, name, removed, dropped_ids.get(name, set()))
            changed |= _clean_fields(root, name, removed)
        if name == "[Content_Types].xml" and dropped_parts:
            for override in list(root):
                part = (override.get("PartName") or "").lstrip("/")
                if part in dropped_parts:
                    root.remove(override)
                    changed = True
        if changed:
            rewritten[name] = _serialize(root)
    # Parts only an OLE object, ActiveX control or macro container uses go as well.
    for name in order:
        lower = name.lower()
        if name not in dropped_parts and (lower.endswith("vbaproject.bin") or lower.startswith(
                ("word/embeddings/", "word/activex/"))):
            dropped_parts.add(name)
            removed.append(f"part {name}")
    if not removed:
        return Sanitized(data)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in order:
            if name in dropped_parts and name != "[Content_Types].xml" and not name.endswith(
                    ".rels"):
                continue
            target.writestr(name, rewritten.get(name, parts[name]))
    logger.warning("DOCX sanitised before conversion: %s", "; ".join(removed[:50]))
    return Sanitized(out.getvalue(), removed)
