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

import codecs
import weakref
from bisect import bisect_right
from itertools import accumulate

from reportlab import rl_config
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_RIGHT
from reportlab.lib.rl_accel import fp_str
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase.pdfmetrics import getFont, stringWidth
from reportlab.platypus import Flowable

# Word width + one space, per (font, size); bounded so a long-running worker stays small.
_WIDTHS: dict[tuple[str, float], dict[str, float]] = {}
_WIDTHS_LIMIT = 100_000

_FUZZ = 1e-6  # ReportLab's frames allow this much overflow
Line = tuple[list[str], float]  # the words, their natural width with single spaces

# Per PDF being built and font: the codes of the font's first subset (ReportLab assigns
# subset codes per document; encoding character by character is its slowest step).
_ENCODED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


_UNUSED = "\ufffe"  # an unassigned code in a charmap table


class _FirstSubset:
    """Encodes text into the one-byte codes of a TrueType font's first subset.

    A C charmap codec does the encoding; a character it does not know yet gets its code
    from ReportLab on first sight, so the embedded subset stays consistent.
    """

    def __init__(self, font, doc):
        self.font, self.doc = font, doc
        self.table = [_UNUSED] * 256  # code -> character
        self.elsewhere: set[str] = set()  # characters ReportLab put in a later subset
        self.codec = codecs.charmap_build("".join(self.table))

    def encode(self, text: str) -> bytes | None:
        """``text`` in subset 0, or None when some character lives in a later subset."""
        if _UNUSED in text:  # the codec would give it the code of an unused slot
            return None
        while True:
            try:
                return codecs.charmap_encode(text, "strict", self.codec)[0]
            except UnicodeEncodeError as error:
                unknown = set(text[error.start:error.end])
            if unknown & self.elsewhere:
                return None
            for char in unknown:
                ((subset, data),) = self.font.splitString(char, self.doc)
                # Characters without a glyph all share a code (0): one slot, one character,
                # so any second one is left to ReportLab.
                if subset == 0 and self.table[data[0]] in (_UNUSED, char):
                    self.table[data[0]] = char
                else:
                    self.elsewhere.add(char)
            self.codec = codecs.charmap_build("".join(self.table))


def _width_table(font: str, size: float) -> dict[str, float]:
    table = _WIDTHS.get((font, size))
    if table is None or len(table) > _WIDTHS_LIMIT:
        table = _WIDTHS[(font, size)] = {}
    return table


def break_lines(words: list[str], style: ParagraphStyle, width: float,
                first_indent: float) -> list[Line]:
    """Greedy line breaking: as many words per line as fit (a longer word gets its own line).

    Widths are summed once into running totals and each line end is found by bisection,
    so the per-word work stays in C.
    """
    if not words:
        return []
    font, size = style.fontName, style.fontSize
    # The table holds each word's width plus one space: the running totals are then
    # a C-level map and accumulate.
    table = _width_table(font, size)
    space = stringWidth(" ", font, size)
    for word in set(words).difference(table):
        table[word] = stringWidth(word, font, size) + space
    # ends[i]: width of words[0..i] each followed by a space
    ends = list(accumulate(map(table.__getitem__, words)))
    lines: list[Line] = []
    start, before, limit = 0, 0.0, width - first_indent
    count = len(words)
    while start < count:
        # The last word of a line carries no trailing space: allow for it in the bound.
        stop = bisect_right(ends, before + limit + space + 1e-6, lo=start)
        stop = max(stop, start + 1)
        lines.append((words[start:stop], ends[stop - 1] - before - space))
        before, start, limit = ends[stop - 1], stop, width
    return lines


def _length(words: list[str]) -> int:
    """Characters of the words joined by single spaces."""
    return sum(map(len, words)) + len(words) - 1


