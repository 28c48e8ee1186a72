"""Legacy Vietnamese 8-bit encodings (TCVN3/ABC and VNI) found in old documents.

Files typed before Unicode was common used fonts such as ``.VnTime`` (TCVN3)
or ``VNI-Times``: their text extracts as Latin-1 look-alikes ("Céng hßa" for
"Cộng hòa", "Coäng hoøa" for VNI). We detect both and convert them; when the
signal is too weak to be sure we leave the text alone and flag it.

The TCVN3 table follows TCVN 5712:1993 (VN3). Capitals with tones were drawn by
a separate all-caps font using the lowercase codes, so they convert to
lowercase: search folds case anyway.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class Encoding(StrEnum):
    UNICODE = "unicode"
    TCVN3 = "tcvn3"
    VNI = "vni"
    UNKNOWN_LEGACY = "legacy?"  # flagged: looks legacy, not converted


_TCVN3_ROWS = {
    # base letter: (grave, hook, tilde, acute, dot) as TCVN3 code points
    "a": (0xB5, 0xB6, 0xB7, 0xB8, 0xB9),
    "ă": (0xBB, 0xBC, 0xBD, 0xBE, 0xC6),
    "â": (0xC7, 0xC8, 0xC9, 0xCA, 0xCB),
    "e": (0xCC, 0xCE, 0xCF, 0xD0, 0xD1),
    "ê": (0xD2, 0xD3, 0xD4, 0xD5, 0xD6),
    "i": (0xD7, 0xD8, 0xDC, 0xDD, 0xDE),
    "o": (0xDF, 0xE1, 0xE2, 0xE3, 0xE4),
    "ô": (0xE5, 0xE6, 0xE7, 0xE8, 0xE9),
    "ơ": (0xEA, 0xEB, 0xEC, 0xED, 0xEE),
    "u": (0xEF, 0xF1, 0xF2, 0xF3, 0xF4),
    "ư": (0xF5, 0xF6, 0xF7, 0xF8, 0xF9),
    "y": (0xFA, 0xFB, 0xFC, 0xFD, 0xFE),
}
_TONED = {
    "a": "àảãáạ", "ă": "ằẳẵắặ", "â": "ầẩẫấậ", "e": "èẻẽéẹ", "ê": "ềểễếệ", "i": "ìỉĩíị",
    "o": "òỏõóọ", "ô": "ồổỗốộ", "ơ": "ờởỡớợ", "u": "ùủũúụ", "ư": "ừửữứự", "y": "ỳỷỹýỵ",
}
TCVN3_TABLE: dict[int, str] = {
    0xA8: "ă", 0xA9: "â", 0xAA: "ê", 0xAB: "ô", 0xAC: "ơ", 0xAD: "ư", 0xAE: "đ",
    0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ",
}
for _base, _codes in _TCVN3_ROWS.items():
    for _code, _char in zip(_codes, _TONED[_base], strict=True):
        TCVN3_TABLE[_code] = _char

# Characters TCVN3 uses for common lowercase letters and that neither Unicode
# Vietnamese nor Western European text uses in running words.
_TCVN3_MARKERS = set("µ¶·¸¹¨©ª«¬®§¡¢£¤¥¦»¼½¾ÆÇÈÉËÌÎÏÐÑÖ×ØÜÞß")
_VN_UNICODE = re.compile(r"[ăđĩũơưĂĐĨŨƠƯ\u1EA0-\u1EF9]")
# Minimum share of letters, and absolute count, before text is called legacy.
_RATIO = 0.03
_MIN_COUNT = 3

# VNI: a base letter followed by one mark character; capitals use the uppercase
# look-alikes of the same marks.
_VNI_TONE = {"ø": "\u0300", "ù": "\u0301", "û": "\u0309", "õ": "\u0303", "ï": "\u0323"}
_VNI_HAT = {"à": "\u0300", "á": "\u0301", "å": "\u0309", "ã": "\u0303", "ä": "\u0323"}
_VNI_BREVE = {"è": "\u0300", "é": "\u0301", "ú": "\u0309", "ü": "\u0303", "ë": "\u0323"}
_VNI_SINGLE = {
    "ô": "ơ", "ö": "ư", "ñ": "đ", "æ": "ỉ", "ó": "ĩ", "ò": "ị", "î": "ỵ",
    "Ô": "Ơ", "Ö": "Ư", "Ñ": "Đ", "Æ": "Ỉ", "Ó": "Ĩ", "Ò": "Ị", "Î": "Ỵ",
}
_MARK_CHARS = "øùûõïâêàáåãäèéúüë"
_VNI_TOKEN = re.compile(
    "([aeouyAEOUY])([" + _MARK_CHARS + _MARK_CHARS.upper() + "])"
    "|([ôöÔÖ])([øùûõïØÙÛÕÏ])?"
    "|([ñæóòîÑÆÓÒÎ])"
)
_VNI_MARKERS = re.compile(r"[aeiouyAEIOUY][øùûõïäåëüú]|[ôö][øùûõï]")


def _vni_replace(m: re.Match) -> str:
    if m.group(1):
        base, mark = m.group(1), m.group(2).lower()
        if mark in _VNI_TONE:
            return unicodedata.normalize("NFC", base + _VNI_TONE[mark])
        if mark == "â" and base.lower() in "aeo":
            return unicodedata.normalize("NFC", base + "\u0302")
        if mark == "ê" and base.lower() == "a":
            return unicodedata.normalize("NFC", base + "\u0306")
        if mark in _VNI_HAT and base.lower() in "aeo":
            return unicodedata.normalize("NFC", base + "\u0302" + _VNI_HAT[mark])
        if mark in _VNI_BREVE and base.lower() == "a":
            return unicodedata.normalize("NFC", base + "\u0306" + _VNI_BREVE[mark])
        return m.group(0)
    if m.group(3):
        horned = _VNI_SINGLE[m.group(3)]
        tone = m.group(4)
        return unicodedata.normalize("NFC", horned + _VNI_TONE[tone.lower()]) if tone else horned
    return _VNI_SINGLE[m.group(5)]


def detect(text: str) -> Encoding:
    """Guess how ``text`` was encoded; Unicode unless the legacy signal is strong.

    TCVN3 puts a marker character in place of each accented vowel; VNI puts
    a mark character right after a plain vowel. Each signal is counted and
    compared with genuine Vietnamese Unicode letters.
    """
    if not text:
        return Encoding.UNICODE
    letters = sum(1 for ch in text if ch.isalpha()) or 1
    vn = len(_VN_UNICODE.findall(text))
    tcvn = sum(1 for ch in text if ch in _TCVN3_MARKERS)
    vni = len(_VNI_MARKERS.findall(text))
    if vn >= max(tcvn, vni):
        return Encoding.UNICODE
    if tcvn > vni and tcvn >= _MIN_COUNT and tcvn / letters >= _RATIO:
        return Encoding.TCVN3
    if vni >= tcvn and vni >= _MIN_COUNT and vni / letters >= _RATIO:
        return Encoding.VNI
    if tcvn + vni >= _MIN_COUNT and (tcvn + vni) / letters >= _RATIO / 3:
        return Encoding.UNKNOWN_LEGACY
    return Encoding.UNICODE


def from_tcvn3(text: str) -> str:
    return text.translate(TCVN3_TABLE)


def from_vni(text: str) -> str:
    return _VNI_TOKEN.sub(_vni_replace, text)


def to_unicode(text: str) -> tuple[str, Encoding]:
    """Convert legacy text to Unicode; returns the text and what was detected."""
    encoding = detect(text)
    if encoding == Encoding.TCVN3:
        return from_tcvn3(text), encoding
    if encoding == Encoding.VNI:
        return from_vni(text), encoding
    return text, encoding
