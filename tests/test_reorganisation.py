"""Reorganisation plans as data: parsing, validation, dry run, what follows a merged unit."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from tests.factories import advance, draft
from tests.test_search_acl import _check_every_user, _reindex_all, corpus  # noqa: F401
from workflow import access
from workflow.documents import numbering
from workflow.documents.errors import Conflict
from workflow.documents.models import Document, OutgoingRegister
from workflow.organisation import demo, demo_reorg
from workflow.organisation.history import units_in_year, units_on
from workflow.organisation.models import Membership, Reorganisation, Role, Unit, User
from workflow.organisation.reorg import PlanError, apply_plan, load_plan, parse_plan

TODAY = timezone.localdate()


def plan_for(org, *, effective: dt.date = TODAY, key: str = "test-plan", **extra) -> dict:
    """A new commune made of the two communes; the district merges into the province."""
    plan = {
        "key": key,
        "effective_date": effective.isoformat(),
        "create": [{"code": "t-new", "name": "Ủy ban MTTQ Việt Nam xã Kim Liên mới",
                    "abbreviation": "MTTQ-BTT", "level": "xa", "parent": "t-province"}],
        "rename": [{"unit": "t-district2", "name": "Ủy ban MTTQ Việt Nam huyện Đô Lương mới"}],
        "merge": [{"into": "t-new", "units": ["t-commune", "t-commune2"]},
                  {"into": "t-province", "units": ["t-district"]}],
    }
    plan.update(extra)
    return plan


def errors_of(data) -> list[str]:
    with pytest.raises(PlanError) as caught:
        load_plan(data)
    return caught.value.errors


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


# --- the demo's plan ------------------------------------------------------------------------


def test_shipped_demo_plan_is_the_generated_one():
    assert demo_reorg.PLAN_PATH.read_text(encoding="utf-8") == demo_reorg.plan_text()
    plan = json.loads(demo_reorg.plan_text())
    successors = {m["into"] for m in plan["merge"]} - {"na"}
    assert len({c["code"] for c in plan["create"]} | successors) == 130
    merged = [code for group in plan["merge"] for code in group["units"]]
    assert len(merged) == len(set(merged))  # nobody merged twice
    communes = {f"na-{d[0]}-{i:02d}" for d in demo.DISTRICTS for i in range(1, d[3] + 1)}
    assert len(communes) == 460
    # Every 2024 commune goes into exactly one of today's, Kim Liên keeps its unit.
    assert communes - set(merged) == {"na-nam-dan-01"}
    assert {f"na-{d[0]}" for d in demo.DISTRICTS} <= set(merged)
    assert plan["move"] == [{"unit": "na-nam-dan-01", "parent": "na"}]


# --- parsing and validation -------------------------------------------------------------------


def test_shape_errors_are_named():
    with pytest.raises(PlanError) as caught:
        parse_plan(b"{not json")
    assert "not valid JSON" in caught.value.errors[0]
    with pytest.raises(PlanError) as caught:
        parse_plan({"effective_date": "1/7/2025", "merge": [{"into": "x"}], "retire": "x"})
    text = " ".join(caught.value.errors)
    assert "no key" in text and "effective_date" in text and "lacks units" in text
    assert "must be a list" in text


def test_unknown_unit_is_refused_and_nothing_changes(org):
    before = (Unit.objects.count(), Membership.objects.filter(is_active=True).count())
    plan = plan_for(org)
    plan["merge"][0]["units"].append("t-nowhere")
    assert "Unknown unit t-nowhere." in errors_of(plan)
    with pytest.raises(PlanError):
        apply_plan(parse_plan(plan))
    assert (Unit.objects.count(), Membership.objects.filter(is_active=True).count()) == before
    assert not Reorganisation.objects.exists()


def test_cycles_and_double_merges_are_refused(org):
    cycle = {"key": "c", "effective_date": "2025-07-01",
             "merge": [{"into": "t-commune", "units": ["t-commune2"]},
                       {"into": "t-commune2", "units": ["t-commune"]}]}
    assert any("cycle" in e for e in errors_of(cycle))
    moves = {"key": "m", "effective_date": "2025-07-01",
             "move": [{"unit": "t-district", "parent": "t-commune"}]}
    assert any("cycle in the tree" in e for e in errors_of(moves))
    twice = {"key": "t", "effective_date": "2025-07-01",
             "merge": [{"into": "t-province", "units": ["t-commune"]},
                       {"into": "t-district2", "units": ["t-commune"]}]}
    assert "Unit t-commune is merged or retired twice." in errors_of(twice)
    orphans = {"key": "o", "effective_date": "2025-07-01", "retire": ["t-district"]}
    assert any("2 active units stay under it" in e for e in errors_of(orphans))


# --- applying ---------------------------------------------------------------------------------


def _work(org):
    """Open and finished work in the two communes and the district."""
    issued = advance(org, draft(org, "commune", subject="Thông báo đã ban hành"), "issued")
    in_flow = advance(org, draft(org, "commune2", subject="Kế hoạch đang trình"), "submitted")
    own_draft = draft(org, "commune", subject="Dự thảo công văn")
    district_draft = draft(org, "district", subject="Dự thảo của huyện")
    return issued, in_flow, own_draft, district_draft


def test_dry_run_reports_exactly_what_applying_does(org):
    _work(org)
    plan = load_plan(plan_for(org))
    before = (Unit.objects.count(), Membership.objects.filter(is_active=True).count(),
              list(Document.objects.values_list("pk", "unit_id").order_by("pk")))
    dry = apply_plan(plan, dry_run=True)
    after_dry = (Unit.objects.count(), Membership.objects.filter(is_active=True).count(),
                 list(Document.objects.values_list("pk", "unit_id").order_by("pk")))
    assert after_dry == before and not Reorganisation.objects.exists()
    real = apply_plan(load_plan(plan_for(org)))
    assert {**dry, "dry_run": False} == real
    assert real["units"]["merged"] == [
        "Ủy ban MTTQ Việt Nam xã Kim Liên → Ủy ban MTTQ Việt Nam xã Kim Liên mới",
        "Ủy ban MTTQ Việt Nam xã Nam Giang → Ủy ban MTTQ Việt Nam xã Kim Liên mới",
        "Ủy ban MTTQ Việt Nam huyện Nam Đàn → Ủy ban MTTQ Việt Nam tỉnh Nghệ An",
    ]
    assert real["open_items"]["documents in the approval flow"] == 3
    assert real["reindexed_documents"] == 3


def test_applying_twice_is_refused_and_changes_nothing(org):
    apply_plan(load_plan(plan_for(org)))
    count = Unit.objects.count()
    assert any("already applied" in e for e in errors_of(plan_for(org)))
    assert Unit.objects.count() == count


def test_people_open_work_and_registers_follow_the_successor(org):
    issued, in_flow, own_draft, district_draft = _work(org)
    register = OutgoingRegister.objects.get(unit=org.units["commune"])
    report = apply_plan(load_plan(plan_for(org)))
    new = Unit.objects.get(code="t-new")
    # People: roles kept in the successor (department of the same name), old ones ended.
    for role in Role.values:
        person = org.person("commune", role)
        assert Membership.objects.filter(user=person, unit=new, role=role, is_active=True)
        assert not Membership.objects.filter(user=person, unit=org.units["commune"],
                                             is_active=True)
    specialist = Membership.objects.get(user=org.person("commune", Role.SPECIALIST), unit=new)
    assert specialist.department.name == "Ban Dân chủ" and specialist.department.unit == new
    # Two deputy chairs from two communes: reported, both kept.
    assert any("two “Phó Chủ tịch”" in c for c in report["people"]["conflicts"])
    # Open work moves; what was issued stays, under the name printed on it.
    for doc in (in_flow, own_draft):
        doc.refresh_from_db()
        assert doc.unit == new and doc.drafting_department.unit == new
    district_draft.refresh_from_db()
    assert district_draft.unit == org.units["province"]
    issued.refresh_from_db()
    assert issued.unit == org.units["commune"]
    assert issued.issuing_unit_name == "Ủy ban MTTQ Việt Nam xã Kim Liên"
    # Registers: the old one is closed with its last number, the successor starts at 01.
    register.refresh_from_db()
    assert register.closed_at is not None and register.last_number == 1
    assert {"unit": "Ủy ban MTTQ Việt Nam xã Kim Liên", "year": register.year,
            "series": register.series, "last_number": 1} in report["registers"]["closed"]
    org.units["new"] = new
    org.people.update({("new", role): fresh(org.person("commune2", role)) for role in Role.values})
    in_flow = advance(org, Document.objects.get(pk=in_flow.pk), "issued")
    assert in_flow.register_entry.number == 1 and in_flow.register_entry.unit_id == new.pk
    with pytest.raises(Conflict):
        from django.db import transaction

        with transaction.atomic():
            numbering.assign_number(Document.objects.get(pk=issued.pk))


def test_old_documents_visible_to_the_successors_people_only(org):
    issued = advance(org, draft(org, "commune", subject="Thông báo cũ"), "issued")
    apply_plan(load_plan(plan_for(org)))
    newcomer = User.objects.create_user(username="newcomer", password="x")
    Membership.objects.create(user=newcomer, unit=Unit.objects.get(code="t-new"),
                              role=Role.MEMBER)
    assert access.visible_documents(newcomer).filter(pk=issued.pk).exists()
    sibling = fresh(org.person("district2", Role.LEADER))
    assert not access.visible_documents(sibling).filter(pk=issued.pk).exists()
    former = fresh(org.person("commune2", Role.SPECIALIST))  # now in the successor
    assert access.visible_documents(former).filter(pk=issued.pk).exists()


@pytest.mark.django_db
def test_search_visibility_equals_access_rules_after_a_reorganisation(corpus):  # noqa: F811
    apply_plan(load_plan(plan_for(corpus)))
    _reindex_all()
    _check_every_user()


def test_moved_documents_are_reindexed_after_commit(org, django_capture_on_commit_callbacks):
    from search import service

    with django_capture_on_commit_callbacks(execute=True):
        doc = advance(org, draft(org, "commune2", subject="Kế hoạch tiếp dân"), "submitted")
    newcomer = User.objects.create_user(username="leader-new", password="x")
    assert service.search(newcomer, "ke hoach tiep dan").total == 0
    with django_capture_on_commit_callbacks(execute=True):
        apply_plan(load_plan(plan_for(org)))
    Membership.objects.create(user=newcomer, unit=Unit.objects.get(code="t-new"),
                              role=Role.LEADER)
    assert [h.id for h in service.search(fresh(newcomer), "ke hoach tiep dan").hits] == [doc.pk]


# --- history ------------------------------------------------------------------------------------


def test_tree_as_of_a_date_and_targets_by_the_tree_of_the_year(org):
    from workflow.oversight import targets

    def rows(year):
        return [(r.id, r.name, r.path) for r in targets.compute(year).rows]

    before_2024 = rows(2024)
    apply_plan(load_plan(plan_for(org, effective=dt.date(2025, 7, 1))))
    new = Unit.objects.get(code="t-new")
    june = {r["code"]: r for r in units_on(dt.date(2025, 6, 30))}
    july = {r["code"]: r for r in units_on(dt.date(2025, 7, 1))}
    assert "t-new" not in june and "t-commune" in june
    assert june["t-commune"]["path"].startswith(june["t-district"]["path"])
    assert june["t-district2"]["name"] == "Ủy ban MTTQ Việt Nam huyện Đô Lương"
    assert set(july) == {"t-province", "t-district2", "t-new"}
    assert july["t-district2"]["name"] == "Ủy ban MTTQ Việt Nam huyện Đô Lương mới"
    # Targets: 2024 by the 2024 tree, unchanged; 2025 lists both the old and the new.
    assert rows(2024) == before_2024
    codes_2025 = {r["code"] for r in units_in_year(2025, today=dt.date(2026, 1, 15))}
    assert {"t-commune", "t-district", "t-new"} <= codes_2025
    assert new.valid_from == dt.date(2025, 7, 1)


def test_tree_page_shows_the_chosen_day(org, client):
    apply_plan(load_plan(plan_for(org, effective=dt.date(2025, 7, 1))))
    client.force_login(org.person("commune", Role.MEMBER))
    page = client.get("/organisation/?on=2025-06-30").content.decode()
    assert "xã Nam Giang" in page and "Kim Liên mới" not in page
    page = client.get("/organisation/?on=2025-07-01").content.decode()
    assert "xã Nam Giang" not in page and "Kim Liên mới" in page
    assert "Enter a date" in client.get("/organisation/?on=soon").content.decode()


# --- command and admin ------------------------------------------------------------------------


def test_command_dry_run_then_apply(org, tmp_path, capsys):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan_for(org)), encoding="utf-8")
    call_command("apply_reorganisation", str(path), "--dry-run")
    out = capsys.readouterr().out
    assert "DRY RUN of plan test-plan" in out and "3 merged" in out
    assert not Unit.objects.filter(code="t-new").exists()
    call_command("apply_reorganisation", str(path))
    assert Unit.objects.get(code="t-new").is_active
    with pytest.raises(CommandError, match="already applied"):
        call_command("apply_reorganisation", str(path))


def test_admin_upload_preview_apply(org, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    admin = User.objects.create_superuser(username="root", password="x")
    client.force_login(admin)
    url = "/admin/organisation/unit/reorganise/"
    assert client.get(url).status_code == 200
    body = json.dumps(plan_for(org)).encode()
    preview = client.post(url, {"plan": SimpleUploadedFile("plan.json", body)})
    assert "DRY RUN of plan test-plan" in preview.content.decode()
    assert not Unit.objects.filter(code="t-new").exists()
    done = client.post(url, {"plan_text": body.decode(), "apply": "1"})
    assert done.status_code == 302 and Unit.objects.get(code="t-new").is_active
    again = client.post(url, {"plan": SimpleUploadedFile("plan.json", body)})
    assert "already applied" in again.content.decode()


def test_reconcile_finds_and_repairs_acl_drift(org, django_capture_on_commit_callbacks):
    from search import service
    from search.tasks import reconcile_index
    from workflow.documents.models import DocumentRecipient

    with django_capture_on_commit_callbacks(execute=True):
        doc = advance(org, draft(org, "province", subject="Thông báo lịch họp"), "issued")
    reader = org.person("district2", Role.MEMBER)
    assert service.search(reader, "lich hop").total == 0
    assert reconcile_index.run()["acl_drift"] == 0
    # A recipient added around the services (no signal): readers changed, version did not.
    DocumentRecipient.objects.bulk_create(
        [DocumentRecipient(document=doc, unit=org.units["district2"])])
    assert service.search(fresh(reader), "lich hop").total == 0
    outcome = reconcile_index.run()
    assert outcome["acl_drift"] == 1 and outcome["stale"] == 0
    assert [h.id for h in service.search(fresh(reader), "lich hop").hits] == [doc.pk]
    assert reconcile_index.run()["acl_drift"] == 0


def test_a_successor_counts_its_predecessors_in_the_merge_year(org):
    from workflow.oversight import targets

    for unit in ("commune", "commune", "commune2"):
        advance(org, draft(org, unit, subject=f"Thông báo {unit}"), "issued")
    year = timezone.localdate(timezone.now()).year
    apply_plan(load_plan(plan_for(org)))  # effective today: merged during this year
    after = targets.compute(year)
    rows = {r.id: r for r in after.rows}
    new = Unit.objects.get(code="t-new")
    commune, commune2 = org.units["commune"].pk, org.units["commune2"].pk
    # The old communes keep their rows and figures for the months they existed…
    assert rows[commune].merged_into == new.pk and rows[commune2].merged_into == new.pk
    assert (rows[commune].figures["signed"].den, rows[commune2].figures["signed"].den) == (2, 1)
    # …and the new commune's figures for the year count theirs.
    assert rows[new.pk].figures["signed"].den == 3
    # Totals count each record once: the commune level, and the province's subtree.
    xa = next(lv for lv in after.levels if lv.code == "xa")
    assert xa.units == 1 and xa.figures["signed"].den == 3
    province = org.units["province"].pk
    assert targets.subtree_figure(after, province, "signed").den == 3


@pytest.mark.django_db(transaction=True)  # delivery runs after the issue commits
def test_incoming_documents_in_handling_follow_the_successor(org):
    from tests.incoming_helpers import arrived, issue_to
    from workflow.incoming import services as incoming_services

    document = issue_to(org, ["commune", "commune2"], subject="Công văn về an sinh")
    waiting = arrived(org, document, "commune")
    done = arrived(org, document, "commune2")
    incoming_services.return_to_sender(org.person("commune2", Role.CLERK), done.pk,
                                       reason="Không thuộc thẩm quyền")
    report = apply_plan(load_plan(plan_for(org)))
    new = Unit.objects.get(code="t-new")
    waiting.refresh_from_db()
    done.refresh_from_db()
    assert waiting.unit == new  # still to be registered: the successor's clerk does it
    assert done.unit == org.units["commune2"]  # returned: history of the old commune
    assert report["open_items"]["incoming documents in handling"] == 1
    assert access.can_incoming(org.person("commune", Role.CLERK), "view", waiting)
