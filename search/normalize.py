"""The one Vietnamese text normaliser, shared by indexing and querying.

Every text that goes into an index and every query that comes out of a search
box passes through :func:`normalize` (NFC, one canonical tone placement) and,
for the accent-insensitive field, :func:`fold` (no diacritics, đ→d, lowercase).
Using the same functions on both sides is what makes ``hoà`` find ``hòa`` and
``ke hoach`` find ``kế hoạch``.

The canonical tone placement is the traditional one (``hòa``, ``khỏe``,
``thúy``): it is what the general rule "tone on the first vowel of an open
two-vowel cluster" gives, so only one rule table is needed.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Combining tone marks (dấu thanh): huyền, sắc, hỏi, ngã, nặng.
TONE_MARKS = {"\u0300", "\u0301", "\u0309", "\u0303", "\u0323"}
# Marks that change the vowel itself (â ê ô, ă, ơ ư): they stay where they are.
SHAPE_MARKS = {"\u0302", "\u0306", "\u031b"}
VOWELS = set("aeiouy")

# Tokens as the search engines see them: runs of letters and digits.
TOKEN_RE = re.compile(r"[^\W_]+")
# tantivy's remove_long filter drops tokens of 40 bytes or more; queries do the same.
MAX_TOKEN_BYTES = 40


def _split_letters(word_nfd: str) -> list[list[str]]:
    """Group a decomposed word into letters: base character plus its combining marks."""
    letters: list[list[str]] = []
    for ch in word_nfd:
        if unicodedata.combining(ch) and letters:
            letters[-1].append(ch)
        else:
            letters.append([ch])
    return letters


# Open two-vowel clusters whose tone is written either way (hòa/hoà, khỏe/khoẻ, thúy/thuý).
VARIABLE_CLUSTERS = {"oa", "oe", "uy"}


def _canonical_word(word: str) -> str:
    """Move the tone of ``oa``/``oe``/``uy`` at the end of a syllable onto the first vowel.

    Only this variation is rewritten; every other word (including foreign words
    such as ``café``) is left exactly as typed.
    """
    nfd = unicodedata.normalize("NFD", word)
    tones = [ch for ch in nfd if ch in TONE_MARKS]
    if len(tones) != 1:
        return word
    letters = _split_letters(nfd)
    bases = [letter[0].lower() for letter in letters]
    n = len(bases)
    if n < 2 or bases[-1] not in "aey" or bases[-2] not in "ou":
        return word
    cluster = bases[-2] + bases[-1]
    if cluster not in VARIABLE_CLUSTERS:
        return word
    # "qu" + y is quý (u is a consonant); a third vowel before the pair is another rule.
    if cluster == "uy" and n >= 3 and bases[-3] == "q":
        return word
    if n >= 3 and bases[-3] in VOWELS:
        return word
    if any(m in SHAPE_MARKS for letter in letters[-2:] for m in letter[1:]):
        return word
    tone = tones[0]
    if tone not in letters[-1]:
        return word
    letters[-1] = [ch for ch in letters[-1] if ch != tone]
    letters[-2] = letters[-2] + [tone]
    rebuilt = "".join(
        letter[0] + "".join(sorted(letter[1:], key=lambda m: m in TONE_MARKS))
        for letter in letters
    )
    return unicodedata.normalize("NFC", rebuilt)


_WORD_RE = re.compile(r"[^\W\d_]+")


@lru_cache(maxsize=65536)
def _canonical_word_cached(word: str) -> str:
    return _canonical_word(word)


# The only words _canonical_word may change end in o/u followed by a, e or y carrying
# a tone mark (hoà, khoẻ, thuý). Finding those two letters first, instead of passing
# every word through a Python callback, made indexing several times faster.
_TONED_AEY = "àáảãạèéẻẽẹỳýỷỹỵ"
_CANDIDATE_RE = re.compile(
    rf"[oOuU][{_TONED_AEY}{_TONED_AEY.upper()}](?![^\W\d_])"
)
_LETTER_RE = re.compile(r"[^\W\d_]")


def normalize(text: str) -> str:
    """NFC with canonical tone placement; case and everything else kept."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    if text.isascii():
        return text
    out: list[str] = []
    last = 0
    for match in _CANDIDATE_RE.finditer(text):
        start = match.start()
        while start > last and _LETTER_RE.match(text[start - 1]):
            start -= 1
        word = text[start:match.end()]
        canonical = _canonical_word_cached(word)
        if canonical != word:
            out.append(text[last:start])
            out.append(canonical)
            last = match.end()
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


def _normalize_reference(text: str) -> str:
    """The plain definition of :func:`normalize` (every word through the rule); for tests."""
    text = unicodedata.normalize("NFC", text or "")
    return _WORD_RE.sub(lambda m: _canonical_word_cached(m.group(0)), text)


def _build_fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    ranges = [(0x00C0, 0x0250), (0x1E00, 0x1F00)]
    for lo, hi in ranges:
        for cp in range(lo, hi):
            ch = chr(cp)
            nfd = unicodedata.normalize("NFD", ch)
            base = "".join(c for c in nfd if not unicodedata.combining(c)).lower()
            # One character in, one out: folded text keeps the offsets of the original,
            # which is how snippets highlight accented text found by an unaccented query.
            if len(base) == 1 and base != ch:
                table[cp] = base
    table[ord("đ")] = "d"
    table[ord("Đ")] = "d"
    for cp in range(ord("A"), ord("Z") + 1):
        table[cp] = chr(cp + 32)
    return table


FOLD_TABLE = _build_fold_table()


def fold(text: str) -> str:
    """Accent-free lowercase form of already normalised text, same length as the input."""
    if text.isascii():
        return text.lower()
    folded = text.translate(FOLD_TABLE)
    lowered = folded.lower()
    if len(lowered) == len(folded):
        return lowered
    # A few characters (İ) lowercase to two: keep those as they are to preserve offsets.
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in folded)


def fold_text(text: str) -> str:
    """Normalise then fold: what the accent-insensitive index field stores."""
    return fold(normalize(text))


def tokens(text: str) -> list[str]:
    """Lowercased normalised tokens, split the way the index analyzers split."""
    return [
        t for t in TOKEN_RE.findall(normalize(text).lower())
        if len(t.encode("utf-8")) < MAX_TOKEN_BYTES
    ]


def has_diacritics(text: str) -> bool:
    return fold(text) != text.lower()
