"""The layout drawn as PDF pages with ReportLab: the header (issuer, national motto, number and
date slots), the body HTML turned into flowables (plain paragraphs by
:mod:`signing.paragraphs`), the recipients, the signature block with slots for the signature
and the seal, page numbers, and a signature page appended to an uploaded PDF. Slots only
reserve room and record their boxes; the fields are added by :mod:`signing.fields`. It may call
:mod:`signing.layout` and :mod:`signing.paragraphs`.
"""

from __future__ import annotations

import html
import io
import re
from html.parser import HTMLParser

from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
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

from .fields import _finish
from .layout import (
    CONTENT_WIDTH,
    DATE_FIELD,
    MARGIN_BOTTOM,
    MARGIN_LEFT,
    MARGIN_RIGHT,
    MARGIN_TOP,
    NUMBER_FIELD,
    PERSON_FIELD,
    SIGNATURE_BOX,
    FieldBox,
    Layout,
    RenderedPdf,
    _register_fonts,
)
from .paragraphs import PlainParagraph, merge_runs


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
