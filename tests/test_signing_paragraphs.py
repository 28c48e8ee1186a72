"""The fast plain-text paragraph used for document bodies (signing.paragraphs)."""

from __future__ import annotations

import io
import random
import re
import subprocess
import unicodedata

from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import getFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from signing import drawing, render
from signing.layout import _register_fonts
from signing.paragraphs import PlainParagraph, PlainParagraphs, _FirstSubset, break_lines

TEXT = ("Căn cứ Điều lệ Mặt trận Tổ quốc Việt Nam, Ban Thường trực đề nghị các tổ chức thành "
        "viên tập trung triển khai thực hiện tốt cuộc vận động “Toàn dân đoàn kết” & giám sát, "
        "phản biện xã hội; tổng hợp kịp thời ý kiến, kiến nghị của cử tri. ") * 6


def _style():
    _register_fonts()
    return drawing._styles()["p"]


def test_lines_fit_the_width_and_keep_every_word_in_order():
    style = _style()
    lines = break_lines(TEXT.split(), style, 400, style.firstLineIndent)
    assert [w for words, _ in lines for w in words] == TEXT.split()
    assert lines[0][1] <= 400 - style.firstLineIndent + 1e-6
    assert all(natural <= 400 + 1e-6 for _, natural in lines[1:])
    assert len(lines) > 5


def test_split_refuses_an_orphan_and_keeps_all_lines():
    style = _style()
    para = PlainParagraph(TEXT, style)
    _w, height = para.wrap(400, 10_000)
    total = round(height / style.leading)
    assert para.split(400, style.leading * 1.5) == []  # one line would be an orphan
    head, tail = para.split(400, style.leading * 3)
    assert head.wrap(400, 10_000)[1] == 3 * style.leading
    assert tail.wrap(400, 10_000)[1] == (total - 3) * style.leading
    assert tail.getSpaceBefore() == 0


def test_body_uses_plain_paragraphs_unless_there_is_markup():
    styles = drawing._styles()
    flowables = render.body_flowables("<p>Văn bản thường &amp; ký hiệu</p><p>Có <b>đậm</b></p>",
                                      styles)
    assert isinstance(flowables[0], PlainParagraph)
    assert flowables[0].text == "Văn bản thường & ký hiệu"
    assert isinstance(flowables[1], Paragraph)


def test_a_long_body_renders_every_word_across_pages():
    layout = render.Layout(
        parent_body="ỦY BAN MTTQ VIỆT NAM", issuing_body="TỈNH NGHỆ AN", type_name="KẾ HOẠCH",
        subject="Thử", authority="TM. BAN THƯỜNG TRỰC", signer_title="CHỦ TỊCH",
        signer_name="Nguyễn Văn A", body_html="".join(f"<p>{TEXT}</p>" for _ in range(12)))
    rendered = render.render_layout(layout)
    assert rendered.page_count >= 3
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(rendered.data)).pages)
    assert text.split().count("Căn") == 12 * 6
    assert "“Toàn dân đoàn kết” & giám sát" in " ".join(text.split())


