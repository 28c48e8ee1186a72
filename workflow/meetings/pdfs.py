"""Small real PDFs with text for demo meeting papers and tests (reportlab, A4).

Text is drawn with a Unicode TrueType font when the system has one (Liberation
Serif is metric-compatible with Times New Roman, which Decree 30 asks for), so
Vietnamese diacritics survive and the search indexer finds a text layer
without OCR.
"""

from __future__ import annotations

import io
from pathlib import Path

FONT_CANDIDATES = [
    "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
]

_font_name: str | None = None


def _font() -> str:
    global _font_name
    if _font_name is None:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont

        _font_name = "Helvetica"
        for path in FONT_CANDIDATES:
            if Path(path).exists():
                pdfmetrics.registerFont(TTFont("PaperSerif", path))
                _font_name = "PaperSerif"
                break
    return _font_name


def paper_pdf(title: str, pages: int = 2, lines: list[str] | None = None) -> bytes:
    """An A4 PDF: the title on each page and a few paragraphs of text."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    pdf.setTitle(title)
    font = _font()
    width, height = A4
    body = lines or [
        "Căn cứ Điều lệ Mặt trận Tổ quốc Việt Nam;",
        "Ban Thường trực trình Hội nghị xem xét, cho ý kiến các nội dung sau:",
        "1. Kết quả thực hiện nhiệm vụ; 2. Phương hướng, nhiệm vụ thời gian tới;",
        "3. Các kiến nghị, đề xuất của cử tri và Nhân dân.",
    ]
    for page in range(1, pages + 1):
        pdf.setFont(font, 14)
        pdf.drawString(30 * mm, height - 30 * mm, title[:90])
        pdf.setFont(font, 12)
        y = height - 45 * mm
        for line in body:
            pdf.drawString(30 * mm, y, line[:110])
            y -= 8 * mm
        pdf.drawString(width / 2, 15 * mm, f"{page}/{pages}")
        pdf.showPage()
    pdf.save()
    return out.getvalue()
