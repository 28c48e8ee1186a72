"""The incoming register (sổ đăng ký văn bản đến) printed or exported for a period.

Columns of Decree 30's incoming register form (Appendix IV): arrival date,
arrival number, issuing organisation (tác giả), number and symbol, date,
type and subject, unit or person receiving it, signature on receipt, notes.
The headers are part of the legal form, so they stay Vietnamese.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from workflow import register_export
from workflow.register_export import RegisterTable

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


def table(unit, start: dt.date, end: dt.date) -> RegisterTable:
    return RegisterTable(title(unit, start, end), COLUMNS, WIDTHS_MM, rows(unit, start, end),
                         sheet="So den")


def xlsx(unit, start: dt.date, end: dt.date) -> bytes:
    return register_export.xlsx(table(unit, start, end))


def pdf(unit, start: dt.date, end: dt.date) -> bytes:
    """A4 landscape with the Decree 30 columns, in the fonts the signing renderer uses."""
    return register_export.pdf(table(unit, start, end))


def signed_pdf(user, unit, start: dt.date, end: dt.date) -> bytes:
    """The printed incoming register signed by the clerk's key, else the unit's seal."""
    from .models import IncomingRegister

    label = f"Sổ đăng ký văn bản đến {start:%d/%m/%Y}–{end:%d/%m/%Y}"
    register = IncomingRegister.objects.filter(unit=unit, year__gte=start.year,
                                               year__lte=end.year).order_by("year").first()
    return register_export.sign_printed(
        user, unit, pdf(unit, start, end), label=label, reason="Đóng sổ đăng ký văn bản đến",
        audit_target=register or unit, audit_comment=label)
