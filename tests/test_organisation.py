"""The organisation tree is data: any depth, renamed, moved, merged, retired."""

from __future__ import annotations

import pytest

from tests.factories import advance, draft
from workflow import access
from workflow.audit.services import history
from workflow.documents.models import State
from workflow.organisation import services
from workflow.organisation.models import Level, Membership, Role, Unit, User


def fresh(user: User) -> User:
    """The same person without cached roles (roles changed under them)."""
    return User.objects.get(pk=user.pk)


def actions(obj) -> list[str]:
    return list(history(obj).values_list("action", flat=True))


def test_tree_of_any_depth(org):
    levels = [
        Level.objects.get_or_create(code=code, defaults={"name": name, "rank": rank})[0]
        for rank, (code, name) in enumerate(
            [("tinh", "Tỉnh"), ("huyen", "Huyện"), ("xa", "Xã"), ("khu-dan-cu", "Khu dân cư"),
             ("to", "Tổ")]
        )
    ]
    chain: list[Unit] = []
    for depth, level in enumerate(levels):
        chain.append(services.create_unit(
            name=f"Đơn vị cấp {depth}", code=f"deep-{depth}", level=level,
            abbreviation="MTTQ-BTT", parent=chain[-1] if chain else None,
        ))
    leaf = chain[-1]
    assert leaf.path == "/" + "/".join(str(u.pk) for u in chain) + "/"
    assert leaf.depth == 5
    assert leaf.ancestor_ids() == [u.pk for u in chain[:-1]]
    subtree = Unit.objects.filter(path__startswith=chain[0].path)
    assert set(subtree) == set(chain)
    assert "unit.create" in actions(leaf)

    # A person at the top sees what the bottom unit issued, five levels down.
    specialist = User.objects.create_user("deep-specialist")
    for role, user in [(Role.SPECIALIST, specialist)] + [
        (r, User.objects.create_user(f"deep-{r}")) for r in (Role.HEAD, Role.LEADER, Role.CLERK)
    ]:
        Membership.objects.create(user=user, unit=leaf, role=role)
    top = User.objects.create_user("deep-top")
    Membership.objects.create(user=top, unit=chain[0], role=Role.MEMBER)
    from workflow.documents import services as documents

    doc = documents.create_document(
        specialist, unit=leaf, data={"subject": "Báo cáo tổ", "document_type": org.types[
            "bao-cao"], "body": "<p>Nội dung</p>"},
    )
    for user_role, action in [(Role.SPECIALIST, "submit"), (Role.HEAD, "forward"),
                              (Role.LEADER, "approve"), (Role.LEADER, "sign"),
                              (Role.CLERK, "issue")]:
        actor = Membership.objects.get(unit=leaf, role=user_role).user
        doc = documents.transition(actor, doc.pk, action)
    assert doc.state == State.ISSUED
    assert access.can(top, "view", doc)
    assert access.visible_documents(top).filter(pk=doc.pk).exists()


def test_rename_keeps_the_name_printed_on_issued_documents(org):
    district = org.units["district"]
    doc = advance(org, draft(org, "district", "ke-hoach"), "issued")
    services.rename_unit(district, name="Ủy ban MTTQ Việt Nam thị xã Nam Đàn",
                         abbreviation="MTTQ-TX")
    district.refresh_from_db()
    assert district.name == "Ủy ban MTTQ Việt Nam thị xã Nam Đàn"
    assert district.abbreviation == "MTTQ-TX"
    doc.refresh_from_db()
    assert doc.issuer_name == "Ủy ban MTTQ Việt Nam huyện Nam Đàn"
    assert doc.symbol == "01/KH-MTTQ-BTT"
    entry = history(district).filter(action="unit.rename").get()
    assert "huyện Nam Đàn" in entry.comment and "thị xã Nam Đàn" in entry.comment


def test_district_level_removed_communes_move_under_the_province(org):
    province, district = org.units["province"], org.units["district"]
    commune, commune2 = org.units["commune"], org.units["commune2"]
    hamlet = services.create_unit(
        name="Ban Công tác Mặt trận xóm 1", code="t-hamlet",
        level=Level.objects.create(code="khu-dan-cu", name="Khu dân cư", rank=3),
        abbreviation="BCTMT", parent=commune,
    )
    issued = advance(org, draft(org, "commune", "ke-hoach"), "issued")

    for unit in (commune, commune2):
        services.move_unit(unit, new_parent=province)
    services.retire_unit(district)

    for unit in (commune, commune2, hamlet, district):
        unit.refresh_from_db()
    assert commune.parent_id == province.pk
    assert commune.path == f"{province.path}{commune.pk}/"
    assert commune2.path == f"{province.path}{commune2.pk}/"
    assert hamlet.path == f"{province.path}{commune.pk}/{hamlet.pk}/"
    assert not Unit.objects.filter(path__startswith=district.path).exclude(pk=district.pk)
    assert not district.is_active and district.retired_at is not None
    assert "unit.move" in actions(commune)
    assert "unit.retire" in actions(district)

    # The province still sees the commune's issued documents, now one level down.
    member = fresh(org.person("province", Role.MEMBER))
    assert access.can(member, "view", issued)
    assert access.visible_documents(member).filter(pk=issued.pk).exists()


def test_a_unit_cannot_move_under_itself(org):
    with pytest.raises(ValueError):
        services.move_unit(org.units["district"], new_parent=org.units["commune"])


