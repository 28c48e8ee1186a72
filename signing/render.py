"""Approved document → A4 PDF in the Decree 30 layout (Appendix I), with form fields.

The page content is drawn with ReportLab (Liberation Serif embedded, metric
compatible with Times New Roman); its C accelerator (package ``rl_accel``) makes
long bodies about a quarter faster and gives the same bytes. ReportLab cannot
make signature fields nor text fields with an embedded Unicode font, so the layout
only reserves *slots*; pyHanko then adds, in one incremental update:

* ``so_ky_hieu`` and ``ngay_ban_hanh`` text fields (empty until issue, filled
  later in an incremental update — see :mod:`signing.pdfops`);
* ``NguoiKy`` — the competent person's signature field, between title and name;
* ``DauCoQuan`` — the organisation's seal field, covering the left third of it.

Uploaded PDFs keep their pages and get a Decree 30 signature page appended;
uploaded DOCX files are converted with LibreOffice first.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import io
import logging
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

from django.utils.translation import gettext as _
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from .paragraphs import PlainParagraph, merge_runs


def _font_dir() -> Path:
    # Debian's fonts-liberation (1.07) lacks the precomposed Vietnamese letters
    # (ơ, ư, ố, ệ…); fonts-liberation2 (2.x) has them, so it is preferred.
    configured = os.environ.get("MTTQ_FONT_DIR")
    if configured:
        return Path(configured)
    for candidate in ("/usr/share/fonts/truetype/liberation2",
                      "/usr/share/fonts/truetype/liberation"):
        if (Path(candidate) / "LiberationSerif-Regular.ttf").exists():
            return Path(candidate)
    return Path("/usr/share/fonts/truetype/liberation2")


FONT_DIR = _font_dir()
FONT_FILES = {
    "Serif": "LiberationSerif-Regular.ttf",
    "Serif-Bold": "LiberationSerif-Bold.ttf",
    "Serif-Italic": "LiberationSerif-Italic.ttf",
    "Serif-BoldItalic": "LiberationSerif-BoldItalic.ttf",
}

# Appendix I: margins top/bottom 20-25 mm, left 30-35 mm, right 15-20 mm.
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 30 * mm, 15 * mm, 20 * mm, 20 * mm
CONTENT_WIDTH = A4[0] - MARGIN_LEFT - MARGIN_RIGHT

NUMBER_FIELD = "so_ky_hieu"
DATE_FIELD = "ngay_ban_hanh"
PERSON_FIELD = "NguoiKy"
SEAL_FIELD = "DauCoQuan"
ATTACHMENT_SEAL_FIELD = "DauCoQuanPhuLuc"

SIGNATURE_BOX = (62 * mm, 30 * mm)  # width, height of the person's signature field
SEAL_SIZE = 36 * mm  # real size of a round seal (Decree 99/2016: 35-42 mm)
# The seal's caption (organisation, signing time) sits in a band under the seal image,
# not over its red ring, where it could not be read.
SEAL_CAPTION_H = 9 * mm
# The board that issues under the committee's seal (Hướng dẫn 91/HD-MTTW-BTT): symbols of
# its documents end in -BTT, and the header names it under the committee.
STANDING_BOARD = "BAN THƯỜNG TRỰC"

logger = logging.getLogger(__name__)


class RenderError(Exception):
    """A translated message explaining why the PDF could not be produced."""


def font_path(name: str = "Serif") -> str:
    return str(FONT_DIR / FONT_FILES[name])


_fonts_ready = False


def _register_fonts() -> None:
    global _fonts_ready
    if _fonts_ready:
        return
    from reportlab.lib.fonts import addMapping

    for name, filename in FONT_FILES.items():
        path = FONT_DIR / filename
        if not path.exists():
            raise RenderError(_("The font %(font)s is not installed.") % {"font": filename})
        pdfmetrics.registerFont(TTFont(name, str(path)))
    addMapping("Serif", 0, 0, "Serif")
    addMapping("Serif", 1, 0, "Serif-Bold")
    addMapping("Serif", 0, 1, "Serif-Italic")
    addMapping("Serif", 1, 1, "Serif-BoldItalic")
    _fonts_ready = True


# --- what goes on the page ---------------------------------------------------------------


@dataclass
class Layout:
    """Everything printed on the document, already resolved to strings."""

    parent_body: str
    issuing_body: str
    type_name: str  # "KẾ HOẠCH"; empty for a Công văn
    subject: str
    body_html: str
    authority: str  # "TM. BAN THƯỜNG TRỰC\nKT. CHỦ TỊCH": one line each (signing.capacity)
    signer_title: str  # "PHÓ CHỦ TỊCH"; empty when the authority says it all (Q.)
    signer_name: str
    recipients: list[str] = field(default_factory=list)
    storage_line: str = "Lưu: VT."
    is_official_letter: bool = False
    committee: str = ""  # "BAN THƯỜNG TRỰC" under the issuing body, when it issues
    urgency: str = ""  # "KHẨN", "THƯỢNG KHẨN", "HOẢ TỐC" (signing.marks)
    secrecy: str = ""  # "MẬT", "TỐI MẬT", "TUYỆT MẬT" (signing.marks)


@dataclass
class FieldBox:
    name: str
    page: int  # 0-based
    rect: tuple[float, float, float, float]  # x1, y1, x2, y2 in points


@dataclass
class RenderedPdf:
    data: bytes
    page_count: int
    sha256: str
    fields: list[FieldBox]


def layout_for(document, capacity=None) -> Layout:
    """Collect the Decree 30 elements of a document from the database.

    ``capacity``: the :class:`signing.capacity.SigningCapacity` signed in; by default the
    signer's first one.
    """
    from . import capacity as capacities
    from . import marks

    unit = document.unit
    signer = document.signer or document.approver
    capacity = capacity or capacities.for_layout(document, signer)
    is_letter = not document.document_type.abbreviation
    subject = document.subject.strip()
    if is_letter and subject.lower().startswith("v/v"):
        subject = subject[3:].strip()
    recipients = marks.recipients_of(document)
    from workflow.documents.numbering import _issuer

    issuer = (_issuer(document) or "").upper()
    committee = STANDING_BOARD if issuer.endswith("BTT") else ""
    return Layout(
        committee=committee,
        parent_body=(unit.parent_name or "").upper(),
        issuing_body=unit.name.upper(),
        type_name="" if is_letter else document.document_type.name.upper(),
        subject=subject,
        body_html=document.body or "",
        authority="\n".join(capacity.authority),
        signer_title=capacity.title,
        signer_name=(signer.full_name or signer.get_full_name() or signer.username)
        if signer
        else "",
        recipients=recipients,
        storage_line=marks.storage_line(document),
        is_official_letter=is_letter,
        **marks.marks_of(document),
    )


# --- flowables ----------------------------------------------------------------------------


class Slot(Flowable):
    """Reserves space and records where it landed, so pyHanko can put a field there."""

    def __init__(self, name: str, width: float, height: float, sink: list[FieldBox]):
        super().__init__()
        self.name, self.width, self.height, self.sink = name, width, height, sink

    def wrap(self, avail_width, avail_height):
        return self.width, self.height

    def draw(self):
        x, y = self.canv.absolutePosition(0, 0)
        page = self.canv.getPageNumber() - 1
        self.sink.append(FieldBox(self.name, page, (x, y, x + self.width, y + self.height)))


class Rule(Flowable):
    """The short solid line under the issuing body, motto and subject."""

    def __init__(self, width: float, line: float, space: float = 2):
        super().__init__()
        self.width, self.line, self.space = width, line, space

    def wrap(self, avail_width, avail_height):
        return self.width, self.space + 4

    def draw(self):
        # Drawn at the bottom of a box taller than the gap, so it clears the descenders.
        self.canv.setLineWidth(0.6)
        start = (self.width - self.line) / 2
        self.canv.line(start, 1, start + self.line, 1)


def _style(name: str, size: float, *, font: str = "Serif", align=TA_LEFT, leading=None,
           **extra) -> ParagraphStyle:
    return ParagraphStyle(name, fontName=font, fontSize=size, leading=leading or size * 1.2,
                          alignment=align, **extra)


class _HtmlToFlowables(HTMLParser):
    """A small, strict converter for the sanitised body HTML (see documents.services)."""

    INLINE = {"strong": "b", "b": "b", "em": "i", "i": "i", "u": "u", "s": "strike",
              "sup": "super", "sub": "sub"}

    def __init__(self, styles: dict[str, ParagraphStyle]):
        super().__init__(convert_charrefs=True)
        self.styles = styles
        self.flowables: list[Flowable] = []
        self.buffer: list[str] = []
        self.block = "p"
        self.lists: list[list] = []  # [kind, counter]
        self.table: list[list[list[str]]] | None = None
        self.cell: list[str] | None = None
        self.align: str | None = None

    def _flush(self):
        text = "".join(self.buffer).strip()
        self.buffer = []
        if not text:
            return
        style = self.styles.get(self.block, self.styles["p"])
        if self.align:
            style = _aligned(style, self.align)
        if self.block == "li" and self.lists:
            kind = self.lists[-1]
            kind[1] += 1
            bullet = f"{kind[1]}." if kind[0] == "ol" else "-"
            text = f"{bullet} {text}"
        if "<" in text:  # inline markup: ReportLab's Paragraph
            self.flowables.append(Paragraph(text, style))
        else:
            self.flowables.append(PlainParagraph(html.unescape(text), style))

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self.INLINE:
            target = self.cell if self.cell is not None else self.buffer
            target.append(f"<{self.INLINE[tag]}>")
        elif tag == "br":
            (self.cell if self.cell is not None else self.buffer).append("<br/>")
        elif tag in ("p", "div", "li", "h1", "h2", "h3", "h4", "blockquote"):
            if self.cell is not None:
                return
            self._flush()
            self.block = {"div": "p", "blockquote": "p"}.get(tag, tag)
            style = attrs.get("style") or ""
            self.align = None
            for value in ("center", "right", "left"):
                if f"text-align: {value}" in style or f"text-align:{value}" in style:
                    self.align = value
        elif tag in ("ul", "ol"):
            self._flush()
            self.lists.append([tag, 0])
        elif tag == "table":
            self._flush()
            self.table = []
        elif tag == "tr" and self.table is not None:
            self.table.append([])
        elif tag in ("td", "th") and self.table is not None:
            self.cell = ["<b>"] if tag == "th" else []

    def handle_endtag(self, tag):
        if tag in self.INLINE:
            target = self.cell if self.cell is not None else self.buffer
            target.append(f"</{self.INLINE[tag]}>")
        elif tag in ("p", "div", "li", "h1", "h2", "h3", "h4", "blockquote"):
            if self.cell is None:
                self._flush()
                self.block = "li" if self.lists else "p"
                self.align = None
        elif tag in ("ul", "ol") and self.lists:
            self._flush()
            self.lists.pop()
        elif tag in ("td", "th") and self.table is not None and self.cell is not None:
            if tag == "th":
                self.cell.append("</b>")
            if not self.table:
                self.table.append([])
            self.table[-1].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "table" and self.table is not None:
            rows = [r for r in self.table if r]
            self.table = None
            if rows:
                width = max(len(r) for r in rows)
                data = [[Paragraph(c, self.styles["cell"]) for c in r + [""] * (width - len(r))]
                        for r in rows]
                table = Table(data, colWidths=[CONTENT_WIDTH / width] * width, repeatRows=0)
                table.setStyle(TableStyle([
                    ("GRID", (0, 0), (-1, -1), 0.5, "black"),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]))
                self.flowables.append(table)
                self.flowables.append(Spacer(1, 6))

    def handle_data(self, data):
        text = html.escape(data.replace("\xa0", " "), quote=False)
        if self.cell is not None:
            self.cell.append(text)
        else:
            if not text.strip() and not self.buffer:
                return
            self.buffer.append(text)

    def close(self):
        super().close()
        self._flush()


# A body of plain paragraphs only (the common case) needs no HTML parser.
_PLAIN_BODY = re.compile(r"\s*(?:<p>[^<]*</p>\s*)*")
_PLAIN_PARAGRAPH = re.compile(r"<p>([^<]*)</p>")


def body_flowables(body_html: str, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    if "<" not in body_html:
        body_html = "".join(f"<p>{html.escape(line)}</p>" for line in body_html.splitlines())
    if _PLAIN_BODY.fullmatch(body_html):
        texts = (html.unescape(t).replace("\xa0", " ").strip()
                 for t in _PLAIN_PARAGRAPH.findall(body_html))
        return merge_runs([PlainParagraph(text, styles["p"]) for text in texts if text])
    parser = _HtmlToFlowables(styles)
    parser.feed(body_html)
    parser.close()
    return merge_runs(parser.flowables)


_STYLES: dict[str, ParagraphStyle] | None = None
_ALIGNED: dict[tuple[str, str], ParagraphStyle] = {}


def _styles() -> dict[str, ParagraphStyle]:
    """The paragraph styles, made once: ReportLab only reads them while building."""
    global _STYLES
    if _STYLES is None:
        _STYLES = _make_styles()
    return _STYLES


def _aligned(style: ParagraphStyle, align: str) -> ParagraphStyle:
    """A body style with an explicit alignment, shared by every paragraph that asks for it."""
    key = (style.name, align)
    if key not in _ALIGNED:
        _ALIGNED[key] = ParagraphStyle(
            f"{style.name}-{align}", parent=style,
            alignment={"center": TA_CENTER, "right": 2, "left": TA_LEFT}.get(align,
                                                                             style.alignment))
    return _ALIGNED[key]


def _make_styles() -> dict[str, ParagraphStyle]:
    return {
        "parent": _style("parent", 12.5, align=TA_CENTER, leading=15),
        "body-name": _style("body-name", 12.5, font="Serif-Bold", align=TA_CENTER, leading=15),
        "motto1": _style("motto1", 12.5, font="Serif-Bold", align=TA_CENTER, leading=15),
        "motto2": _style("motto2", 13.5, font="Serif-Bold", align=TA_CENTER, leading=16),
        "number": _style("number", 13, align=TA_CENTER),
        "vv": _style("vv", 12.5, align=TA_CENTER, leading=15),
        "type": _style("type", 14, font="Serif-Bold", align=TA_CENTER, leading=17),
        "subject": _style("subject", 14, font="Serif-Bold", align=TA_CENTER, leading=17),
        "p": _style("p", 14, align=TA_JUSTIFY, leading=18, firstLineIndent=10 * mm,
                    spaceAfter=6),
        "li": _style("li", 14, align=TA_JUSTIFY, leading=18, firstLineIndent=10 * mm,
                     spaceAfter=6),
        "h1": _style("h1", 14, font="Serif-Bold", align=TA_CENTER, leading=18, spaceAfter=6),
        "h2": _style("h2", 14, font="Serif-Bold", align=TA_CENTER, leading=18, spaceAfter=6),
        "h3": _style("h3", 14, font="Serif-Bold", align=TA_LEFT, leading=18, spaceAfter=6),
        "h4": _style("h4", 14, font="Serif-Bold", align=TA_LEFT, leading=18, spaceAfter=6),
        "cell": _style("cell", 12, leading=14),
        "recipients-title": _style("rt", 12, font="Serif-BoldItalic", leading=14),
        "recipients": _style("rc", 11, leading=13),
        "authority": _style("authority", 14, font="Serif-Bold", align=TA_CENTER, leading=17),
        "name": _style("name", 14, font="Serif-Bold", align=TA_CENTER, leading=17),
    }


def _header(layout: Layout, styles, sink: list[FieldBox]) -> list[Flowable]:
    left_w, right_w = CONTENT_WIDTH * 0.42, CONTENT_WIDTH * 0.58
    left: list[Flowable] = []
    if layout.parent_body:
        left.append(Paragraph(html.escape(layout.parent_body), styles["parent"]))
    left.append(Paragraph(html.escape(layout.issuing_body), styles["body-name"]))
    if layout.committee:
        left.append(Paragraph(html.escape(layout.committee), styles["body-name"]))
    left.append(Rule(left_w, left_w * 0.4))
    number_row = Table(
        [[Paragraph("Số:", styles["number"]), Slot(NUMBER_FIELD, 46 * mm, 16, sink)]],
        colWidths=[10 * mm, 48 * mm],
        style=TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0),
                          ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                          ("VALIGN", (0, 0), (-1, -1), "BOTTOM")]),
        hAlign="CENTER",
    )
    left.append(Spacer(1, 4))
    left.append(number_row)
    if layout.is_official_letter:
        left.append(Spacer(1, 6))
        left.append(Paragraph("V/v " + html.escape(layout.subject), styles["vv"]))
    from . import marks

    left += marks.flowables(layout, left_w)
    right: list[Flowable] = [
        Paragraph("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", styles["motto1"]),
        Paragraph("Độc lập - Tự do - Hạnh phúc", styles["motto2"]),
        Rule(right_w, 56 * mm),
        Spacer(1, 4),
        Slot(DATE_FIELD, right_w - 4 * mm, 18, sink),
    ]
    table = Table([[left, right]], colWidths=[left_w, right_w])
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
    ]))
    out: list[Flowable] = [table, Spacer(1, 12)]
    if not layout.is_official_letter:
        out += [
            Paragraph(html.escape(layout.type_name), styles["type"]),
            Paragraph(html.escape(layout.subject), styles["subject"]),
            Rule(CONTENT_WIDTH, 40 * mm, space=3),
            Spacer(1, 10),
        ]
    return out


# The block sits beside the signature in one table row, which cannot split across pages:
# a document sent to every commune lists the first ones and counts the rest (the full
# list is the document's recipients in the system, delivered to each of them).
MAX_RECIPIENT_LINES = 15


def recipient_lines(names: list[str]) -> list[str]:
    if len(names) <= MAX_RECIPIENT_LINES:
        return list(names)
    shown = names[:MAX_RECIPIENT_LINES - 1]
    rest = len(names) - len(shown)
    return [*shown, f"{rest} đơn vị khác theo danh sách gửi trên hệ thống"]


def _signature_block(layout: Layout, styles, sink: list[FieldBox]) -> Flowable:
    left_w, right_w = CONTENT_WIDTH * 0.45, CONTENT_WIDTH * 0.55
    recipients: list[Flowable] = [Paragraph("Nơi nhận:", styles["recipients-title"])]
    for name in recipient_lines(layout.recipients):
        recipients.append(Paragraph("- " + html.escape(name) + ";", styles["recipients"]))
    recipients.append(Paragraph("- " + html.escape(layout.storage_line), styles["recipients"]))
    signer: list[Flowable] = []
    for line in [*layout.authority.splitlines(), layout.signer_title]:
        if line:
            signer.append(Paragraph(html.escape(line), styles["authority"]))
    box = Table([[Slot(PERSON_FIELD, *SIGNATURE_BOX, sink)]], colWidths=[right_w])
    box.setStyle(TableStyle([("ALIGN", (0, 0), (-1, -1), "CENTER"),
                             ("LEFTPADDING", (0, 0), (-1, -1), 0),
                             ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    signer += [box, Paragraph(html.escape(layout.signer_name), styles["name"])]
    table = Table([[recipients, signer]], colWidths=[left_w, right_w])
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
    ]))
    return KeepTogether([Spacer(1, 8), table])


def _page_number(canvas: Canvas, doc) -> None:
    # Appendix I §I.7: numbered from 1, centred in the top margin, page 1 not shown.
    page = canvas.getPageNumber()
    if page > 1:
        canvas.setFont("Serif", 13)
        canvas.drawCentredString(MARGIN_LEFT + CONTENT_WIDTH / 2, A4[1] - 12 * mm, str(page))


def _build(flowables: list[Flowable], title: str) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out, pagesize=A4, leftMargin=MARGIN_LEFT, rightMargin=MARGIN_RIGHT,
        topMargin=MARGIN_TOP, bottomMargin=MARGIN_BOTTOM, title=title, author="",
        creator="MTTQ e-Office", producer="MTTQ e-Office", invariant=1,
    )
    doc.build(flowables, onFirstPage=_page_number, onLaterPages=_page_number)
    return out.getvalue()


def render_layout(layout: Layout) -> RenderedPdf:
    """The composed document: header, subject, body, signer block, recipients."""
    _register_fonts()
    styles = _styles()
    sink: list[FieldBox] = []
    flowables = _header(layout, styles, sink)
    flowables += body_flowables(layout.body_html, styles)
    flowables.append(_signature_block(layout, styles, sink))
    return _finish(_build(flowables, layout.subject), sink)


def render_signature_page(layout: Layout) -> tuple[bytes, list[FieldBox]]:
    """A page with only the number/date line and signer block, appended to uploaded PDFs."""
    _register_fonts()
    styles = _styles()
    sink: list[FieldBox] = []
    flowables = _header(layout, styles, sink)
    flowables.append(_signature_block(layout, styles, sink))
    return _build(flowables, layout.subject), sink


def docx_timeout() -> int:
    from django.conf import settings

    return int(getattr(settings, "SIGNING_DOCX_TIMEOUT", 120))


def soffice_binary() -> str | None:
    from django.conf import settings

    configured = getattr(settings, "SIGNING_SOFFICE", None)
    if configured:
        return shutil.which(configured)
    return shutil.which("soffice") or shutil.which("libreoffice")


def docx_memory_bytes() -> int:
    from django.conf import settings

    return int(getattr(settings, "SIGNING_DOCX_MEMORY_MB", 2048)) * 1024 * 1024


def docx_sandbox_mode() -> str:
    """``auto`` (default): bubblewrap, refusing to convert when it cannot run;
    ``off``: no sandbox (the DOCX sanitiser alone), for hosts that cannot make namespaces."""
    from django.conf import settings

    return str(getattr(settings, "SIGNING_DOCX_SANDBOX", "auto") or "auto").lower()


# What LibreOffice needs to start, read-only: programs, libraries, fonts and its
# configuration. Nothing else of the host is visible: not the media folder with
# the seals and signature images, not the key folders, not /etc/mttq, not /home.
_SANDBOX_RO = ["/usr", "/etc/fonts", "/etc/libreoffice", "/etc/ld.so.cache",
               "/etc/alternatives", "/etc/localtime"]


@lru_cache(maxsize=1)
def _bwrap() -> str | None:
    """The bubblewrap binary, if it can make namespaces here (checked once per process)."""
    binary = shutil.which("bwrap")
    if not binary:
        return None
    try:
        probe = subprocess.run([binary, "--unshare-all", "--ro-bind", "/usr", "/usr",
                                "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
                                "--symlink", "usr/lib64", "/lib64", "/usr/bin/true"],
                               capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    if probe.returncode != 0:
        logger.warning("bubblewrap cannot run here: %s",
                       probe.stderr.decode("utf-8", "replace")[-500:])
        return None
    return binary


def sandboxed(command: list[str], scratch: Path, *, memory: int, cpu_seconds: int
              ) -> list[str] | None:
    """``command`` wrapped to run with no network, only ``scratch`` writable and limits.

    bubblewrap gives new user, network, PID, IPC and UTS namespaces (so as root, too,
    nothing of the host but the read-only system folders exists); ``prlimit`` caps
    the address space and CPU time. ``scratch`` is mounted at the same path so the
    paths in ``command`` keep working. ``None`` when bubblewrap cannot run here.
    """
    bwrap = _bwrap()
    if bwrap is None:
        return None
    binds: list[str] = []
    for path in _SANDBOX_RO:
        binds += ["--ro-bind-try", path, path]
    program = Path(command[0]).resolve()
    if not str(program).startswith("/usr/"):
        # A configured converter outside /usr (tests use small fake ones): only its folder.
        binds += ["--ro-bind", str(program.parent), str(program.parent)]
    prlimit = shutil.which("prlimit")
    limits = [prlimit, f"--as={memory}", f"--cpu={cpu_seconds}", "--"] if prlimit else []
    return [*limits, bwrap, "--unshare-all", "--die-with-parent", "--new-session",
            "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
            "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/sbin", "/sbin",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",  # noqa: S108 (a private tmpfs)
            *binds,
            "--bind", str(scratch), str(scratch), "--chdir", str(scratch),
            "--clearenv", "--setenv", "HOME", str(scratch), "--setenv", "PATH",
            "/usr/bin:/bin", "--setenv", "LANG", "C.UTF-8", *command]


def convert_docx(data: bytes, *, timeout: int | None = None) -> bytes:
    """DOCX → PDF with LibreOffice headless, sanitised and sandboxed.

    The package is first stripped of everything that reaches outside it
    (:mod:`signing.docx_safety`: external relationships, OLE, fetching fields).
    LibreOffice then runs under bubblewrap (:func:`sandboxed`): no network, only its
    scratch folder writable, the media and key folders not visible, address space
    and CPU time limited. Where bubblewrap cannot run the conversion is refused
    unless ``SIGNING_DOCX_SANDBOX=off`` says the sanitiser alone is accepted.

    Each conversion gets its own throw-away profile (``-env:UserInstallation``):
    LibreOffice locks a shared profile, so two conversions at once (two workers,
    two requests) would otherwise fail or hang. ``soffice`` is a launcher that
    forks ``soffice.bin``; it runs in its own session so a timeout kills the
    whole group instead of leaving an office process behind.
    """
    import signal

    from .docx_safety import UnsafeDocx, sanitize_docx

    soffice = soffice_binary()
    if not soffice:
        raise RenderError(_("LibreOffice is not installed on the server, so DOCX files cannot "
                            "be converted to PDF. Upload the main document as a PDF."))
    try:
        data = sanitize_docx(data).data
    except UnsafeDocx as exc:
        raise RenderError(str(exc)) from exc
    timeout = docx_timeout() if timeout is None else timeout
    with tempfile.TemporaryDirectory(prefix="mttq-docx-") as tmp:
        scratch = Path(tmp).resolve()
        src = scratch / "document.docx"
        src.write_bytes(data)
        profile = scratch / "profile"
        outdir = scratch / "out"
        command = [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless",
                   "--norestore", "--nolockcheck", "--convert-to", "pdf", "--outdir",
                   str(outdir), str(src)]
        if docx_sandbox_mode() != "off":
            wrapped = sandboxed(command, scratch, memory=docx_memory_bytes(),
                                cpu_seconds=max(timeout, 1))
            if wrapped is None:
                raise RenderError(_("DOCX files cannot be converted safely on this server "
                                    "(the converter's sandbox, bubblewrap, is missing or "
                                    "cannot run). Upload the main document as a PDF."))
            command = wrapped
        try:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       stdin=subprocess.DEVNULL, start_new_session=True,
                                       cwd=scratch)
        except OSError as exc:
            raise RenderError(_("LibreOffice could not be started, so the DOCX file was not "
                                "converted to PDF.")) from exc
        try:
            _out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise RenderError(_("Converting the DOCX file to PDF took longer than %(seconds)s "
                                "seconds and was stopped.") % {"seconds": timeout}) from exc
        out = outdir / "document.pdf"
        if process.returncode != 0 or not out.exists() or out.stat().st_size == 0:
            logger.warning("soffice exited %s: %s", process.returncode,
                           err.decode("utf-8", "replace")[-2000:])
            raise RenderError(_("The DOCX file could not be converted to PDF; check that it "
                                "opens in Word or LibreOffice and upload it again, or upload "
                                "a PDF."))
        return out.read_bytes()


def render_uploaded(pdf: bytes, layout: Layout) -> RenderedPdf:
    """An uploaded main file: its pages plus a Decree 30 signature page with the fields."""
    from pypdf import PdfReader, PdfWriter

    try:
        reader = PdfReader(io.BytesIO(pdf))
        if reader.is_encrypted:
            raise RenderError(_("The uploaded PDF is encrypted."))
        page_count = len(reader.pages)
    except RenderError:
        raise
    except Exception as exc:
        raise RenderError(_("The uploaded PDF cannot be read.")) from exc
    sig_pdf, sink = render_signature_page(layout)
    writer = PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    extra = PdfReader(io.BytesIO(sig_pdf))
    for page in extra.pages:
        writer.add_page(page)
    # Uploaded PDFs may carry their own forms; ours must be the only AcroForm.
    if "/AcroForm" in writer._root_object:
        del writer._root_object["/AcroForm"]
    for page in writer.pages:
        if "/Annots" in page:
            del page["/Annots"]
    out = io.BytesIO()
    writer.write(out)
    boxes = [FieldBox(b.name, b.page + page_count, b.rect) for b in sink]
    return _finish(out.getvalue(), boxes)


def seal_rect(person: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The seal covers about the left third of the person's signature (Appendix I §II.8a).

    Its right edge is a third into the person's field; ``pdfops`` places the signature
    image so that its own left third lies under it, whatever the image's proportions.
    Below the seal a band of :data:`SEAL_CAPTION_H` holds the caption.
    """
    x1, y1, x2, y2 = person
    right = x1 + (x2 - x1) / 3
    cy = (y1 + y2) / 2
    return (right - SEAL_SIZE, cy - SEAL_SIZE / 2 - SEAL_CAPTION_H, right, cy + SEAL_SIZE / 2)