class PlainParagraph(Flowable):
    """One paragraph of plain text (no markup) in one font, justified or aligned."""

    def __init__(self, text: str, style: ParagraphStyle, *, lines: list[Line] | None = None,
                 first_line: bool = True, justify_last: bool = False, joined: str = "",
                 offset: int = 0):
        super().__init__()
        self.text = text
        self.style = style
        self._lines = lines
        # The words joined by single spaces, and where this part's first line starts in
        # it: every line is a slice of it.
        self._joined, self._offset = joined, offset
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
            words = self.text.split()
            self._joined = " ".join(words)
            self._lines = break_lines(words, self.style, self._inner_width(avail_width),
                                      self._indent())
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
                              first_line=self._first_line, justify_last=True,
                              joined=self._joined, offset=self._offset)
        tail_offset = self._offset + sum(_length(words) + 1 for words, _ in lines[:fit])
        tail = PlainParagraph(self.text, self.style, lines=lines[fit:], first_line=False,
                              joined=self._joined, offset=tail_offset)
        return [head, tail]

    def draw(self):
        if not self._lines:
            return
        font = getFont(self.style.fontName)
        text = self.canv.beginText()
        self.canv.setFillColor(self.style.textColor)
        if getattr(font, "_dynamicFont", False):
            text._code.extend(self._operators(font, self.canv))
        else:
            self._draw_with(text)
        self.canv.drawText(text)

    def _placements(self, bottom: float = 0.0):
        """(words, x, y, word spacing) per line, in the coordinates of whoever draws the
        paragraph with its bottom at ``bottom``."""
        style = self.style
        inner = self._inner_width(self.width)
        y = bottom + self.height - style.fontSize
        last = len(self._lines) - 1
        for index, (words, natural) in enumerate(self._lines):
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
            yield words, x, y, spacing
            y -= style.leading

    def _draw_with(self, text, bottom: float = 0.0) -> None:
        """Any font, through ReportLab's text object."""
        text.setFont(self.style.fontName, self.style.fontSize, self.style.leading)
        for words, x, y, spacing in self._placements(bottom):
            text.setWordSpace(spacing)
            text.setTextOrigin(x, y)
            text.textOut(" ".join(words))

    def _operators(self, font, canv, bottom: float = 0.0, state: list | None = None,
                   ) -> list[str]:
        """The text operators for a TrueType font: what ReportLab's text object writes
        (subset font switches, ``Tw``, ``Tm``, ``Tj``), with the paragraph encoded by one
        C codec call instead of character by character, and each line after the
        first that starts where the one above did drawn by one ``"`` operator (word
        spacing, next line, show text).

        ``state`` ([font subset, word spacing]) carries the text state from the previous
        paragraph of the same text object, so unchanged settings are not written again.
        """
        doc = canv._doc
        encoder = _ENCODED.get(doc, {}).get(font.fontName)
        if encoder is None:
            encoder = _ENCODED.setdefault(doc, {})[font.fontName] = _FirstSubset(font, doc)
        size = f" {fp_str(self.style.fontSize)} Tf {fp_str(self.style.leading)} TL"
        escape = canv._escape
        ops: list[str] = []
        current, word_space = state if state is not None else (None, 0.0)
        # Lines are the paragraph's words joined by single spaces, so each is a slice of
        # the paragraph encoded once.
        encoded = encoder.encode(self._joined)
        position = self._offset
        previous = None  # where the previous line started
        leading = self.style.leading
        for words, x, y, spacing in self._placements(bottom):
            length = _length(words)
            line = encoded[position:position + length] if encoded is not None else None
            if line is None:  # some letters live in a later subset; maybe not on this line
                line = encoder.encode(" ".join(words))
            # ReportLab splits a line with letters of several subsets.
            runs = [(0, line)] if line is not None else font.splitString(" ".join(words), doc)
            position += length + 1
            if (previous is not None and x == previous[0] and abs(previous[1] - leading - y) < 1e-6
                    and len(runs) == 1 and runs[0][0] == current):
                # The line below the previous one, same start: T* moves there (TL is the
                # leading), and the word spacing is set on the way.
                ops.append(f'{spacing:.4f} 0 ({escape(runs[0][1])}) "')
                word_space, previous = spacing, (x, y)
                continue
            if spacing != word_space:
                ops.append(f"{spacing:.4f} Tw")
                word_space = spacing
            ops.append(f"1 0 0 1 {x:.3f} {y:.3f} Tm")
            previous = (x, y)
            for subset, data in runs:
                if subset != current:
                    ops.append(font.getSubsetInternalName(subset, doc) + size)
                    current = subset
                ops.append(f"({escape(data)}) Tj")
        if state is not None:
            state[:] = [current, word_space]
        return ops


