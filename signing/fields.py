"""The PDF form fields added after drawing, in one incremental update: the number and date text
fields and the signature and seal fields at the slots' boxes (the seal over the left third of
the signature, :func:`seal_rect`), and the small PDFs that fill them (appearances with wrapped
text, images). It may call pyHanko, pypdf and :mod:`signing.layout`; signing itself is
:mod:`signing.pdfops` and :mod:`signing.services`.
"""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache

from django.utils.translation import gettext as _
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from .layout import (
    DATE_FIELD,
    NUMBER_FIELD,
    PERSON_FIELD,
    SEAL_CAPTION_H,
    SEAL_FIELD,
    SEAL_SIZE,
    FieldBox,
    RenderedPdf,
    RenderError,
    _register_fonts,
)


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
