"""PDF operations of the signing pipeline, independent of the database.

* :func:`sign_person` — the competent person's PAdES approval signature
  (ETSI.CAdES.detached, B-T with an RFC 3161 timestamp, B-LT when revocation
  data can be fetched), visible: blue signature image, title, name, time.
* :func:`fill_fields` — writes the number and date into the text fields in an
  incremental update (the person's signature stays valid: FORM_FILLING).
* :func:`sign_seal` — the organisation's signature with the red seal image,
  over the left third of the person's signature, finished at B-LTA.
* :func:`sign_attachment` — the organisation's signature at the top right of
  page 1 of a separate attachment, without image.

The benchmark calls these functions directly, so their cost is what the
pipeline adds over bare pyHanko.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils import layout as pdf_layout
from pyhanko.pdf_utils.content import PdfContent
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import BoxConstraints
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import SigFieldSpec
from pyhanko.stamp import StaticStampStyle

from . import render

VN = ZoneInfo("Asia/Ho_Chi_Minh")
BLUE = (0.05, 0.2, 0.7)


@dataclass
class SignContext:
    """What every signature needs besides the key: a TSA and the validation context."""

    timestamper: object  # pyhanko TimeStamper
    validation_context: object | None  # pyhanko_certvalidator.ValidationContext
    embed_validation_info: bool = True


def vn_time(moment: dt.datetime | None = None) -> dt.datetime:
    return (moment or dt.datetime.now(dt.UTC)).astimezone(VN)


class ImportedPdfBytes(PdfContent):
    """Like pyHanko's ImportedPdfPage, but from bytes kept in memory: the first page of
    each PDF, drawn one over the other (all of the field's size)."""

    def __init__(self, *layers: bytes):
        self.layers = layers
        super().__init__()

    def render(self) -> bytes:
        writer = self._ensure_writer
        ops = []
        for data in self.layers:
            xobj = writer.import_page_as_xobject(PdfFileReader(io.BytesIO(data)), page_ix=0)
            name = "/Imp" + uuid.uuid4().hex
            self.resources.xobject[name] = xobj
            ops.append(name.encode("ascii") + b" Do")
        x1, y1, x2, y2 = xobj.get_object()["/BBox"]
        self.box = BoxConstraints(width=abs(x2 - x1), height=abs(y2 - y1))
        return b" ".join(ops)


def _field_size(writer: IncrementalPdfFileWriter, field: str) -> tuple[float, float]:
    for ref in writer.root["/AcroForm"]["/Fields"]:
        obj = ref.get_object()
        if str(obj.get("/T", "")) == field:
            x1, y1, x2, y2 = (float(v) for v in obj["/Rect"])
            return abs(x2 - x1), abs(y2 - y1)
    raise ValueError(f"no field {field}")


_FULL_BOX = pdf_layout.SimpleBoxLayoutRule(
    x_align=pdf_layout.AxisAlignment.ALIGN_MID, y_align=pdf_layout.AxisAlignment.ALIGN_MID,
    margins=pdf_layout.Margins.uniform(0))


def _static(*layers: bytes) -> StaticStampStyle:
    # No margin: the layers are drawn at the field's own size, so the image boxes computed
    # here (signature_image_box, the seal) are where they land on the page.
    return StaticStampStyle(background=ImportedPdfBytes(*layers), border_width=0,
                            background_opacity=1.0, background_layout=_FULL_BOX)


def _writer(pdf: bytes) -> IncrementalPdfFileWriter:
    return IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)


def _pdf_signer(writer: IncrementalPdfFileWriter, signer, ctx: SignContext, *, field: str,
                style, reason: str, location: str = "", lta: bool = False,
                new_field: SigFieldSpec | None = None):
    """The configured pyHanko PdfSigner for an incremental update through ``writer``."""
    meta = signers.PdfSignatureMetadata(
        field_name=field,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location or None,
        embed_validation_info=ctx.embed_validation_info,
        validation_context=ctx.validation_context if ctx.embed_validation_info else None,
        use_pades_lta=lta and ctx.embed_validation_info,
    )
    return signers.PdfSigner(meta, signer=signer, timestamper=ctx.timestamper,
                             stamp_style=style, new_field_spec=new_field)