class PlainParagraphs(Flowable):
    """Consecutive plain paragraphs of one style as one flowable.

    Platypus spends more on each flowable (frame checks, canvas state, a text object)
    than this module spends laying out a paragraph, so a run of body paragraphs is
    placed here, by the frame's own rules: the space between two paragraphs is the
    larger of the first one's space after and the next one's space before (ReportLab's
    ``overlapAttachedSpace``), a paragraph that does not fit is split by its own rule
    (no orphan line) and the rest goes on the next page.
    """

    def __init__(self, parts: list[PlainParagraph]):
        super().__init__()
        self.parts = parts
        self._bottoms: list[float] = []

    def getSpaceBefore(self) -> float:  # noqa: N802 - ReportLab's name
        return self.parts[0].getSpaceBefore()

    def getSpaceAfter(self) -> float:  # noqa: N802
        return self.parts[-1].getSpaceAfter()

    @staticmethod
    def _gap(above: PlainParagraph, below: PlainParagraph) -> float:
        after, before = above.getSpaceAfter(), below.getSpaceBefore()
        return max(after, before) if rl_config.overlapAttachedSpace else after + before

    def wrap(self, avail_width, avail_height):
        # A run that does not fit reports only as much height as it took to find out:
        # the frame then splits it. Measuring the whole rest of a long body on every page
        # made laying out 100 pages slower than one flowable per paragraph.
        self._bottoms = []
        tops: list[float] = []
        total = 0.0
        for index, part in enumerate(self.parts):
            gap = self._gap(self.parts[index - 1], part) if index else 0.0
            tops.append(total + gap)
            total += gap + part.wrap(avail_width, avail_height)[1]
            if total > avail_height + _FUZZ:
                self.width, self.height = avail_width, total
                return self.width, self.height
        # Each part's bottom, measured from the bottom of the run.
        self._bottoms = [total - top - part.height for top, part in zip(tops, self.parts,
                                                                         strict=True)]
        self.width, self.height = avail_width, total
        return self.width, self.height

    def split(self, avail_width, avail_height):
        used = 0.0
        for index, part in enumerate(self.parts):
            gap = self._gap(self.parts[index - 1], part) if index else 0.0
            height = part.wrap(avail_width, avail_height)[1]
            if used + gap + height <= avail_height + _FUZZ:
                used += gap + height
                continue
            room = avail_height - used - gap
            pieces = part.split(avail_width, room) if room > 0 else []
            head = self.parts[:index] + pieces[:1]
            tail = pieces[1:] + self.parts[index + 1:] if pieces else self.parts[index:]
            if not head:
                return []
            return [PlainParagraphs(head), PlainParagraphs(tail)]
        return [self]

    def draw(self):
        font = getFont(self.parts[0].style.fontName)
        text = self.canv.beginText()
        self.canv.setFillColor(self.parts[0].style.textColor)
        dynamic = getattr(font, "_dynamicFont", False)
        state = [None, 0.0]
        for part, bottom in zip(self.parts, self._bottoms, strict=True):
            if not part._lines:
                continue
            if dynamic:
                text._code.extend(part._operators(font, self.canv, bottom, state))
            else:
                part._draw_with(text, bottom)
        self.canv.drawText(text)


def merge_runs(flowables: list[Flowable]) -> list[Flowable]:
    """Consecutive plain paragraphs of one style become one :class:`PlainParagraphs`."""
    merged: list[Flowable] = []
    run: list[PlainParagraph] = []

    def close() -> None:
        if len(run) > 1:
            merged.append(PlainParagraphs(run[:]))
        else:
            merged.extend(run)
        run.clear()

    for flowable in flowables:
        if isinstance(flowable, PlainParagraph) and (not run or flowable.style is run[0].style):
            run.append(flowable)
            continue
        close()
        if isinstance(flowable, PlainParagraph):
            run.append(flowable)
        else:
            merged.append(flowable)
    close()
    return merged