def test_letters_beyond_the_first_font_subset_are_written_right():
    # More distinct letters than the first 256-code subset holds: later lines mix subsets.
    vowels = "aăâeêioôơuưy"
    letters = "".join(unicodedata.normalize("NFC", v + tone) for v in vowels
                      for tone in ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"))
    words = [letters[i:i + 7] for i in range(0, len(letters), 7)]
    words += [w.upper() for w in words] + ["đường", "ĐƯỜNG", "“trích dẫn”", "–", "№",
                                           "абвгдежзийклмнопрстуфхцчшщыэюя"]
    body = "<p>" + " ".join(words * 3) + "</p>"
    layout = render.Layout(
        parent_body="ỦY BAN MTTQ VIỆT NAM", issuing_body="TỈNH NGHỆ AN", type_name="KẾ HOẠCH",
        subject="Thử", authority="", signer_title="CHỦ TỊCH", signer_name="Nguyễn Văn A",
        body_html=body)
    rendered = render.render_layout(layout)
    page = PdfReader(io.BytesIO(rendered.data)).pages[0]
    assert any(name.endswith("+1") for name in page["/Resources"]["/Font"])  # a second subset
    assert " ".join(words * 3) in " ".join(page.extract_text().split())


def _word_boxes(pdf: bytes) -> tuple[int, list[tuple[str, list[float]]]]:
    out = subprocess.run(["pdftotext", "-bbox", "-", "-"], input=pdf, capture_output=True,
                         check=True).stdout.decode()
    boxes = re.findall(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                       r"([^<]*)<", out)
    return out.count("<page"), [(m[4], [float(v) for v in m[:4]]) for m in boxes]


def _assert_same_glyphs(pdf: bytes, reference: bytes, *, min_pages: int) -> None:
    """Same pages, same words, each within 0.01 pt of where the reference has it."""
    (pages, words), (reference_pages, reference_words) = _word_boxes(pdf), _word_boxes(reference)
    assert pages == reference_pages >= min_pages
    assert [w for w, _ in words] == [w for w, _ in reference_words]
    assert all(abs(a - b) < 0.01 for (_, one), (_, other) in zip(words, reference_words,
                                                                   strict=True)
               for a, b in zip(one, other, strict=True))


def test_a_run_of_paragraphs_lays_out_as_platypus_lays_out_each_one(monkeypatch):
    # Paragraphs of every length, so page breaks fall between paragraphs, inside them,
    # and where only one line would fit (an orphan moves to the next page).
    rng = random.Random(7)
    words = TEXT.split()
    body = "".join("<p>" + " ".join(rng.choice(words) for _ in range(rng.randint(3, 160)))
                   + "</p>" for _ in range(70))
    layout = render.Layout(
        parent_body="ỦY BAN MTTQ VIỆT NAM", issuing_body="TỈNH NGHỆ AN", type_name="KẾ HOẠCH",
        subject="Thử", authority="TM. BAN THƯỜNG TRỰC", signer_title="CHỦ TỊCH",
        signer_name="Nguyễn Văn A", body_html=body)
    assert any(isinstance(f, PlainParagraphs)
               for f in render.body_flowables(body, drawing._styles()))
    merged = render.render_layout(layout).data
    monkeypatch.setattr(drawing, "merge_runs", lambda flowables: flowables)
    _assert_same_glyphs(merged, render.render_layout(layout).data, min_pages=4)


def test_a_run_splits_between_and_inside_paragraphs():
    style = _style()
    parts = [PlainParagraph(TEXT, style) for _ in range(3)]
    run = PlainParagraphs(parts)
    _w, total = run.wrap(400, 10_000)
    one = parts[0].wrap(400, 10_000)[1]
    assert run.split(400, total + 1) == [run]
    head, tail = run.split(400, one + style.spaceAfter + 3 * style.leading)
    assert head.parts[0] is parts[0] and len(head.parts) == 2
    assert head.wrap(400, 10_000)[1] == one + max(style.spaceAfter, style.spaceBefore) \
        + 3 * style.leading
    assert tail.parts[0].getSpaceBefore() == 0 and tail.parts[1] is parts[2]
    # Room for the first paragraph and one line of the second: the line is not left alone.
    head, tail = run.split(400, one + max(style.spaceAfter, style.spaceBefore)
                           + 1.5 * style.leading)
    assert head.parts == [parts[0]] and tail.parts == parts[1:]


def test_fast_operators_place_every_glyph_where_reportlab_would(monkeypatch):
    # Letters beyond the first subset, parentheses and backslashes (escaped), lines drawn
    # with the '"' operator: the same glyphs at the same places as ReportLab's text object.
    vowels = "aăâeêioôơuưy"
    letters = "".join(unicodedata.normalize("NFC", v + tone) for v in vowels
                      for tone in ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"))
    rare = [letters[i:i + 5] for i in range(0, len(letters), 5)]
    rare += [w.upper() for w in rare] + ["(ngoặc)", "a\\b", "абвгд"]
    rng = random.Random(3)
    words = TEXT.split()
    body = "".join("<p>" + " ".join(rng.choice(rare if rng.random() < 0.2 else words)
                                     for _ in range(rng.randint(3, 120))) + "</p>"
                   for _ in range(40))
    layout = render.Layout(
        parent_body="ỦY BAN MTTQ VIỆT NAM", issuing_body="TỈNH NGHỆ AN", type_name="KẾ HOẠCH",
        subject="Thử", authority="", signer_title="CHỦ TỊCH", signer_name="Nguyễn Văn A",
        body_html=body)
    fast = render.render_layout(layout).data

    def reportlab_text_object(self, font, canv, bottom=0.0, state=None):
        text = canv.beginText()
        self._draw_with(text, bottom)
        if state is not None:
            state[:] = [None, 0.0]
        return text._code

    monkeypatch.setattr(PlainParagraph, "_operators", reportlab_text_object)
    _assert_same_glyphs(fast, render.render_layout(layout).data, min_pages=2)


def test_characters_the_fast_path_cannot_encode_are_left_to_reportlab():
    # U+FFFE is the codec's "unused" mark; emoji and CJK have no glyph in the font, and
    # ReportLab gives every such character the same code.
    body = ("<p>Trước \ufffe giữa 😀 sau 👍 và ✅ 中文 " + "chữ " * 60
            + "</p><p>Đồng ý 👍 và ✅ hoàn thành</p><p>Đoạn sau bình thường.</p>")
    layout = render.Layout(
        parent_body="ỦY BAN MTTQ VIỆT NAM", issuing_body="TỈNH NGHỆ AN", type_name="KẾ HOẠCH",
        subject="Thử", authority="", signer_title="CHỦ TỊCH", signer_name="Nguyễn Văn A",
        body_html=body)
    rendered = render.render_layout(layout)
    text = " ".join(PdfReader(io.BytesIO(rendered.data)).pages[0].extract_text().split())
    for expected in ("Trước", "giữa", "chữ chữ", "Đồng ý", "hoàn thành", "Đoạn sau bình thường."):
        assert expected in text
    canvas = Canvas(io.BytesIO())
    encoder = _FirstSubset(getFont(drawing._styles()["p"].fontName), canvas._doc)
    assert encoder.encode("a\ufffeb") is None  # not given the code of an unused slot
    assert encoder.encode("ab") is not None


def test_a_document_sent_to_every_commune_still_renders():
    """The recipients sit beside the signature in a row that cannot split across pages:
    150 units used to overflow the page (LayoutError); the first ones are listed and the
    rest counted."""
    names = [f"Ủy ban MTTQ xã Thử {n:03d}" for n in range(150)]
    layout = render.Layout(
        parent_body="ỦY BAN MTTQ VIỆT NAM", issuing_body="TỈNH NGHỆ AN", type_name="KẾ HOẠCH",
        subject="Thử", authority="TM. BAN THƯỜNG TRỰC", signer_title="CHỦ TỊCH",
        signer_name="Nguyễn Văn A", body_html="<p>Nội dung.</p>", recipients=names)
    rendered = render.render_layout(layout)
    text = " ".join(" ".join(page.extract_text() for page in
                             PdfReader(io.BytesIO(rendered.data)).pages).split())
    assert "Ủy ban MTTQ xã Thử 000" in text
    assert "136 đơn vị khác theo danh sách gửi trên hệ thống" in text
    assert render.recipient_lines(names[:15]) == names[:15]
