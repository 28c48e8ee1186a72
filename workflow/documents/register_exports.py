"""The outgoing register (sổ đăng ký văn bản đi) printed, exported and signed for a period.

Decree 30 Art. 16 §2b: documents registered in the system are printed with every field of
the register form and the register is closed ("đóng sổ"). Columns of the form (Appendix
IV, Sổ đăng ký văn bản đi): number and symbol, date, type and subject, signer, recipients,
unit or person keeping the file copy, number of copies, date sent, signature on receipt,
notes. One series at a time (Art. 15: general, confidential, each legal type, boards).
The printed PDF can be signed (PAdES) by the clerk's own key or, without one, the unit's
seal, so the closed register is itself a verifiable document.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from workflow import access, register_export
from workflow.documents.errors import InvalidInput, NotAllowed
from workflow.register_export import RegisterTable

from .models import DocumentType, OutgoingRegister, RegisterEntry, Series

COLUMNS = ["Số, ký hiệu văn bản", "Ngày tháng văn bản",
           "Tên loại và trích yếu nội dung văn bản", "Người ký", "Nơi nhận văn bản",
           "Đơn vị, người nhận bản lưu", "Số lượng bản", "Ngày chuyển", "Ký nhận", "Ghi chú"]
WIDTHS_MM = [32, 18, 56, 28, 44, 24, 12, 18, 14, 26]  # 272 mm: A4 landscape less margins
MAX_DAYS = 366


def series_label(series: str) -> str:
    if series == Series.GENERAL:
        return str(Series.GENERAL.label)
    if series == Series.CONFIDENTIAL:
        return str(Series.CONFIDENTIAL.label)
    kind, _sep, rest = series.partition(":")
    if kind == Series.LEGAL:
        name = DocumentType.objects.filter(code=rest).values_list("name", flat=True).first()
        return f"{Series.LEGAL.label}: {name or rest}"
    if kind == "board":
        from workflow.organisation.models import Department

        name = Department.objects.filter(pk=rest).values_list("name", flat=True).first()
        return name or series
    return series


def series_of(unit) -> list[tuple[str, str]]:
    """The series the unit has registers in, general first."""
    keys = set(OutgoingRegister.objects.filter(unit=unit).values_list("series", flat=True))
    keys.add(Series.GENERAL)
    ordered = sorted(keys, key=lambda k: (k != Series.GENERAL, k))
    return [(k, series_label(k)) for k in ordered]


def check_period(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise InvalidInput(_("The end of the period is before its start."))
    if (end - start).days > MAX_DAYS:
        raise InvalidInput(_("Choose a period of at most one year."))


def entries(unit, series: str, start: dt.date, end: dt.date):
    return (RegisterEntry.objects
            .filter(register__unit=unit, register__series=series,
                    issued_at__date__gte=start, issued_at__date__lte=end)
            .select_related("document__document_type", "document__signer",
                            "document__drafting_department", "document__drafter")
            .prefetch_related("document__recipients__unit")
            .order_by("year", "number"))


def rows(unit, series: str, start: dt.date, end: dt.date) -> list[list[str]]:
    from signing.marks import marks_of, recipients_of, storage_line

    out = []
    for entry in entries(unit, series, start, end):
        document = entry.document
        signer = document.signer
        recipients = recipients_of(document)
        marks = marks_of(document)
        notes = [m for m in (marks["secrecy"], marks["urgency"]) if m]
        if document.state == "archived":
            notes.append("Đã lưu")
        issued = timezone.localtime(entry.issued_at).strftime("%d/%m/%Y")
        keeper = storage_line(document).removeprefix("Lưu: ").rstrip(".")
        out.append([
            entry.symbol, issued,
            f"{document.document_type.name} {document.subject}".strip(),
            (signer.full_name or signer.username) if signer else "",
            "; ".join(recipients), keeper,
            # Electronic copies: one per recipient, plus the file copies ("Lưu").
            str(len(recipients) + keeper.count(",") + 1),
            issued, "", "; ".join(notes),
        ])
    return out


def title(unit, series: str, start: dt.date, end: dt.date) -> str:
    return (f"SỔ ĐĂNG KÝ VĂN BẢN ĐI — {unit.name} — {series_label(series)} — "
            f"từ {start:%d/%m/%Y} đến {end:%d/%m/%Y}")


def table(unit, series: str, start: dt.date, end: dt.date) -> RegisterTable:
    check_period(start, end)
    return RegisterTable(title(unit, series, start, end), COLUMNS, WIDTHS_MM,
                         rows(unit, series, start, end), sheet="So di")


def _allowed(user, unit) -> None:
    if not access.can_print_register(user, unit):
        raise NotAllowed(_("Only the unit's clerks and leaders print its outgoing register."))


def xlsx(user, unit, series: str, start: dt.date, end: dt.date) -> bytes:
    _allowed(user, unit)
    return register_export.xlsx(table(unit, series, start, end))


def pdf(user, unit, series: str, start: dt.date, end: dt.date) -> bytes:
    _allowed(user, unit)
    grid = table(unit, series, start, end)
    footer = [f"Tổng số: {len(grid.rows)} văn bản.",
              f"In ngày {timezone.localtime():%d/%m/%Y %H:%M}."]
    return register_export.pdf(grid, footer=footer)


def signed_pdf(user, unit, series: str, start: dt.date, end: dt.date) -> bytes:
    """The printed register signed by the clerk's key, else the unit's seal."""
    data = pdf(user, unit, series, start, end)
    label = f"Sổ đăng ký văn bản đi {start:%d/%m/%Y}–{end:%d/%m/%Y}"
    register = OutgoingRegister.objects.filter(unit=unit, series=series, year__gte=start.year,
                                               year__lte=end.year).order_by("year").first()
    return register_export.sign_printed(
        user, unit, data, label=label, reason="Đóng sổ đăng ký văn bản đi",
        audit_target=register or unit, audit_comment=f"{label}; {series}")