class _FlatPagesWriter(IncrementalPdfFileWriter):
    """Finds page N of a flat page tree without reading pages 0..N-1.

    ReportLab and pypdf write every page as a direct kid of one /Pages node; pyHanko's
    general walk parses each page dictionary on the way, most of the time spent adding
    the fields to a 100-page document. Any other tree takes the general walk.
    """

    def find_page_for_modification(self, page_ix):
        pages = self.root["/Pages"]
        kids = pages["/Kids"]
        if 0 <= page_ix < len(kids) == pages["/Count"]:
            ref = kids.raw_get(page_ix)
            page = ref.get_object()
            if page.get("/Type") == "/Page":
                if "/Resources" in page:
                    return ref, page.raw_get("/Resources")
                if "/Resources" in pages:
                    return ref, pages.raw_get("/Resources")
        return super().find_page_for_modification(page_ix)


def _finish(pdf: bytes, boxes: list[FieldBox]) -> RenderedPdf:
    """Add the text and signature fields with pyHanko, in one incremental update."""
    from pyhanko.pdf_utils import generic
    from pyhanko.sign.fields import SigFieldSpec, append_signature_field

    by_name = {b.name: b for b in boxes}
    missing = {NUMBER_FIELD, DATE_FIELD, PERSON_FIELD} - by_name.keys()
    if missing:
        raise RenderError(_("The document layout could not place the signature fields."))
    # An incremental update reads only the objects it changes (catalog, the signature
    # page); copying the whole file into a new writer parsed every object of every page.
    writer = _FlatPagesWriter(io.BytesIO(pdf))
    # A fixed document ID keeps rendering deterministic: same approved content, same bytes
    # (pyHanko would give the update a random second ID).
    digest = hashlib.sha256(pdf).digest()[:16]
    writer._document_id = generic.ArrayObject(
        [writer._document_id[0], generic.ByteStringObject(digest)]
    )
    person = by_name[PERSON_FIELD]
    append_signature_field(writer, SigFieldSpec(PERSON_FIELD, on_page=person.page,
                                                box=person.rect))
    append_signature_field(writer, SigFieldSpec(SEAL_FIELD, on_page=person.page,
                                                box=seal_rect(person.rect)))
    for name in (NUMBER_FIELD, DATE_FIELD):
        box = by_name[name]
        add_text_field(writer, name, box.page, box.rect)
    # The page tree is already parsed: counting pages again with pypdf would re-read
    # the whole file (~10 ms for 100 pages).
    page_count = int(writer.root["/Pages"]["/Count"])
    out = io.BytesIO()
    writer.write(out)
    data = out.getvalue()
    return RenderedPdf(data=data, page_count=page_count,
                       sha256=hashlib.sha256(data).hexdigest(), fields=boxes)


