"""Urgency and confidentiality marks where Appendix I puts them (boxes 10a, 10b: left
column, under the number and symbol), the "Nơi nhận" block from the recipients, and
confidential documents keeping their restricted readers through delivery."""

from __future__ import annotations

import re
import subprocess
from html import unescape

import pytest

from signing import render
from tests.factories import draft
from tests.incoming_helpers import arrived, issue_to
from workflow import access
from workflow.documents import services
from workflow.documents.errors import InvalidInput
from workflow.documents.models import Document
from workflow.incoming.models import IncomingDocument
from workflow.organisation.models import Role

pytestmark = [pytest.mark.django_db(transaction=False)]

PAGE_W, PAGE_H = 595.28, 841.89
LEFT_COLUMN_RIGHT = render.MARGIN_LEFT + render.CONTENT_WIDTH * 0.42


def _words(pdf: bytes, tmp_path) -> list[tuple[str, float, float, float, float]]:
    """(word, xMin, yMin, xMax, yMax) of page 1, y from the top (pdftotext -bbox)."""
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    html = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(path), "-"],
                          capture_output=True, text=True, check=True).stdout
    pattern = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                         r'yMax="([\d.]+)">([^<]*)</word>')
    return [(unescape(m[5]), float(m[1]), float(m[2]), float(m[3]), float(m[4]))
            for m in pattern.finditer(html)]


def _find(words, text: str):
    return [w for w in words if w[0] == text]


@pytest.mark.parametrize("priority,secrecy,expected", [
    ("urgent", "", ["KHẨN"]),
    ("express", "mat", ["MẬT", "THƯỢNG KHẨN"]),
    ("flash", "tuyet_mat", ["TUYỆT MẬT", "HOẢ TỐC"]),
])
def test_marks_in_boxes_10a_10b(org, tmp_path, priority, secrecy, expected):
    doc = draft(org, type_code="ke-hoach", subject="Kế hoạch khẩn", priority=priority,
                secrecy=secrecy)
    assert doc.confidential == bool(secrecy)
    words = _words(render.render_document(doc).data, tmp_path)
    number = _find(words, "Số:")[0]
    motto = _find(words, "CỘNG")[0]
    subject_type = _find(words, "KẾ")[0]  # "KẾ HOẠCH", the type line (box 5a)
    tops = []
    for mark in expected:
        first = mark.split()[0]
        boxes = [w for w in _find(words, first) if w[2] > number[2]]
        assert boxes, (mark, words[:40])
        word = boxes[0]
        # Left column of the header (boxes 10a/10b), below "Số:" and above the type line.
        assert word[1] >= render.MARGIN_LEFT - 1 and word[3] <= LEFT_COLUMN_RIGHT + 1, mark
        assert word[3] < motto[1] or word[1] < motto[1], mark
        assert number[4] < word[2] < subject_type[2], mark
        tops.append(word[2])
    assert tops == sorted(tops)  # confidentiality (10a) above urgency (10b)


def test_no_marks_for_a_normal_document(org, tmp_path):
    doc = draft(org, type_code="ke-hoach")
    texts = {w[0] for w in _words(render.render_document(doc).data, tmp_path)}
    assert not texts & {"KHẨN", "MẬT", "HOẢ"}


def test_unknown_secrecy_is_refused(org):
    with pytest.raises(InvalidInput):
        draft(org, secrecy="very")


def test_recipients_block_from_system_and_free_text(org, tmp_path):
    doc = draft(org, external_recipients="Báo Nghệ An\nĐài PT-TH tỉnh;\nBáo Nghệ An")
    services.update_document(doc.drafter, doc.pk, data={}, recipient_unit_ids=[
        org.units["commune"].pk, org.units["district"].pk])
    doc = Document.objects.get(pk=doc.pk)
    layout = render.layout_for(doc)
    assert layout.recipients == ["Ủy ban MTTQ Việt Nam huyện Nam Đàn",
                                 "Ủy ban MTTQ Việt Nam xã Kim Liên", "Báo Nghệ An",
                                 "Đài PT-TH tỉnh"]
    assert layout.storage_line == "Lưu: VT, BDC."
    path = tmp_path / "doc.pdf"
    path.write_bytes(render.render_document(doc).data)
    text = subprocess.run(["pdftotext", "-x", "0", "-y", "0", "-W", "300", "-H", "842",
                           str(path), "-"], capture_output=True, text=True, check=True).stdout
    block = text[text.index("Nơi nhận:"):]
    lines = [line.strip() for line in block.splitlines() if line.strip().startswith("-")]
    assert lines == ["- Ủy ban MTTQ Việt Nam huyện Nam Đàn;",
                     "- Ủy ban MTTQ Việt Nam xã Kim Liên;", "- Báo Nghệ An;",
                     "- Đài PT-TH tỉnh;", "- Lưu: VT, BDC."]


def test_storage_line_falls_back_to_the_drafters_department(org):
    doc = draft(org)
    Document.objects.filter(pk=doc.pk).update(drafting_department=None)
    assert render.layout_for(Document.objects.get(pk=doc.pk)).storage_line == "Lưu: VT, BDC."


@pytest.mark.django_db(transaction=True)
def test_confidential_delivery_keeps_restricted_readers(org):
    document = issue_to(org, ["commune"], subject="Văn bản mật", secrecy="toi_mat")
    assert document.confidential
    incoming = arrived(org, document, "commune")
    assert incoming.confidential
    allowed = {Role.CLERK, Role.LEADER}
    for role in Role.values:
        person = org.person("commune", role)
        access.forget(person)
        sees_incoming = access.can_incoming(person, "view", incoming)
        listed = IncomingDocument.objects.filter(access.visible_incoming_q(person),
                                                 pk=incoming.pk).exists()
        sees_outgoing = access.can(person, "view", document)
        expected = role in allowed
        assert (sees_incoming, listed, sees_outgoing) == (expected,) * 3, role
    # Nobody outside the recipient unit reads it through delivery.
    for unit in ("commune2", "district"):
        for role in Role.values:
            person = org.person(unit, role)
            assert not access.can(person, "view", document), (unit, role)
            assert not IncomingDocument.objects.filter(access.visible_incoming_q(person),
                                                       pk=incoming.pk).exists()
