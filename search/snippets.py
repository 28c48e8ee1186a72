"""Best page and highlighted passage for a hit, the same for every backend.

Works on the stored, normalised page texts. The query's folded words become
a pattern in which every letter is a class of all the letters that fold to it
(``ke`` → ``[kK][eèéẻẽẹêềếểễệEÈ…]``), run directly on the accented text: a
query typed without accents still highlights ``kế hoạch``, and no page has to
be folded first (folding every page of every hit was most of a query's time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from .normalize import FOLD_TABLE, fold

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


def _vietnamese(cp: int) -> bool:
    # Latin-1, Latin Extended-A, ơ/ư and the Vietnamese block: small classes compile and
    # match faster; letters of other alphabets are still found, just not highlighted.
    return 0xC0 <= cp <= 0x17F or cp in (0x1A0, 0x1A1, 0x1AF, 0x1B0) or 0x1EA0 <= cp <= 0x1EF9


def _variant_classes() -> dict[str, str]:
    """Folded letter → regex class of every character that folds to it (both cases)."""
    variants: dict[str, set[str]] = {}
    for cp, base in FOLD_TABLE.items():
        if not base.isascii() or not _vietnamese(cp):
            continue
        variants.setdefault(base, {base, base.upper()}).add(chr(cp))
    return {base: "[" + "".join(sorted(chars)) + "]" for base, chars in variants.items()}


_CLASSES = _variant_classes()


def _char_pattern(ch: str) -> str:
    if ch in _CLASSES:
        return _CLASSES[ch]
    upper = ch.upper()
    if upper != ch and len(upper) == 1:
        return f"[{re.escape(ch)}{re.escape(upper)}]"
    return re.escape(ch)


def _word_pattern(folded_word: str) -> str:
    return "".join(_char_pattern(ch) for ch in folded_word)


@lru_cache(maxsize=512)
def _compiled(terms: tuple[str, ...], phrases: tuple[tuple[str, ...], ...]) -> re.Pattern | None:
    alternatives = [r"\W+".join(_word_pattern(w) for w in phrase) for phrase in phrases if phrase]
    alternatives += [_word_pattern(t) for t in sorted(set(terms), key=len, reverse=True) if t]
    if not alternatives:
        return None
    return re.compile(rf"(?<!{_WORD})(?:{'|'.join(alternatives)})(?!{_WORD})")


def _pattern(terms: list[str], phrases: list[list[str]]) -> re.Pattern | None:
    """Matches the folded words and phrases in accented text of any case."""
    return _compiled(tuple(terms), tuple(tuple(p) for p in phrases))


def _score(text: str, pattern: re.Pattern, exact: set[str]
           ) -> tuple[int, int, int, int, list[re.Match]]:
    matches = list(pattern.finditer(text))
    if not matches:
        return (0, 0, 0, 0, matches)
    distinct = {fold(m.group(0)) for m in matches}
    exact_hits = sum(1 for m in matches if m.group(0).lower() in exact)
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
        words = {n.group(0).lower() for n in matches[i:i + 50] if n.start() - m.start() <= span}
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
    typed_phrases = bool(phrases)
    if not phrases and len(folded_terms) > 1:
        # Words typed next to each other are most telling where they stand together.
        phrases = [list(folded_terms)]
    pattern = _pattern(folded_terms, phrases)
    if pattern is None:
        return None
    # A page with the phrase (or, unless one was typed, every word) and, for a query typed with
    # accents, an exact match cannot be bettered in a way a reader would notice: stop
    # there instead of scanning every page of every hit (most of a query's time).
    need_exact = any(fold(e) != e for e in exact_terms)
    distinct_words = len(set(folded_terms))
    best: tuple | None = None
    best_index = -1
    for index, text in enumerate(pages):
        if not text:
            continue
        score = _score(text, pattern, exact_terms)
        if score[3] and (best is None or score[:4] > best[:4]):
            best, best_index = score, index
            complete = score[0] or (not typed_phrases and score[1] >= distinct_words)
            if complete and (score[2] or not need_exact):
                break
    if best is not None:
        return Snippet(page_index=best_index, parts=_window(pages[best_index], best[4]))
    for source, text in (extra or {}).items():
        if not text:
            continue
        matches = list(pattern.finditer(text))
        if matches:
            return Snippet(page_index=None, parts=_window(text, matches), source=source)
    return None
