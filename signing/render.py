"""Approved document → A4 PDF in the Decree 30 layout (Appendix I), with form fields.

The page content is drawn with ReportLab (Liberation Serif embedded, metric
compatible with Times New Roman); its C accelerator (package ``rl_accel``) makes
long bodies about a quarter faster and gives the same bytes. ReportLab cannot
make signature fields nor text fields with an embedded Unicode font, so the layout
only reserves *slots*; pyHanko then adds, in one incremental update:

* ``so_ky_hieu`` and ``ngay_ban_hanh`` text fields (empty until issue, filled
  later in an incremental update — see :mod:`signing.pdfops`);
* ``NguoiKy`` — the competent person's signature field, between title and name;
* ``DauCoQuan`` — the organisation's seal field, covering the left third of it.

Uploaded PDFs keep their pages and get a Decree 30 signature page appended;
uploaded DOCX files are converted with LibreOffice first.

The work is split along its seams: the document model in :mod:`signing.layout`, the pages
drawn in :mod:`signing.drawing`, the form fields in :mod:`signing.fields` and DOCX conversion
in :mod:`signing.docx_convert`. This module renders a document (``render_document``) or an
uploaded file (``render_uploaded``) through them and keeps ``from signing import render``
working: the names callers use are re-exported below.
"""

from __future__ import annotations

import hashlib
import io

from django.utils.translation import gettext as _

# The public names of the layout, drawing, fields and conversion, re-exported so that
# ``from signing import render`` and ``render.X`` keep working for every caller.
from .docx_convert import (  # noqa: F401 - re-exported
    convert_docx,
    docx_memory_bytes,
    docx_sandbox_mode,
    docx_timeout,
    sandboxed,
    soffice_binary,
)
from .drawing import (  # noqa: F401 - re-exported
    MAX_RECIPIENT_LINES,
    Rule,
    Slot,
    body_flowables,
    recipient_lines,
    render_layout,
    render_signature_page,
)
from .fields import (  # noqa: F401 - re-exported
    _finish,
    add_text_field,
    appearance_pdf,
    image_pdf,
    seal_rect,
    wrap_lines,
)
from .layout import (  # noqa: F401 - re-exported
    ATTACHMENT_SEAL_FIELD,
    CONTENT_WIDTH,
    DATE_FIELD,
    FONT_DIR,
    FONT_FILES,
    MARGIN_BOTTOM,
    MARGIN_LEFT,
    MARGIN_RIGHT,
    MARGIN_TOP,
    NUMBER_FIELD,
    PERSON_FIELD,
    SEAL_CAPTION_H,
    SEAL_FIELD,
    SEAL_SIZE,
    SIGNATURE_BOX,
    STANDING_BOARD,
    FieldBox,
    Layout,
    RenderedPdf,
    RenderError,
    _register_fonts,
    font_path,
    layout_for,
)


def render_uploaded(pdf: bytes, layout: Layout) -> RenderedPdf:
    """An uploaded main file: its pages plus a Decree 30 signature page with the fields."""
    from pypdf import PdfReader, PdfWriter

    try:
        reader = PdfReader(io.BytesIO(pdf))
        if reader.is_encrypted:
            raise RenderError(_("The uploaded PDF is encrypted."))
        page_count = len(reader.pages)
    except RenderError:
        raise
    except Exception as exc:
        raise RenderError(_("The uploaded PDF cannot be read.")) from exc
    sig_pdf, sink = render_signature_page(layout)
    writer = PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    extra = PdfReader(io.BytesIO(sig_pdf))
    for page in extra.pages:
        writer.add_page(page)
    # Uploaded PDFs may carry their own forms; ours must be the only AcroForm.
    if "/AcroForm" in writer._root_object:
        del writer._root_object["/AcroForm"]
    for page in writer.pages:
        if "/Annots" in page:
            del page["/Annots"]
    out = io.BytesIO()
    writer.write(out)
    boxes = [FieldBox(b.name, b.page + page_count, b.rect) for b in sink]
    return _finish(out.getvalue(), boxes)


def page_count_of(data: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def render_document(document, layout: Layout | None = None) -> RenderedPdf:
    """The PDF a document is signed as: composed text, or its uploaded main file."""
    from workflow.documents.models import FileKind
    from workflow.documents.uploads import DOCX, PDF

    layout = layout or layout_for(document)
    main = document.files.filter(kind=FileKind.MAIN).select_related("current_version").first()
    version = main.current_version if main else None
    if version is None:
        return render_layout(layout)
    with version.blob.open("rb") as handle:
        data = handle.read()
    if hashlib.sha256(data).hexdigest() != version.sha256:
        raise RenderError(_("The stored main file does not match its recorded checksum."))
    if version.content_type == DOCX:
        data = convert_docx(data)
    elif version.content_type != PDF:
        raise RenderError(_("The main file must be a PDF or DOCX document."))
    return render_uploaded(data, layout)
