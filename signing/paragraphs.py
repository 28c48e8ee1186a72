"""A fast paragraph for body text without inline markup.

ReportLab's ``Paragraph`` parses its text as markup, splits it into styled
fragments and measures every word through several layers on each wrap; a
100-page plan or report spends most of its rendering time there. Almost every
body paragraph of an administrative document is plain text in one font, so
those are laid out here: words measured once per font and size (Vietnamese
text repeats a few thousand syllables), greedy line breaking, justification by
word spacing (code 32 is a space in ReportLab's TrueType subsets, so ``Tw``
works). Paragraphs with bold, italics, line breaks or tables still go through
``Paragraph``.

The result follows ``Paragraph``'s rules for what a reader sees: first-line
indent, justified lines except the last, no orphan line at the bottom of a page
(``allowOrphans=0``), a widow at the top of the next page allowed.
"""

from __future__ import annotations

import weakref

from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_RIGHT
from reportlab.lib.rl_accel import fp_str
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase.pdfmetrics import getFont, stringWidth
from reportlab.platypus import Flowable

# Widths per (font, size): bounded so a long-running worker does not grow without limit.
_WIDTHS: dict[tuple[str, float], dict[str, float]] = {}
_WIDTHS_LIMIT = 100_000

Line = tuple[list[str], float]  # the words, their natural width with single spaces

# Each word's bytes in the font's subsets, per PDF being built: ReportLab assigns subset
# codes per document, and encoding character by character is its slowest step.
_ENCODED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _width_table(font: str, size: float) -> dict[str, float]:
    table = _WIDTHS.get((font, size))
    if table is None or len(table) > _WIDTHS_LIMIT:
        table = _WIDTHS[(font, size)] = {}
    return table


def break_lines(words: list[str], style: ParagraphStyle, width: float,
                first_indent: float) -> list[Line]:
    """Greedy line breaking: as many words per line as fit (a longer word gets its own line)."""
    font, size = style.fontName, style.fontSize
    table = _width_table(font, size)
    space = stringWidth(" ", font, size)
    lines: list[Line] = []
    current: list[str] = []
    used = 0.0
    limit = width - first_indent
    for word in words:
        w = table.get(word)
        if w is None:
            w = table[word] = stringWidth(word, font, size)
        if current and used + space + w > limit + 1e-6:
            lines.append((current, used))
            current, used, limit = [word], w, width
        elif current:
            current.append(word)
            used += space + w
        else:
            current, used = [word], w
    if current:
        lines.append((current, used))
    return lines


class PlainParagraph(Flowable):
    """One paragraph of plain text (no markup) in one font, justified or aligned."""

    def __init__(self, text: str, style: ParagraphStyle, *, lines: list[Line] | None = None,
                 first_line: bool = True, justify_last: bool = False):
        super().__init__()
        self.text = text
        self.style = style
        self._lines = lines
        self._first_line = first_line  # False for the continuation after a page break
        self._justify_last = justify_last  # True for the part before a page break
        self._fixed = lines is not None  # a part of a split paragraph keeps its lines
        self._wrapped_for: float | None = None

    # Flowable protocol -----------------------------------------------------------------

    def getSpaceBefore(self) -> float:  # noqa: N802 - ReportLab's name
        return self.style.spaceBefore if self._first_line else 0

    def getSpaceAfter(self) -> float:  # noqa: N802
        return self.style.spaceAfter

    def _inner_width(self, avail_width: float) -> float:
        return avail_width - self.style.leftIndent - self.style.rightIndent

    def _indent(self) -> float:
        return self.style.firstLineIndent if self._first_line else 0

    def wrap(self, avail_width, avail_height):
        if not self._fixed and self._wrapped_for != avail_width:
            self._lines = break_lines(self.text.split(), self.style,
                                      self._inner_width(avail_width), self._indent())
            self._wrapped_for = avail_width
        self.width = avail_width
        self.height = len(self._lines) * self.style.leading
        return self.width, self.height

    def split(self, avail_width, avail_height):
        self.wrap(avail_width, avail_height)
        fit = int(avail_height / self.style.leading)
        lines = self._lines
        if fit <= 1 or not lines:  # no orphan line at the foot of a page
            return []
        if len(lines) <= fit:
            return [self]
        head = PlainParagraph(self.text, self.style, lines=lines[:fit],
                              first_line=self._first_line, justify_last=True)
        tail = PlainParagraph(self.text, self.style, lines=lines[fit:], first_line=False)
        return [head, tail]

    def draw(self):
        style = self.style
        lines = self._lines
        if not lines:
            return
        inner = self._inner_width(self.width)
        canvas = self.canv
        text = canvas.beginText()
        text.setFont(style.fontName, style.fontSize, style.leading)
        canvas.setFillColor(style.textColor)
        y = self.height - style.fontSize
        last = len(lines) - 1
        word_space = 0.0
        encode = self._encoder(canvas)
        for index, (words, natural) in enumerate(lines):
            indent = self._indent() if index == 0 else 0
            x = style.leftIndent + indent
            spare = inner - indent - natural
            spacing = 0.0
            if style.alignment == TA_JUSTIFY:
                if len(words) > 1 and (index < last or self._justify_last):
                    spacing = spare / (len(words) - 1)
            elif style.alignment == TA_CENTER:
                x += spare / 2
            elif style.alignment == TA_RIGHT:
                x += spare
            if spacing != word_space:
                text.setWordSpace(spacing)
                word_space = spacing
            text.setTextOrigin(x, y)
            if encode is None:
                text.textOut(" ".join(words))
            else:
                encode(text, words)
            y -= style.leading
        canvas.drawText(text)

    def _encoder(self, canvas):
        """Writes a line's text operators from per-word encodings (TrueType fonts only)."""
        font = getFont(self.style.fontName)
        doc = canvas._doc
        if not getattr(font, "_dynamicFont", False):
            return None
        words_of = _ENCODED.setdefault(doc, {}).setdefault(font.fontName, {})
        size = f"{fp_str(self.style.fontSize)} Tf {fp_str(self.style.leading)} TL"
        escape = canvas._escape

        def encode(text, words: list[str]) -> None:
            runs: list[list] = []
            for index, word in enumerate(words):
                parts = words_of.get(word)
                if parts is None:
                    parts = words_of[word] = font.splitString(word, doc)
                if index:
                    parts = [(0, b" "), *parts]  # code 32 of subset 0 is the space
                for subset, data in parts:
                    if runs and runs[-1][0] == subset:
                        runs[-1][1] += data
                    else:
                        runs.append([subset, data])
            code = text._code
            for subset, data in runs:
                if subset != text._curSubset:
                    code.append(f"{font.getSubsetInternalName(subset, doc)} {size}")
                    text._curSubset = subset
                code.append(f"({escape(data)}) Tj")

        return encode
