"""Demo of recall and replacement, at xã Kim Liên; national codes on the demo units.

``seed_demo`` runs :func:`extend_demo` after the incoming demo (app order). The province
issues one document to the commune and recalls it (the commune clerk sees the red banner),
and replaces another one (both records link to each other). Looked up by subject, so
seeding twice changes nothing.
"""

from __future__ import annotations

from workflow.organisation.models import Role, Unit

# Demo values in the Decision 20/2020/QĐ-TTg shape; not the units' real codes.
CODES = {"tinh": "000.00.00.H41", "huyen": "000.00.31.H41", "xa": "000.31.01.H41"}
RECALLED = "V/v điều chỉnh lịch tiếp xúc cử tri (gửi nhầm, đã thu hồi)"
REPLACED = "V/v phân bổ kinh phí hoạt động Ban Công tác Mặt trận năm 2026"


def extend_demo(demo) -> None:
    from workflow.documents.models import Document
    from workflow.incoming.demo import _deliver_now, _issue
    from workflow.organisation.demo import _advance

    from . import recall

    for key, code in CODES.items():
        unit = demo.demo_units.get(key)
        if unit is not None and not unit.organ_id and not Unit.objects.filter(
                organ_id=code).exists():
            Unit.objects.filter(pk=unit.pk).update(organ_id=code)
    if not demo.signing_ready:
        return
    province, commune = demo.demo_units["tinh"], demo.demo_units["xa"]
    existing = set(Document.objects.filter(unit=province).values_list("subject", flat=True))
    leader = demo.person("tinh", Role.LEADER)
    if RECALLED not in existing:
        document = _issue(demo, RECALLED, [commune.pk], due=None)
        recall.recall(leader, document.pk,
                      reason="Gửi nhầm lịch của năm trước; Ban Thường trực sẽ gửi lại.")
    if REPLACED not in existing:
        old = _issue(demo, REPLACED, [commune.pk], due=None)
        new = recall.draft_replacement(demo.person("tinh", Role.SPECIALIST), old.pk)
        new = _advance(demo, "tinh", new, "issued")
        _deliver_now(new.pk)
        recall.mark_replaced(new.pk)
