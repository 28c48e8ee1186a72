"""Confidentiality and urgency marks, and the "Nơi nhận" block (Decree 30 Appendix I).

* Confidentiality (dấu chỉ độ mật, Appendix I §III.2a, box 10a) and urgency (dấu chỉ
  mức độ khẩn, §III.2b, box 10b) are printed in the left column of the header, under
  the number and symbol (and the "V/v" subject of an official letter), 10a above 10b.
  Urgency marks are rectangles of 20×8 mm (KHẨN), 40×8 mm (THƯỢNG KHẨN) and 30×8 mm
  (HOẢ TỐC) with the word in bold capitals, size 13, bright red, single border;
  confidentiality marks follow the same style (20, 30 and 40 mm for MẬT, TỐI MẬT and
  TUYỆT MẬT, the stamps of the state-secrets regulation).
* "Nơi nhận" (box 9b): the recipient units of the system, then the recipients outside
  it, one per line, and last "Lưu: VT, <drafting department>." (§II.9d).
"""

from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer

URGENCY = {"urgent": "KHẨN", "express": "THƯỢNG KHẨN", "flash": "HOẢ TỐC"}
SECRECY = {"mat": "MẬT", "toi_mat": "TỐI MẬT", "tuyet_mat": "TUYỆT MẬT"}
WIDTH_MM = {"KHẨN": 20, "HOẢ TỐC": 30, "THƯỢNG KHẨN": 40,
            "MẬT": 20, "TỐI MẬT": 30, "TUYỆT MẬT": 40}
MARK_HEIGHT = 8 * mm
RED = (0.93, 0.0, 0.0)


def marks_of(document) -> dict[str, str]:
    """The printed marks of a document: ``urgency`` and ``secrecy`` (empty for none)."""
    secrecy = SECRECY.get(getattr(document, "secrecy", "") or "", "")
    if document.confidential and not secrecy:
        secrecy = SECRECY["mat"]
    return {"urgency": URGENCY.get(document.priority, ""), "secrecy": secrecy}


class Mark(Flowable):
    """A stamp-like mark: bold red capitals centred in a single-line rectangle."""

    def __init__(self, text: str, column_width: float):
        super().__init__()
        self.text = text
        self.box_width = WIDTH_MM.get(text, 30) * mm
        self.column_width = column_width

    def wrap(self, avail_width, avail_height):
        return self.column_width, MARK_HEIGHT

    def draw(self):
        canvas = self.canv
        x = (self.column_width - self.box_width) / 2
        canvas.saveState()
        canvas.setStrokeColorRGB(*RED)
        canvas.setFillColorRGB(*RED)
        canvas.setLineWidth(0.8)
        canvas.rect(x, 0, self.box_width, MARK_HEIGHT)
        canvas.setFont("Serif-Bold", 13)
        canvas.drawCentredString(x + self.box_width / 2, MARK_HEIGHT / 2 - 4.5, self.text)
        canvas.restoreState()


def flowables(layout, column_width: float) -> list[Flowable]:
    """Boxes 10a then 10b, for the left column of the header."""
    out: list[Flowable] = []
    for text in (layout.secrecy, layout.urgency):
        if text:
            out += [Spacer(1, 6), Mark(text, column_width)]
    return out


def recipients_of(document) -> list[str]:
    """In-system recipient units first (in tree order), then the others, no repeats."""
    # A register listing prefetched the rows (and units); a single document reads them here.
    prefetched = "recipients" in getattr(document, "_prefetched_objects_cache", {})
    found = document.recipients.all() if prefetched else \
        document.recipients.select_related("unit")
    rows = sorted(found, key=lambda r: r.unit.path)
    names: list[str] = [recipient.unit.name for recipient in rows]
    names += [line.strip() for line in document.external_recipients.splitlines()]
    seen: set[str] = set()
    out = []
    for name in names:
        key = name.casefold().rstrip(";.")
        if name and key not in seen:
            seen.add(key)
            out.append(name.rstrip(";."))
    return out


def storage_line(document) -> str:
    """"Lưu: VT, BDC." — the clerk's copy and the drafting department's (Appendix I §II.9d).

    Without a drafting department on the document, the drafter's own department in the
    issuing unit stands for it.
    """
    department = document.drafting_department
    if department is None:
        membership = (document.drafter.memberships.filter(
            unit=document.unit, is_active=True, department__isnull=False)
            .select_related("department").order_by("pk").first())
        department = membership.department if membership else None
    abbreviation = department.abbreviation if department and department.abbreviation else ""
    return f"Lưu: VT, {abbreviation}." if abbreviation else "Lưu: VT."
