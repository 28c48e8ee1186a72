"""The one normaliser: NFC, canonical tone placement, folding, legacy encodings."""

import json
import unicodedata
from pathlib import Path

import pytest

from search import legacy
from search.normalize import fold, fold_text, has_diacritics, normalize, tokens

# Real Vietnamese text inside the repository (Decree 30/2020, see search_quality/README.md).
CORPUS = Path(__file__).resolve().parent / "search_quality" / "corpus.jsonl"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("hoà", "hòa"), ("Hoà Bình", "Hòa Bình"), ("khoẻ", "khỏe"), ("thuý", "thúy"),
        ("Thuỳ", "Thùy"), ("Tỉnh uỷ", "Tỉnh ủy"), ("Uỷ ban", "Ủy ban"), ("xoá", "xóa"),
        ("hoạ", "họa"), ("loè", "lòe"), ("Thái Hoà", "Thái Hòa"),
    ],
)
def test_tone_placement_variants_are_one_form(old, new):
    assert normalize(old) == normalize(new) == new


@pytest.mark.parametrize(
    "word",
    ["quý", "quỳnh", "hoàng", "khuyết", "hoài", "khuỷu", "người", "Nguyễn", "của", "mía",
     "giữ", "gìn", "café", "tuổi", "Đảng"],
)
def test_other_words_are_left_alone(word):
    assert normalize(word) == word


def test_decomposed_input_becomes_nfc():
    decomposed = unicodedata.normalize("NFD", "Mặt trận Tổ quốc Việt Nam")
    assert decomposed != "Mặt trận Tổ quốc Việt Nam"
    assert normalize(decomposed) == "Mặt trận Tổ quốc Việt Nam"


def test_fold_removes_tones_and_maps_d():
    assert fold_text("Kế hoạch giám sát năm 2023 của Đảng ủy") == (
        "ke hoach giam sat nam 2023 cua dang uy"
    )
    assert fold_text("ĐƯỜNG Hồ Chí Minh") == "duong ho chi minh"
    assert fold_text(unicodedata.normalize("NFD", "phản biện xã hội")) == "phan bien xa hoi"


def test_fold_keeps_offsets():
    text = normalize("Ủy ban Mặt trận Tổ quốc — “Người cán bộ”")
    assert len(fold(text)) == len(text)


def test_tokens_split_like_the_index():
    assert tokens("Số: 05/KH-MTTQ \"phản biện\" xã_hội hoà") == [
        "số", "05", "kh", "mttq", "phản", "biện", "xã", "hội", "hòa"
    ]
    assert tokens("x" * 50) == []


def test_has_diacritics():
    assert has_diacritics("kế hoạch")
    assert not has_diacritics("ke hoach")


TCVN3 = "Céng hßa x· héi chñ nghÜa ViÖt Nam §éc lËp - Tù do - H¹nh phóc. KÕ ho¹ch gi¸m s¸t"
VNI = "Coäng hoøa xaõ hoäi chuû nghóa Vieät Nam. Ñoäc laäp - Töï do - Haïnh phuùc. Ngöôøi daân"


def test_tcvn3_detected_and_converted():
    assert legacy.detect(TCVN3) == legacy.Encoding.TCVN3
    text, enc = legacy.to_unicode(TCVN3)
    assert enc == legacy.Encoding.TCVN3
    assert text == ("Cộng hòa xã hội chủ nghĩa Việt Nam Độc lập - Tự do - Hạnh phúc. "
                    "Kế hoạch giám sát")


def test_vni_detected_and_converted():
    assert legacy.detect(VNI) == legacy.Encoding.VNI
    text, _enc = legacy.to_unicode(VNI)
    assert text == ("Cộng hòa xã hội chủ nghĩa Việt Nam. Độc lập - Tự do - Hạnh phúc. "
                    "Người dân")


@pytest.mark.parametrize("text", [
    "Cộng hòa xã hội chủ nghĩa Việt Nam, hoà bình, hoá đơn",
    "Plain English text with a café and naïve résumé",
    "",
])
def test_unicode_text_is_not_mistaken_for_legacy(text):
    assert legacy.detect(text) == legacy.Encoding.UNICODE


def test_fast_normalize_equals_the_plain_rule_on_real_text():
    """normalize() only looks at o/u + toned a/e/y endings; it must equal the word-by-word rule."""
    from search.normalize import _normalize_reference

    texts = [json.loads(line)["text"] for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    assert len(texts) > 50
    texts.append("Hoà bình, HOÀ, hoà2, khoẻ, thuý, quý, QUÝ, Thuỷ, xoè, ngoằn, oà, café, Tuỳ, "
                 "Hoà_bình, hoà-hợp, ỦY BAN, hoa\u0300, khoe\u0309")
    for text in texts:
        assert normalize(text) == _normalize_reference(text)

