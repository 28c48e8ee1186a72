"""The issued PDF's signature block, read back from the PDF itself (Appendix I §II.8a).

The boxes of the blue signature image and of the red seal image are found by walking
the signature widgets' appearance streams (nested form XObjects, ``cm`` matrices) with
pypdf: the seal must cover about the left third of the signature image, its caption
must sit outside the seal's ring, and the header must name the standing board.
"""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from pypdf.generic import ContentStream

from signing.models import PdfStage, SignedPdf
from tests.factories import advance, draft
from workflow.documents import services

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=False)]


def _mul(a, b):
    """Matrix product a·b of PDF matrices [a b c d e f] (a applied first)."""
    return [
        a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5],
    ]


def _apply(m, x, y):
    return (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])


def _walk(stream, reader, ctm, images, texts):
    """Collect image boxes and text origins drawn by ``stream`` under ``ctm``."""
    resources = stream.get("/Resources") or {}
    resources = resources.get_object() if hasattr(resources, "get_object") else resources
    xobjects = resources.get("/XObject") or {}
    xobjects = xobjects.get_object() if hasattr(xobjects, "get_object") else xobjects
    stack = []
    content = ContentStream(stream, reader)
    text_matrix = None
    for operands, op in content.operations:
        if op == b"q":
            stack.append(ctm)
        elif op == b"Q":
            ctm = stack.pop()
        elif op == b"cm":
            ctm = _mul([float(v) for v in operands], ctm)
        elif op == b"BT":
            text_matrix = [1, 0, 0, 1, 0, 0]
        elif op == b"Tm":
            text_matrix = [float(v) for v in operands]
        elif op == b"Td" and text_matrix is not None:
            text_matrix = _mul([1, 0, 0, 1, float(operands[0]), float(operands[1])], text_matrix)
        elif op in (b"Tj", b"TJ") and text_matrix is not None:
            texts.append(_apply(_mul(text_matrix, ctm), 0, 0))
        elif op == b"Do":
            xobject = xobjects[operands[0]].get_object()
            if xobject.get("/Subtype") == "/Image":
                corners = [_apply(ctm, x, y) for x, y in ((0, 0), (1, 0), (0, 1), (1, 1))]
                xs, ys = [c[0] for c in corners], [c[1] for c in corners]
                images.append((min(xs), min(ys), max(xs), max(ys)))
            else:
                matrix = [float(v) for v in xobject.get("/Matrix", [1, 0, 0, 1, 0, 0])]
                _walk(xobject, reader, _mul(matrix, ctm), images, texts)


def widget_drawing(reader: PdfReader, field_name: str):
    """(rect, image boxes, text origins) of a signature widget, in page coordinates."""
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            parent = annot.get("/Parent")
            name = annot.get("/T") or (parent.get_object().get("/T") if parent else None)
            if name != field_name:
                continue
            rect = [float(v) for v in annot["/Rect"]]
            appearance = annot["/AP"]["/N"].get_object()
            bbox = [float(v) for v in appearance.get("/BBox")]
            matrix = [float(v) for v in appearance.get("/Matrix", [1, 0, 0, 1, 0, 0])]
            # The appearance's BBox (after /Matrix) is mapped onto the widget's Rect.
            # (pyHanko writes the BBox top-down: [0 h w 0].)
            to_rect = [1, 0, 0, 1, min(rect[0], rect[2]) - min(bbox[0], bbox[2]),
                       min(rect[1], rect[3]) - min(bbox[1], bbox[3])]
            images, texts = [], []
            _walk(appearance, reader, _mul(matrix, to_rect), images, texts)
            return rect, images, texts
    raise AssertionError(f"no widget {field_name}")


def test_seal_covers_the_left_third_of_the_signature(signing_env):
    org, leader, clerk = signing_env["org"], signing_env["leader"], signing_env["clerk"]
    doc = draft(org, type_code="ke-hoach", subject="Tổ chức Ngày hội Đại đoàn kết",
                body="<p>Nội dung.</p>")
    doc = advance(org, doc, "approved")
    services.perform(leader, doc.pk, "sign", expected_state="approved")
    doc = services.perform(clerk, doc.pk, "issue", expected_state="signed")
    data = SignedPdf.objects.get(document=doc, stage=PdfStage.ISSUED).read()
    reader = PdfReader(io.BytesIO(data))

    _rect, person_images, _ = widget_drawing(reader, "NguoiKy")
    seal_rect, seal_images, seal_texts = widget_drawing(reader, "DauCoQuan")
    assert len(person_images) == 1 and len(seal_images) == 1
    sig, seal = person_images[0], seal_images[0]
    sig_w = sig[2] - sig[0]
    covered = (min(seal[2], sig[2]) - max(seal[0], sig[0])) / sig_w
    # "About the left third": the seal starts left of the signature and ends a third in.
    assert seal[0] <= sig[0]
    assert 0.28 <= covered <= 0.38, (covered, sig, seal, _rect)
    # The seal overlaps the signature vertically (it is stamped over it).
    assert seal[1] < sig[3] and seal[3] > sig[1]
    # Real size: a round seal of 35-42 mm.
    mm = 72 / 25.4
    assert 35 * mm <= seal[2] - seal[0] <= 42 * mm
    # The caption (organisation, time) is below the seal image, not over its ring.
    assert seal_texts, "the seal has no caption"
    assert all(y < seal[1] for _x, y in seal_texts), (seal_texts, seal)
    bottom = min(seal_rect[1], seal_rect[3])
    assert all(y >= bottom - 1 for _x, y in seal_texts), (seal_texts, seal_rect)


def test_header_names_the_standing_board(signing_env):
    from signing import render

    org = signing_env["org"]
    doc = draft(org, type_code="ke-hoach", subject="Kế hoạch", body="<p>Nội dung.</p>")
    layout = render.layout_for(doc)
    if doc.unit.abbreviation.upper().endswith("BTT"):
        assert layout.committee == "BAN THƯỜNG TRỰC"
        text = PdfReader(io.BytesIO(render.render_document(doc).data)).pages[0].extract_text()
        lines = [line.strip() for line in text.splitlines()]
        unit_line = next(i for i, line in enumerate(lines) if layout.issuing_body[:20] in line)
        assert "BAN THƯỜNG TRỰC" in " ".join(lines[unit_line:unit_line + 3])
    else:
        assert layout.committee == ""
