"""Best page and highlighted passage for a hit, the same for every backend.

Works on the stored, normalised page texts. Folding keeps character offsets
(see :func:`search.normalize.fold`), so matches found in the folded text are
highlighted in the original accented text: a query typed without accents
still shows ``kế hoạch`` in the snippet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .normalize import fold

WINDOW = 220
_WORD = r"[^\W_]"
_SEPARATOR = re.compile(r"[\W_]")


@dataclass
class Snippet:
    page_index: int | None  # index into the hit's pages; None when the match is in metadata
    parts: list[tuple[str, bool]] = field(default_factory=list)  # (text, highlighted)
    source: str = "body"  # body, subject, comments, meta

    @property
    def text(self) -> str:
        return "".join(t for t, _hl in self.parts)


def _pattern(terms: list[str], phrases: list[list[str]]) -> re.Pattern | None:
    alternatives = [r"\W+".join(re.escape(w) for w in phrase) for phrase in phrases if phrase]
    alternatives += [re.escape(t) for t in sorted(set(terms), key=len, reverse=True) if t]
    if not alternatives:
        return None
    return re.compile(rf"(?<!{_WORD})(?:{'|'.join(alternatives)})(?!{_WORD})")


def _score(text: str, folded: str, pattern: re.Pattern, exact: set[str]
           ) -> tuple[int, int, int, int, list[re.Match]]:
    matches = list(pattern.finditer(folded))
    if not matches:
        return (0, 0, 0, 0, matches)
    distinct = {m.group(0) for m in matches}
    exact_hits = sum(1 for m in matches if text[m.start():m.end()].lower() in exact)
    phrase_hits = sum(1 for m in matches if _SEPARATOR.search(m.group(0)))
    return (min(phrase_hits, 1), len(distinct), exact_hits, len(matches), matches)


def _anchor(matches: list[re.Match]) -> int:
    """Index of the match to centre on: a phrase, else where most distinct words cluster."""
    for i, m in enumerate(matches):
        if _SEPARATOR.search(m.group(0)):
            return i
    best, best_i = -1, 0
    span = WINDOW * 2 // 3
    for i, m in enumerate(matches[:200]):
        words = {n.group(0) for n in matches[i:i + 50] if n.start() - m.start() <= span}
        if len(words) > best:
            best, best_i = len(words), i
    return best_i


def _window(text: str, matches: list[re.Match]) -> list[tuple[str, bool]]:
    first = matches[_anchor(matches)]
    start = max(0, first.start() - WINDOW // 3)
    if start > 0:
        space = text.rfind(" ", 0, start)
        start = space + 1 if space >= 0 and start - space < 30 else start
    end = min(len(text), start + WINDOW)
    if end < len(text):
        space = text.find(" ", end)
        end = space if 0 <= space - end < 30 else end
    parts: list[tuple[str, bool]] = []
    if start > 0:
        parts.append(("…", False))
    cursor = start
    for m in matches:
        if m.start() < start:
            continue
        if m.end() > end:
            break
        if m.start() > cursor:
            parts.append((text[cursor:m.start()], False))
        parts.append((text[m.start():m.end()], True))
        cursor = m.end()
    if cursor < end:
        parts.append((text[cursor:end], False))
    if end < len(text):
        parts.append(("…", False))
    # Collapse runs of whitespace (PDF layout) so the passage reads as one line.
    return [(re.sub(r"\s+", " ", t), hl) for t, hl in parts]


def build(
    pages: list[str],
    folded_terms: list[str],
    folded_phrases: list[list[str]],
    exact_terms: set[str],
    extra: dict[str, str] | None = None,
) -> Snippet | None:
    """Pick the page with the most (and most exact) matches and cut a passage around them."""
    phrases = list(folded_phrases)
    if not phrases and len(folded_terms) > 1:
        # Words typed next to each other are most telling where they stand together.
        phrases = [list(folded_terms)]
    pattern = _pattern(folded_terms, phrases)
    if pattern is None:
        return None
    best: tuple | None = None
    best_index = -1
    for index, text in enumerate(pages):
        if not text:
            continue
        score = _score(text, fold(text), pattern, exact_terms)
        if score[3] and (best is None or score[:4] > best[:4]):
            best, best_index = score, index
    if best is not None:
        return Snippet(page_index=best_index, parts=_window(pages[best_index], best[4]))
    for source, text in (extra or {}).items():
        if not text:
            continue
        matches = list(pattern.finditer(fold(text)))
        if matches:
            return Snippet(page_index=None, parts=_window(text, matches), source=source)
    return None