def add_text_field(writer, name: str, page: int, rect) -> None:
    """An empty, read-only text field; the value and its appearance come at issue."""
    from pyhanko.pdf_utils import generic

    page_ref = writer.find_page_for_modification(page)[0]
    page_obj = page_ref.get_object()
    root = writer.root
    if "/AcroForm" not in root:
        root["/AcroForm"] = writer.add_object(generic.DictionaryObject(
            {generic.NameObject("/Fields"): generic.ArrayObject()}))
        writer.update_root()
    acroform = root["/AcroForm"]
    fields_arr = acroform["/Fields"]
    if "/DR" not in acroform:
        acroform["/DR"] = generic.DictionaryObject({
            generic.NameObject("/Font"): generic.DictionaryObject({
                generic.NameObject("/TiRo"): writer.add_object(generic.DictionaryObject({
                    generic.NameObject("/Type"): generic.NameObject("/Font"),
                    generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
                    generic.NameObject("/BaseFont"): generic.NameObject("/Times-Roman"),
                }))
            })
        })
    annot = generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Annot"),
        generic.NameObject("/Subtype"): generic.NameObject("/Widget"),
        generic.NameObject("/FT"): generic.NameObject("/Tx"),
        generic.NameObject("/T"): generic.TextStringObject(name),
        generic.NameObject("/Rect"): generic.ArrayObject(
            [generic.FloatObject(round(v, 2)) for v in rect]),
        generic.NameObject("/F"): generic.NumberObject(4),
        generic.NameObject("/Ff"): generic.NumberObject(1),  # read-only for people
        generic.NameObject("/Q"): generic.NumberObject(1),
        generic.NameObject("/DA"): generic.pdf_string("/TiRo 13 Tf 0 g"),
        generic.NameObject("/P"): page_ref,
    })
    ref = writer.add_object(annot)
    fields_arr.append(ref)
    annots = page_obj.get("/Annots")
    if annots is None:
        page_obj["/Annots"] = generic.ArrayObject([ref])
    else:
        annots.get_object().append(ref)
    writer.update_container(page_obj)