def test_merge_keeps_documents_reachable_from_the_receiving_unit(org):
    commune, commune2 = org.units["commune"], org.units["commune2"]
    hamlet = services.create_unit(
        name="Ban Công tác Mặt trận xóm 2", code="t-hamlet2",
        level=Level.objects.create(code="khu-dan-cu", name="Khu dân cư", rank=3),
        abbreviation="BCTMT", parent=commune2,
    )
    issued = advance(org, draft(org, "commune2", "ke-hoach"), "issued")
    pending = advance(org, draft(org, "commune2", "cong-van"), "submitted")
    old_leader = org.person("commune2", Role.LEADER)

    services.merge_units([commune2], into=commune)

    commune2.refresh_from_db()
    hamlet.refresh_from_db()
    assert commune2.merged_into_id == commune.pk
    assert not commune2.is_active and commune2.retired_at is not None
    assert hamlet.parent_id == commune.pk and hamlet.path.startswith(commune.path)
    assert "unit.merge" in actions(commune2)
    # Documents stay attached to the unit that issued them.
    issued.refresh_from_db()
    pending.refresh_from_db()
    assert issued.unit_id == pending.unit_id == commune2.pk
    assert issued.symbol == "01/KH-MTTQ-BTT"

    # People of the receiving unit reach them through the merge.
    member = fresh(org.person("commune", Role.MEMBER))
    leader = fresh(org.person("commune", Role.LEADER))
    assert access.can(member, "view", issued)
    assert access.visible_documents(member).filter(pk=issued.pk).exists()
    assert access.can(leader, "view", pending)
    assert access.visible_documents(leader).filter(pk=pending.pk).exists()
    # Commune2's people now work in the receiving unit.
    old_leader = fresh(old_leader)
    assert Membership.objects.filter(user=old_leader, unit=commune, role=Role.LEADER,
                                     is_active=True).exists()
    assert not Membership.objects.filter(user=old_leader, unit=commune2,
                                         is_active=True).exists()
    assert access.can(old_leader, "view", pending)
    # Nobody drafts for a merged unit any more.
    assert not access.can_create_in(fresh(org.person("commune", Role.SPECIALIST)), commune2)


def test_retire_keeps_documents_and_stops_new_drafts(org):
    commune2 = org.units["commune2"]
    issued = advance(org, draft(org, "commune2", "ke-hoach"), "issued")
    services.retire_unit(commune2)
    commune2.refresh_from_db()
    assert not commune2.is_active
    specialist = fresh(org.person("commune2", Role.SPECIALIST))
    assert not access.can_create_in(specialist, commune2)
    assert commune2 not in access.drafting_units(specialist)
    assert access.can(fresh(org.person("commune2", Role.MEMBER)), "view", issued)
    assert history(commune2).filter(action="unit.retire").exists()


def test_admin_moves_and_renames_through_the_services(org, admin_client):
    commune = org.units["commune"]
    province = org.units["province"]
    data = {
        "name": "Ủy ban MTTQ Việt Nam xã Kim Liên (mới)",
        "parent_name": "", "abbreviation": "MTTQ-BTT", "place_name": "Kim Liên",
        "code": commune.code, "level": commune.level_id, "parent": province.pk,
        "is_active": "on",
        "departments-TOTAL_FORMS": "0", "departments-INITIAL_FORMS": "0",
    }
    response = admin_client.post(f"/admin/organisation/unit/{commune.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]
    commune.refresh_from_db()
    assert commune.name.endswith("(mới)")
    assert commune.path == f"{province.path}{commune.pk}/"
    assert {"unit.move", "unit.rename", "unit.edit"} <= set(actions(commune))

    # Moving a unit under its own sub-unit is refused with a message, not a 500.
    data.update(parent=commune.pk, name=commune.name)
    district = org.units["district"]
    data.update(code=district.code, level=district.level_id, parent=commune.pk,
                name=district.name)
    services.move_unit(commune, new_parent=district)
    response = admin_client.post(f"/admin/organisation/unit/{district.pk}/change/", data)
    assert response.status_code == 200
    district.refresh_from_db()
    assert district.parent_id == province.pk

    add = {
        "name": "Ủy ban MTTQ Việt Nam xã Mới", "parent_name": "", "abbreviation": "MTTQ-BTT",
        "place_name": "", "code": "t-new", "level": commune.level_id, "parent": district.pk,
        "is_active": "on",
        "departments-TOTAL_FORMS": "0", "departments-INITIAL_FORMS": "0",
    }
    response = admin_client.post("/admin/organisation/unit/add/", add)
    assert response.status_code == 302
    new = Unit.objects.get(code="t-new")
    assert new.path == f"{district.path}{new.pk}/"
    assert "unit.create" in actions(new)


def test_admin_pages_render(org, admin_client, admin_user):
    from django.contrib import admin
    from django.urls import reverse

    from workflow.audit.models import AuditEntry
    from workflow.documents.models import (
        Document,
        DocumentType,
        OutgoingRegister,
        ReviewRule,
    )
    from workflow.organisation.models import Department

    advance(org, draft(org, "province", "ke-hoach"), "issued")
    # Documents in the admin follow the access rules too: a superuser without a role
    # sees none; a member of the province sees what it issued.
    Membership.objects.create(user=admin_user, unit=org.units["province"], role=Role.MEMBER)
    ReviewRule.objects.create(document_type=org.types["ke-hoach"], steps=["head"])
    models = [Level, Unit, Department, User, Membership, DocumentType, ReviewRule, Document,
              OutgoingRegister, AuditEntry]
    for model in models:
        assert model in admin.site._registry, model
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert admin_client.get(url).status_code == 200, url
        obj = model.objects.first()
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        assert admin_client.get(url).status_code == 200, url
    # The audit log and documents cannot be edited or deleted from the admin.
    entry = AuditEntry.objects.first()
    url = reverse("admin:audit_auditentry_delete", args=[entry.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
