"""The fast plain-text paragraph used for document bodies (signing.paragraphs)."""

from __future__ import annotations

import io
import unicodedata

from pypdf import PdfReader
from reportlab.platypus import Paragraph

from signing import render
from signing.paragraphs import PlainParagraph, break_lines

TEXT = ("Căn cứ Điều lệ Mặt trận Tổ quốc Việt Nam, Ban Thường trực đề nghị các tổ chức thành "
        "viên tập trung triển khai thực hiện tốt cuộc vận động “Toàn dân đoàn kết” & giám sát, "
        "phản biện xã hội; tổng hợp kịp thời ý kiến, kiến nghị của cử tri. ") * 6


def _style():
    render._register_fonts()
    return render._styles()["p"]


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
    styles = render._styles()
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