def page_count_of(data: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def render_document(document, layout: Layout | None = None) -> RenderedPdf:
    """The PDF a document is signed as: composed text, or its uploaded main file."""
    from workflow.documents.models import FileKind
    from workflow.documents.uploads import DOCX, PDF

    layout = layout or layout_for(document)
    main = document.files.filter(kind=FileKind.MAIN).select_related("current_version").first()
    version = main.current_version if main else None
    if version is None:
        return render_layout(layout)
    with version.blob.open("rb") as handle:
        data = handle.read()
    if hashlib.sha256(data).hexdigest() != version.sha256:
        raise RenderError(_("The stored main file does not match its recorded checksum."))
    if version.content_type == DOCX:
        data = convert_docx(data)
    elif version.content_type != PDF:
        raise RenderError(_("The main file must be a PDF or DOCX document."))
    return render_uploaded(data, layout)


def appearance_pdf(width: float, height: float, *, lines: list[str] = (),
                   color=(0, 0, 0), font: str = "Serif", size: float = 7,
                   text_align: str = "right") -> bytes:
    """A one-page PDF the size of a field with text lines at the bottom.

    pyHanko imports it as (a layer of) the field's appearance. ReportLab shapes the
    text here because the embedded-font path is the same one the page text uses.
    """
    _register_fonts()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(width, height), invariant=1)
    canvas.setFillColorRGB(*color)
    canvas.setFont(font, size)
    leading = size * 1.2
    y = 2 + leading * (len(lines) - 1) + 1
    for line in lines:
        if text_align == "center":
            canvas.drawCentredString(width / 2, y, line)
        elif text_align == "left":
            canvas.drawString(2, y, line)
        else:
            canvas.drawRightString(width - 2, y, line)
        y -= leading
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def wrap_lines(text: str, width: float, *, font: str = "Serif", size: float = 7) -> list[str]:
    """``text`` broken at spaces into lines no wider than ``width`` points."""
    _register_fonts()
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and pdfmetrics.stringWidth(candidate, font, size) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


@lru_cache(maxsize=16)
def image_pdf(width: float, height: float, image_png: bytes,
              box: tuple[float, float, float, float] | None = None) -> bytes:
    """A one-page PDF the size of a field with a transparent image inside ``box``.

    The image layer of a signature appearance is the same for every document a person
    or seal signs; decoding and compressing the PNG again cost more than the text layer.
    """
    from reportlab.lib.utils import ImageReader

    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(width, height), invariant=1)
    x, y, w, h = box or (0, 0, width, height)
    canvas.drawImage(ImageReader(io.BytesIO(image_png)), x, y, w, h, mask="auto",
                     preserveAspectRatio=True, anchor="c")
    canvas.showPage()
    canvas.save()
    return out.getvalue()
