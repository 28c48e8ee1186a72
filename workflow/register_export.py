"""A register (sổ đăng ký) as a document: the same table written as XLSX or as an A4
landscape PDF, for the incoming register (``workflow.incoming.exports``) and the
outgoing one (``workflow.documents.register_exports``). The column headers are the
decree's form (Appendix IV), so they stay Vietnamese."""

from __future__ import annotations

import io
from dataclasses import dataclass


@dataclass
class RegisterTable:
    title: str
    columns: list[str]
    widths_mm: list[float]
    rows: list[list[str]]
    sheet: str = "So"


def xlsx(table: RegisterTable) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = table.sheet
    ws.append([table.title])
    ws["A1"].font = Font(bold=True)
    ws.append(table.columns)
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in table.rows:
        ws.append(row)
    for index, width in enumerate(table.widths_mm, start=1):
        ws.column_dimensions[ws.cell(row=2, column=index).column_letter].width = width / 2.2 + 4
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def pdf(table: RegisterTable, *, footer: list[str] = ()) -> bytes:
    """A4 landscape with the columns, in the fonts the signing renderer uses.

    ``footer``: lines under the table (e.g. who closed the register and when)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from signing.layout import _register_fonts
    from signing.paragraphs import PlainParagraph

    _register_fonts()
    cell = ParagraphStyle("cell", fontName="Serif", fontSize=9, leading=11)
    head = ParagraphStyle("head", parent=cell, fontName="Serif-Bold", alignment=1)
    heading = ParagraphStyle("title", fontName="Serif-Bold", fontSize=13, leading=16,
                             alignment=1, spaceAfter=8)
    data = [[Paragraph(c, head) for c in table.columns]]
    # Cells are plain text: the fast paragraph (signing.paragraphs) instead of parsing
    # each as markup, about 4x faster for a year's register.
    data += [[PlainParagraph(v or "", cell) for v in row] for row in table.rows]
    grid = Table(data, colWidths=[w * mm for w in table.widths_mm], repeatRows=1)
    grid.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                              ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    out = io.BytesIO()
    # Top margin leaves room for a signature box in the top right corner of page 1.
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=15 * mm,
                            rightMargin=10 * mm, topMargin=28 * mm, bottomMargin=15 * mm,
                            title=table.title, creator="MTTQ e-Office",
                            producer="MTTQ e-Office", invariant=1)
    story = [Paragraph(_escape(table.title), heading), grid]
    if footer:
        story.append(Spacer(1, 8))
        story += [Paragraph(_escape(line), cell) for line in footer]
    doc.build(story)
    return out.getvalue()


def sign_printed(user, unit, data: bytes, *, label: str, reason: str, audit_target,
                 audit_comment: str) -> bytes:
    """The printed register with a PAdES signature (Art. 16 §2b, 22 §2b: printed and closed):
    the clerk's own key, else the unit's seal; audited with the file's SHA-256.

    Signed at the top right of page 1, without image, like an attachment (Appendix I
    §II.8b), with ``label`` in the appearance."""
    import hashlib

    from django.db import transaction
    from django.utils.translation import gettext as _

    from signing import pdfops
    from signing.models import SealProfile, SignatureProfile
    from signing.services import SigningRefused, _sign_with_fallback
    from signing.signers import SignerError, check_certificate, open_signer
    from workflow.audit.services import record

    profile = SignatureProfile.objects.select_related("key").filter(user=user).first()
    key, expected = (profile.key, user.full_name or user.username) if profile and profile.key \
        else (None, "")
    if key is None:
        seal = SealProfile.objects.select_related("key").filter(unit=unit).first()
        key = seal.key if seal else None
    if key is None:
        raise SigningRefused(_("Neither you nor the unit has a signing key configured; the "
                               "register was not signed."))
    try:
        with open_signer(key) as signer:
            check_certificate(signer.signing_cert, expected_name=expected)
            signed = _sign_with_fallback(lambda ctx: pdfops.sign_attachment(
                data, signer, ctx, organisation=unit.name, symbol="", label=label,
                reason=reason))
    except SignerError as exc:
        raise SigningRefused(str(exc)) from exc
    with transaction.atomic():
        record(audit_target, "signing.register.signed", actor=user,
               comment=f"{audit_comment}; SHA-256 {hashlib.sha256(signed).hexdigest()}"[:2000])
    return signed


def _escape(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(text or "")
