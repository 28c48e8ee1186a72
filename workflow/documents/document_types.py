"""The document types and their abbreviations, as data (Decree 30, Appendix III).

Abbreviations are configuration: administrators change them in the admin and
``load_document_types`` never overwrites a type that already exists.
"""

from __future__ import annotations

from django.db import transaction

from .models import DocumentType, ReviewRule, Series

# (code, name, abbreviation, series). Công văn has no abbreviation (its symbol
# uses the drafting department instead). Copies (SY, TrS, SL) are copy forms of an
# existing document, not types of their own, so they are not listed here.
DOCUMENT_TYPES: list[tuple[str, str, str, str]] = [
    ("nghi-quyet", "Nghị quyết", "NQ", Series.GENERAL),
    ("quyet-dinh", "Quyết định", "QĐ", Series.GENERAL),
    ("chi-thi", "Chỉ thị", "CT", Series.GENERAL),
    ("quy-che", "Quy chế", "QC", Series.GENERAL),
    ("quy-dinh", "Quy định", "QyĐ", Series.GENERAL),
    ("thong-cao", "Thông cáo", "TC", Series.GENERAL),
    ("thong-bao", "Thông báo", "TB", Series.GENERAL),
    ("huong-dan", "Hướng dẫn", "HD", Series.GENERAL),
    ("chuong-trinh", "Chương trình", "CTr", Series.GENERAL),
    ("ke-hoach", "Kế hoạch", "KH", Series.GENERAL),
    ("phuong-an", "Phương án", "PA", Series.GENERAL),
    ("de-an", "Đề án", "ĐA", Series.GENERAL),
    ("du-an", "Dự án", "DA", Series.GENERAL),
    ("bao-cao", "Báo cáo", "BC", Series.GENERAL),
    ("bien-ban", "Biên bản", "BB", Series.GENERAL),
    ("to-trinh", "Tờ trình", "TTr", Series.GENERAL),
    ("hop-dong", "Hợp đồng", "HĐ", Series.GENERAL),
    ("cong-van", "Công văn", "", Series.GENERAL),
    ("cong-dien", "Công điện", "CĐ", Series.GENERAL),
    ("ban-ghi-nho", "Bản ghi nhớ", "BGN", Series.GENERAL),
    ("ban-thoa-thuan", "Bản thỏa thuận", "BTT", Series.GENERAL),
    ("giay-uy-quyen", "Giấy ủy quyền", "GUQ", Series.GENERAL),
    ("giay-moi", "Giấy mời", "GM", Series.GENERAL),
    ("giay-gioi-thieu", "Giấy giới thiệu", "GGT", Series.GENERAL),
    ("giay-nghi-phep", "Giấy nghỉ phép", "GNP", Series.GENERAL),
    ("phieu-gui", "Phiếu gửi", "PG", Series.GENERAL),
    ("phieu-chuyen", "Phiếu chuyển", "PC", Series.GENERAL),
    ("phieu-bao", "Phiếu báo", "PB", Series.GENERAL),
    # The Front's own types (its guidance, not Appendix III).
    ("thong-tri", "Thông tri", "TT", Series.GENERAL),
    ("ket-luan", "Kết luận", "KL", Series.GENERAL),
    ("phan-bien-xa-hoi", "Văn bản phản biện xã hội", "PBXH", Series.GENERAL),
]

# Review steps before a leader approves, per type code (any unit). Types without a
# rule use the built-in default (the department head).
REVIEW_RULES: dict[str, list[str]] = {
    "cong-van": ["head"],
    "ke-hoach": ["head", "leader"],
}


@transaction.atomic
def ensure_document_types() -> tuple[int, int]:
    """Create missing types and review rules; return how many of each were created."""
    existing = set(DocumentType.objects.values_list("code", flat=True))
    new_types = [
        DocumentType(code=code, name=name, abbreviation=abbreviation, series=series)
        for code, name, abbreviation, series in DOCUMENT_TYPES
        if code not in existing
    ]
    DocumentType.objects.bulk_create(new_types)
    by_code = {t.code: t for t in DocumentType.objects.filter(code__in=REVIEW_RULES)}
    rules_created = 0
    for code, steps in REVIEW_RULES.items():
        _rule, created = ReviewRule.objects.get_or_create(
            document_type=by_code[code], unit=None, defaults={"steps": steps}
        )
        rules_created += int(created)
    return len(new_types), rules_created
