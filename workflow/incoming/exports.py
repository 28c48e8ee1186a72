"""The incoming register (sổ đăng ký văn bản đến) printed or exported for a period.

Columns of Decree 30's incoming register form (Appendix IV): arrival date,
arrival number, issuing organisation (tác giả), number and symbol, date,
type and subject, unit or person receiving it, signature on receipt, notes.
The headers are part of the legal form, so they stay Vietnamese.
"""

from __future__ import annotations

import datetime as dt
import io

from django.utils import timezone

from .models import IncomingDocument, ParticipantRole

COLUMNS = ["Ngày đến", "Số đến", "Tác giả", "Số, ký hiệu", "Ngày tháng",
           "Tên loại và trích yếu nội dung", "Đơn vị hoặc người nhận", "Ký nhận", "Ghi chú"]
WIDTHS_MM = [20, 14, 38, 28, 20, 70, 36, 18, 23]


def rows(unit, start: dt.date, end: dt.date) -> list[list[str]]:
    """Registered documents of ``unit`` whose arrival date lies in [start, end]."""
    qs = (IncomingDocument.objects.filter(unit=unit, arrival_number__isnull=False,
                                          arrived_at__date__gte=start, arrived_at__date__lte=end)
          .prefetch_related("participants__user").order_by("arrival_year", "arrival_number"))
    out = []
    for i in qs:
        lead = next((str(p.user) for p in i.participants.all()
                     if p.role == ParticipantRole.LEAD), "")
        notes = []
        if i.urgent:
            notes.append(str(i.get_priority_display()))
        if i.confidential:
            notes.append("Mật")
        if i.deadline:
            notes.append(f"Hạn {i.deadline:%d/%m/%Y}")
        out.append([
            timezone.localtime(i.arrived_at).strftime("%d/%m/%Y"), f"{i.arrival_number:02d}",
            i.issuer_name, i.number_symbol, i.issued_on.strftime("%d/%m/%Y") if i.issued_on
            else "", f"{i.type_name} {i.subject}".strip(), lead, "", "; ".join(notes),
        ])
    return out


def title(unit, start: dt.date, end: dt.date) -> str:
    return f"SỔ ĐĂNG KÝ VĂN BẢN ĐẾN — {unit.name} — từ {start:%d/%m/%Y} đến {end:%d/%m/%Y}"


def xlsx(unit, start: dt.date, end: dt.date) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "So den"
    ws.append([title(unit, start, end)])
    ws["A1"].font = Font(bold=True)
    ws.append(COLUMNS)
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows(unit, start, end):
        ws.append(row)
    for index, width in enumerate(WIDTHS_MM, start=1):
        ws.column_dimensions[ws.cell(row=2, column=index).column_letter].width = width / 2.2 + 4
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def pdf(unit, start: dt.date, end: dt.date) -> bytes:
    """A4 landscape with the Decree 30 columns, in the fonts the signing renderer uses."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    from signing import layout

    layout._register_fonts()
    cell = ParagraphStyle("cell", fontName="Serif", fontSize=9, leading=11)
    head = ParagraphStyle("head", parent=cell, fontName="Serif-Bold", alignment=1)
    heading = ParagraphStyle("title", fontName="Serif-Bold", fontSize=13, leading=16,
                             alignment=1, spaceAfter=8)
    data = [[Paragraph(c, head) for c in COLUMNS]]
    data += [[Paragraph(_escape(v), cell) for v in row] for row in rows(unit, start, end)]
    table = Table(data, colWidths=[w * mm for w in WIDTHS_MM], repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=15 * mm,
                            rightMargin=10 * mm, topMargin=15 * mm, bottomMargin=15 * mm,
                            title=title(unit, start, end))
    doc.build([Paragraph(_escape(title(unit, start, end)), heading), table])
    return out.getvalue()


def _escape(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(text or "")
