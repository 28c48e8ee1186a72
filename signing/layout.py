"""The document model of a rendered PDF: the Decree 30 page geometry (margins, signature box, seal
size and caption band), the names of the form fields pyHanko fills later (number, date, the
person's signature, the seal), the fonts (Liberation Serif, metric compatible with Times New
Roman), and what a document puts on its page (:class:`Layout`, built by :func:`layout_for` from
the document, its unit and its signer) with the field boxes (:class:`FieldBox`) and the result
(:class:`RenderedPdf`). It may read the documents and organisation models; drawing is
:mod:`signing.drawing`, fields :mod:`signing.fields`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont


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
