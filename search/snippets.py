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
# Words typed without quotes rarely all stand on one page: rather than scanning every page
# of every hit for one that has them all (a 100-page report, twenty hits a page), look at
# most this many pages past the first that has any of them. A typed phrase is looked for
# until found: the engine matched it, so some page (or the subject) has it.
SCAN_AHEAD = 3
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


# A match: start, end, its folded word (or the phrase's words joined by spaces), and
# whether it is a whole phrase.
Span = tuple[int, int, str, bool]
_GAP = re.compile(r"\W+")
_TOKEN = re.compile(r"[^\W_]+")


@lru_cache(maxsize=512)
def _compiled(words: tuple[str, ...]) -> re.Pattern | None:
    """The folded words, each in its own group so a match says which word it is.

    Phrases are not spelt out in the pattern but found among the word matches
    (:func:`_spans`): compiling these letter classes costs more than scanning a page
    with them (1-5 ms a query), and a phrase alternative repeated every word.
    """
    if not words:
        return None
    alternatives = "|".join(f"({_word_pattern(w)})" for w in words)
    return re.compile(rf"(?<!{_WORD})(?:{alternatives})(?!{_WORD})")


def _pattern(words: list[str]) -> tuple[re.Pattern | None, tuple[str, ...]]:
    """A pattern matching the folded words in accented text of any case, and its words."""
    ordered = tuple(sorted({w for w in words if w}, key=lambda w: (-len(w), w)))
    return _compiled(ordered), ordered


def _spans(text: str, pattern: re.Pattern, words: tuple[str, ...],
           phrases: list[list[str]]) -> list[Span]:
    """Word matches in order, runs of them that spell a phrase joined into one span."""
    found = [(m.start(), m.end(), words[m.lastindex - 1]) for m in pattern.finditer(text)]
    if not phrases or len(found) < 2:
        return [(a, b, w, False) for a, b, w in found]
    spans: list[Span] = []
    i = 0
    while i < len(found):
        for phrase in phrases:
            n = len(phrase)
            if (i + n <= len(found)
                    and all(found[i + j][2] == phrase[j] for j in range(n))
                    and all(_GAP.fullmatch(text, found[i + j][1], found[i + j + 1][0])
                            for j in range(n - 1))):
                spans.append((found[i][0], found[i + n - 1][1], " ".join(phrase), True))
                i += n
                break
        else:
            spans.append((*found[i], False))
            i += 1
    return spans


def _score(text: str, spans: list[Span], exact: set[str]) -> tuple[int, int, int, int]:
    if not spans:
        return (0, 0, 0, 0)
    distinct = {key for _a, _b, key, _phrase in spans}
    # Distinct query words found with the accents they were typed with.
    exact_found: set[str] = set()
    for a, b, _key, phrase in spans:
        found = text[a:b].lower()
        if phrase:
            exact_found.update(w for w in _TOKEN.findall(found) if w in exact)
        elif found in exact:
            exact_found.add(found)
    phrase_hits = any(phrase for _a, _b, _key, phrase in spans)
    return (int(phrase_hits), len(distinct), len(exact_found), len(spans))


def _anchor(spans: list[Span]) -> int:
    """Index of the match to centre on: a phrase, else where most distinct words cluster."""
    for i, span in enumerate(spans):
        if span[3]:
            return i
    best, best_i = -1, 0
    reach = WINDOW * 2 // 3
    for i, span in enumerate(spans[:200]):
        words = {n[2] for n in spans[i:i + 50] if n[0] - span[0] <= reach}
        if len(words) > best:
            best, best_i = len(words), i
    return best_i


def _window(text: str, spans: list[Span]) -> list[tuple[str, bool]]:
    first = spans[_anchor(spans)]
    start = max(0, first[0] - WINDOW // 3)
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
    for a, b, _key, _phrase in spans:
        if a < start:
            continue
        if b > end:
            break
        if a > cursor:
            parts.append((text[cursor:a], False))
        parts.append((text[a:b], True))
        cursor = b
    if cursor < end:
        parts.append((text[cursor:end], False))
    if end < len(text):
        parts.append(("…", False))
    # Collapse runs of whitespace (PDF layout) so the passage reads as one line.
    return [(re.sub(r"\s+", " ", t), hl) for t, hl in parts]


def _page_order(pages: list[str], exact: set[str]) -> list[int]:
    """Non-empty pages, those holding every word as typed (a plain substring test) first.

    For a query typed with accents the page to show has every word with its accents; a
    substring test costs a microsecond where the accent-insensitive pattern costs tens,
    so such pages are scanned first and the scan usually stops at the first of them.
    """
    indexes = [i for i, text in enumerate(pages) if text]
    if not exact:
        return indexes
    variants = [(w, w[:1].upper() + w[1:]) for w in exact]
    likely = [i for i in indexes
              if all(w in pages[i] or cap in pages[i] for w, cap in variants)]
    if not likely:
        return indexes
    chosen = set(likely)
    return likely + [i for i in indexes if i not in chosen]


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
    pattern, words = _pattern([*folded_terms, *(w for p in phrases for w in p)])
    if pattern is None:
        return None
    # A page with the phrase (or, unless one was typed, every word) and, for a query typed with
    # accents, an exact match cannot be bettered in a way a reader would notice: stop
    # there instead of scanning every page of every hit (most of a query's time).
    # For a query typed with accents, the page should also have every word as typed.
    need_exact = len(exact_terms) if any(fold(e) != e for e in exact_terms) else 0
    distinct_words = len(set(folded_terms))
    best: tuple | None = None
    best_spans: list[Span] = []
    best_index = -1
    scanned_since_found = -1
    for index in _page_order(pages, exact_terms if need_exact else set()):
        text = pages[index]
        if not typed_phrases and scanned_since_found >= SCAN_AHEAD:
            break
        spans = _spans(text, pattern, words, phrases)
        score = _score(text, spans, exact_terms)
        if scanned_since_found >= 0:
            scanned_since_found += 1
        elif score[3]:
            scanned_since_found = 0
        if score[3] and (best is None or score > best):
            best, best_spans, best_index = score, spans, index
            complete = score[0] or (not typed_phrases and score[1] >= distinct_words)
            if complete and score[2] >= need_exact:
                break
    if best is not None:
        return Snippet(page_index=best_index, parts=_window(pages[best_index], best_spans))
    for source, text in (extra or {}).items():
        if not text:
            continue
        spans = _spans(text, pattern, words, phrases)
        if spans:
            return Snippet(page_index=None, parts=_window(text, spans), source=source)
    return None
