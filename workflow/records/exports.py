"""The clerk's printed lists of Decree 30 (Appendix V and VI), as PDF or XLSX.

* the file plan (danh mục hồ sơ, Art. 28, Appendix V);
* a file's contents list (mục lục văn bản, Art. 29.4, Appendix VI part I.V.5);
* the handover list (mục lục hồ sơ, tài liệu nộp lưu, Art. 30.3, Appendix V).

The column headers are part of the legal forms, so they stay Vietnamese. Layout is
:mod:`workflow.register_export`, shared with the registers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.utils import timezone

from workflow import register_export
from workflow.register_export import RegisterTable

from .models import CaseFile, CaseFileItem, FilePlan

PLAN_COLUMNS = ["Số và ký hiệu hồ sơ", "Tên đề mục và tiêu đề hồ sơ", "Thời hạn bảo quản",
                "Đơn vị/người lập hồ sơ", "Ghi chú"]
PLAN_WIDTHS = [30, 110, 30, 50, 47]
CONTENTS_COLUMNS = ["STT", "Số, ký hiệu văn bản", "Ngày tháng năm văn bản", "Tác giả văn bản",
                    "Trích yếu nội dung văn bản", "Số trang", "Ghi chú"]
CONTENTS_WIDTHS = [12, 36, 26, 50, 100, 16, 27]
HANDOVER_COLUMNS = ["STT", "Số, ký hiệu hồ sơ", "Tiêu đề hồ sơ", "Thời gian tài liệu",
                    "Thời hạn bảo quản", "Số văn bản / số trang", "Ghi chú"]
HANDOVER_WIDTHS = [12, 30, 100, 36, 26, 26, 37]


def _date(value) -> str:
    if not value:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value)
    return value.strftime("%d/%m/%Y")


# --- what the lists and the package say about one document ---------------------------------


def item_metadata(item: CaseFileItem) -> dict:
    """Appendix VI part II fields of one filed document (outgoing or incoming)."""
    if item.document_id:
        d = item.document
        issued = d.pdf_versions.filter(stage="issued").order_by("-created_at", "-pk").first()
        return {
            "DocOrdinal": item.ordinal, "Kind": "outgoing",
            "TypeName": d.document_type.name, "CodeNumber": f"{d.number:02d}" if d.number else "",
            "CodeNotation": d.symbol.split("/", 1)[1] if "/" in d.symbol else d.symbol,
            "Notation": d.symbol,
            "IssuedDate": _iso(d.issued_at), "OrganName": d.issuer_name or d.unit.name,
            "Subject": d.subject, "Language": "Tiếng Việt",
            "PageAmount": issued.page_count if issued else None,
            "Description": "", "Position": _signer_position(d),
            "FullName": str(d.signer) if d.signer_id else "",
            "Priority": d.priority, "Confidential": d.confidential,
            "DueDate": d.due_date.isoformat() if d.due_date else "",
        }
    i = item.incoming
    number = i.number_symbol.split("/", 1)
    return {
        "DocOrdinal": item.ordinal, "Kind": "incoming", "TypeName": i.type_name,
        "CodeNumber": number[0] if len(number) == 2 else "",
        "CodeNotation": number[1] if len(number) == 2 else i.number_symbol,
        "Notation": i.number_symbol,
        "IssuedDate": i.issued_on.isoformat() if i.issued_on else "",
        "OrganName": i.issuer_name, "Subject": i.subject, "Language": "Tiếng Việt",
        "PageAmount": i.page_count, "Description": i.description[:500],
        "ArrivalDate": _iso(i.arrived_at), "ArrivalNumber": i.arrival_number,
        "Position": i.signer_position, "FullName": i.signer_name,
        "Priority": i.priority, "Confidential": i.confidential,
        "DueDate": i.deadline.isoformat() if i.deadline else "",
    }


def _iso(value) -> str:
    if not value:
        return ""
    return timezone.localtime(value).date().isoformat()


def _signer_position(document) -> str:
    from workflow.organisation.models import Membership, Role

    if not document.signer_id:
        return ""
    membership = Membership.objects.filter(user_id=document.signer_id, unit_id=document.unit_id,
                                           role=Role.LEADER).first()
    return membership.title if membership and membership.title else ""


def file_metadata(case_file: CaseFile, items: list[CaseFileItem]) -> dict:
    """Appendix VI part II.III fields of one case file."""
    pages = sum((item_metadata(i).get("PageAmount") or 0) for i in items)
    confidential = any(
        (i.document.confidential if i.document_id else i.incoming.confidential) for i in items)
    return {
        "FileCode": case_file.file_code, "OrganId": case_file.unit.organ_id or case_file.unit.code,
        "FileCatalog": case_file.year, "FileNotation": case_file.code, "Title": case_file.title,
        "Maintenance": "Vĩnh viễn" if case_file.retention_years is None
        else f"{case_file.retention_years} năm",
        "Rights": "Hạn chế" if confidential else "Thường",
        "Creator": str(case_file.responsible), "Language": case_file.language,
        "StartDate": case_file.start_date.isoformat(),
        "EndDate": case_file.end_date.isoformat() if case_file.end_date else "",
        "DocTotal": len(items), "PageTotal": pages, "Description": case_file.notes,
    }


# --- the file plan ------------------------------------------------------------------------


def plan_title(plan: FilePlan) -> str:
    return f"DANH MỤC HỒ SƠ NĂM {plan.year} — {plan.unit.name}"


def plan_rows(plan: FilePlan) -> list[list[str]]:
    out: list[list[str]] = []
    heading = None
    for entry in plan.entries.select_related("responsible"):
        if entry.heading and entry.heading != heading:
            heading = entry.heading
            out.append(["", heading, "", "", ""])
        out.append([entry.code, entry.title, _retention_vi(entry.retention_years),
                    str(entry.responsible) if entry.responsible_id else "", entry.notes])
    return out


def _retention_vi(years: int | None) -> str:
    return "Vĩnh viễn" if years is None else f"{years} năm"


def plan_table(plan: FilePlan) -> RegisterTable:
    return RegisterTable(plan_title(plan), PLAN_COLUMNS, PLAN_WIDTHS, plan_rows(plan),
                         sheet="Danh muc ho so")


def plan_pdf(plan: FilePlan) -> bytes:
    return register_export.pdf(plan_table(plan))


def plan_xlsx(plan: FilePlan) -> bytes:
    return register_export.xlsx(plan_table(plan))


# --- a file's contents list (mục lục văn bản) ---------------------------------------------


def contents_title(case_file: CaseFile) -> str:
    return f"MỤC LỤC VĂN BẢN — Hồ sơ {case_file.code}: {case_file.title}"


def contents_rows(items: Iterable[CaseFileItem]) -> list[list[str]]:
    out = []
    for item in items:
        m = item_metadata(item)
        notes = []
        if m["Kind"] == "incoming":
            notes.append(f"Văn bản đến số {m['ArrivalNumber'] or '—'}")
        if m["Confidential"]:
            notes.append("Mật")
        out.append([str(item.ordinal), m["Notation"], _date_iso(m["IssuedDate"]), m["OrganName"],
                    f"{m['TypeName']} {m['Subject']}".strip(),
                    str(m["PageAmount"] or ""), "; ".join(notes)])
    return out


def _date_iso(value: str) -> str:
    return dt.date.fromisoformat(value).strftime("%d/%m/%Y") if value else ""


def contents_table(case_file: CaseFile, items: list[CaseFileItem]) -> RegisterTable:
    return RegisterTable(contents_title(case_file), CONTENTS_COLUMNS, CONTENTS_WIDTHS,
                         contents_rows(items), sheet="Muc luc van ban")


def contents_pdf(case_file: CaseFile, items: list[CaseFileItem]) -> bytes:
    return register_export.pdf(contents_table(case_file, items),
                               footer=[_file_subtitle(case_file)])


def contents_xlsx(case_file: CaseFile, items: list[CaseFileItem]) -> bytes:
    return register_export.xlsx(contents_table(case_file, items))


def _file_subtitle(case_file: CaseFile) -> str:
    span = _date(case_file.start_date)
    if case_file.end_date:
        span += f" – {_date(case_file.end_date)}"
    return (f"{case_file.unit.name} · {span} · Thời hạn bảo quản: "
            f"{_retention_vi(case_file.retention_years)}")


# --- the handover list (mục lục hồ sơ, tài liệu nộp lưu) ----------------------------------


def handover_title(handover) -> str:
    return (f"MỤC LỤC HỒ SƠ, TÀI LIỆU NỘP LƯU — {handover.unit.name} — "
            f"ngày {_date(handover.created_at)}")


def handover_rows(files: Iterable[CaseFile]) -> list[list[str]]:
    out = []
    for index, case_file in enumerate(files, start=1):
        items = list(case_file.items.select_related("document__document_type", "document__unit",
                                                    "incoming"))
        meta = file_metadata(case_file, items)
        span = f"{_date(case_file.start_date)} – {_date(case_file.end_date)}"
        out.append([str(index), case_file.code, case_file.title, span,
                    _retention_vi(case_file.retention_years),
                    f"{meta['DocTotal']} / {meta['PageTotal']}", case_file.notes])
    return out


def handover_files(handover) -> list[CaseFile]:
    return list(handover.files.select_related("unit", "responsible").order_by("year", "code"))


def handover_table(handover) -> RegisterTable:
    return RegisterTable(handover_title(handover), HANDOVER_COLUMNS, HANDOVER_WIDTHS,
                         handover_rows(handover_files(handover)), sheet="Muc luc ho so")


def handover_pdf(handover) -> bytes:
    return register_export.pdf(handover_table(handover))


def handover_xlsx(handover) -> bytes:
    return register_export.xlsx(handover_table(handover))