def _sign(writer: IncrementalPdfFileWriter, signer, ctx: SignContext, *, field: str, style,
          reason: str, lta: bool = False, new_field: SigFieldSpec | None = None,
          location: str = "") -> bytes:
    pdf_signer = _pdf_signer(writer, signer, ctx, field=field, style=style, reason=reason,
                             location=location, lta=lta, new_field=new_field)
    out = io.BytesIO()
    pdf_signer.sign_pdf(writer, output=out, appearance_text_params={})
    return out.getvalue()


def _person_style(writer: IncrementalPdfFileWriter, *, name: str, title: str,
                  signature_png: bytes | None, when: dt.datetime | None):
    when = vn_time(when)
    width, height = _field_size(writer, render.PERSON_FIELD)
    text = render.appearance_pdf(
        width, height, color=BLUE, size=7,
        lines=[f"Ký bởi: {name}" + (f" - {title}" if title else ""),
               "Thời gian ký: " + when.strftime("%d/%m/%Y %H:%M:%S (GMT+7)")],
    )
    if not signature_png:
        return _static(text)
    image = render.image_pdf(width, height, signature_png,
                             box=signature_image_box(width, height, signature_png))
    return _static(image, text)


def _png_size(png: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return image.size


def signature_image_box(width: float, height: float,
                        png: bytes) -> tuple[float, float, float, float]:
    """Where the handwritten signature goes in the person's field (x, y, w, h).

    The seal's right edge is a third into the field (``render.seal_rect``); the
    image, scaled to fit above the text lines, is shifted so that exactly its left
    third lies under the seal (Appendix I §II.8a), as far as the field allows.
    """
    top, bottom, side = 2.0, 20.0, 4.0
    room_w, room_h = width - 2 * side, height - bottom - top
    try:
        px_w, px_h = _png_size(png)
    except Exception:  # noqa: BLE001 - an unreadable image is refused elsewhere
        return (side, bottom, room_w, room_h)
    scale = min(room_w / max(px_w, 1), room_h / max(px_h, 1))
    img_w, img_h = px_w * scale, px_h * scale
    x = width / 3 - img_w / 3
    x = max(side, min(x, width - side - img_w))
    return (x, bottom + (room_h - img_h) / 2, img_w, img_h)


PERSON_REASON = "Phê duyệt và ký ban hành"


def sign_person(pdf: bytes, signer, ctx: SignContext, *, name: str, title: str,
                signature_png: bytes | None, when: dt.datetime | None = None,
                location: str = "", reason: str = PERSON_REASON) -> bytes:
    """``reason``: also states the signing capacity (signing.capacity.reason)."""
    writer = _writer(pdf)
    style = _person_style(writer, name=name, title=title, signature_png=signature_png, when=when)
    return _sign(writer, signer, ctx, field=render.PERSON_FIELD, style=style,
                 reason=reason, location=location)


def person_pdf_signer(pdf: bytes, signer, ctx: SignContext, *, name: str, title: str,
                      signature_png: bytes | None, when: dt.datetime | None = None,
                      location: str = "", reason: str = PERSON_REASON):
    """The same signature as :func:`sign_person`, for two-step (interrupted) signing:
    the pyHanko PdfSigner and the writer it signs through."""
    writer = _writer(pdf)
    style = _person_style(writer, name=name, title=title, signature_png=signature_png, when=when)
    return _pdf_signer(writer, signer, ctx, field=render.PERSON_FIELD, style=style,
                       reason=reason, location=location), writer


def _text_appearance(writer, text: str, rect, *, italic: bool, size: int = 13):
    """A form XObject with ``text`` centred in ``rect``, in the embedded Vietnamese font."""
    width, height = abs(rect[2] - rect[0]), abs(rect[3] - rect[1])
    look = render.appearance_pdf(width, height, lines=[text], size=size, text_align="center",
                                 font="Serif-Italic" if italic else "Serif")
    return writer.import_page_as_xobject(PdfFileReader(io.BytesIO(look)), page_ix=0)


def fill_fields(pdf: bytes, values: dict[str, str]) -> bytes:
    """Fill text fields in one incremental update, with our own appearance streams.

    Only the field values and widget appearances change, which pyHanko's
    difference analysis (and Acrobat) classify as form filling, so the
    person's earlier signature stays valid.
    """
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    acroform = writer.root["/AcroForm"]
    found = set()
    for ref in acroform["/Fields"]:
        field_obj = ref.get_object()
        name = str(field_obj.get("/T", ""))
        if name not in values:
            continue
        rect = [float(v) for v in field_obj["/Rect"]]
        field_obj["/V"] = generic.TextStringObject(values[name])
        appearance = _text_appearance(writer, values[name], rect,
                                      italic=(name == render.DATE_FIELD))
        field_obj["/AP"] = generic.DictionaryObject({generic.NameObject("/N"): appearance})
        writer.update_container(field_obj)
        found.add(name)
    missing = set(values) - found
    if missing:
        raise ValueError(f"form fields not found: {sorted(missing)}")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def sign_seal(pdf: bytes, signer, ctx: SignContext, *, organisation: str,
              seal_png: bytes | None, when: dt.datetime | None = None) -> bytes:
    when = vn_time(when)
    writer = _writer(pdf)
    width, height = _field_size(writer, render.SEAL_FIELD)
    # The caption goes in the band under the seal image (render.seal_rect), wrapped to
    # the seal's width, where the ring does not cover it.
    # The left 70 % only: the signer's name, centred under the signature, starts about
    # where the seal ends, and the band is level with it.
    caption = render.wrap_lines(organisation, width * 0.7 - 4, font="Serif-Bold", size=6.5)
    caption.append(when.strftime("%d/%m/%Y %H:%M:%S"))
    text = render.appearance_pdf(width, height, color=(0.8, 0, 0), size=6.5,
                                 text_align="left", lines=caption[-3:], font="Serif-Bold")
    band = min(render.SEAL_CAPTION_H, height / 3)
    image_box = (0, band, width, height - band)
    layers = ((render.image_pdf(width, height, seal_png, box=image_box), text) if seal_png
              else (text,))
    return _sign(writer, signer, ctx, field=render.SEAL_FIELD, style=_static(*layers),
                 reason="Ban hành văn bản", lta=True)


def sign_attachment(pdf: bytes, signer, ctx: SignContext, *, organisation: str, symbol: str,
                    when: dt.datetime | None = None, label: str = "",
                    reason: str = "Ký số văn bản kèm theo") -> bytes:
    """``label``: the second line instead of "Số: <symbol>" (e.g. a printed register)."""
    when = vn_time(when)
    writer = _writer(pdf)
    # Top right corner of page 1, inside the right margin (Appendix I §II.8b).
    box = page_box(writer, 0)
    x2 = box[2] - render.MARGIN_RIGHT
    y2 = box[3] - 8 * 2.835
    rect = (x2 - 75 * 2.835, y2 - 16 * 2.835, x2, y2)
    look = render.appearance_pdf(rect[2] - rect[0], rect[3] - rect[1], size=10, text_align="left",
                                 lines=[organisation,
                                        label or (f"Số: {symbol}" if symbol else ""),
                                        when.isoformat(timespec="seconds")])
    return _sign(writer, signer, ctx, field=render.ATTACHMENT_SEAL_FIELD, style=_static(look),
                 reason=reason, lta=True,
                 new_field=SigFieldSpec(render.ATTACHMENT_SEAL_FIELD, on_page=0, box=rect))


def page_box(reader, index: int) -> tuple[float, float, float, float]:
    page = reader.root["/Pages"]
    # Walk the page tree to the index-th leaf.
    stack = [page]
    leaves = []
    while stack and len(leaves) <= index:
        node = stack.pop(0).get_object()
        if node.get("/Type") == "/Pages":
            stack = [k for k in node["/Kids"]] + stack
        else:
            leaves.append(node)
    node = leaves[index]
    box = node.get("/MediaBox")
    parent = node
    while box is None and "/Parent" in parent:
        parent = parent["/Parent"].get_object()
        box = parent.get("/MediaBox")
    return tuple(float(v) for v in box) if box else (0, 0, 595.28, 841.89)
