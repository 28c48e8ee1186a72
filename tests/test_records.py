"""Case files and archive handover (Decree 30 Art. 28–31): services, pages, exports."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from tests.records_helpers import issued, open_file, registered_incoming
from workflow.audit.models import AuditEntry
from workflow.documents.errors import Conflict, InvalidInput, NotAllowed
from workflow.organisation.models import Role, User
from workflow.records import exports, services
from workflow.records.models import CaseFile, CaseState, FilePlan, Handover, PackageStatus

pytestmark = pytest.mark.django_db


def codes(case_file) -> list[str]:
    return list(AuditEntry.objects.filter(object_id=str(case_file.pk),
                                          action__startswith="records.file")
                .values_list("action", flat=True))


# --- file plan --------------------------------------------------------------------------------


def test_plan_copied_from_previous_year_with_one_action(org):
    clerk = org.person("district", Role.CLERK)
    unit = org.units["district"]
    plan = services.create_plan(clerk, unit, 2025)
    services.add_plan_entry(clerk, plan.pk, code="01.VP", title="Hồ sơ hội nghị", retention=10,
                            responsible_id=org.person("district", Role.SPECIALIST).pk,
                            heading="I. Tổng hợp")
    services.add_plan_entry(clerk, plan.pk, code="02.VP", title="Nghị quyết", retention="")
    with pytest.raises(NotAllowed):
        services.approve_plan(clerk, plan.pk)  # Art. 28: the head approves
    services.approve_plan(org.person("district", Role.LEADER), plan.pk)
    with pytest.raises(Conflict):
        services.add_plan_entry(clerk, plan.pk, code="03", title="Sau phê duyệt")

    copy = services.copy_plan(clerk, unit, 2026)
    assert copy.year == 2026 and copy.copied_from == plan and copy.approved_at is None
    rows = list(copy.entries.values_list("heading", "code", "title", "retention_years",
                                         "responsible__username"))
    assert rows == [("I. Tổng hợp", "01.VP", "Hồ sơ hội nghị", 10, "district-specialist"),
                    ("", "02.VP", "Nghị quyết", None, None)]
    assert plan.entries.count() == 2  # the old plan is untouched
    with pytest.raises(Conflict):
        services.copy_plan(clerk, unit, 2026)
    with pytest.raises(InvalidInput):
        services.copy_plan(clerk, unit, 2030)  # no 2029 plan
    with pytest.raises(NotAllowed):
        services.copy_plan(org.person("district", Role.SPECIALIST), unit, 2027)
    assert AuditEntry.objects.filter(action="records.plan.copied",
                                     object_id=str(copy.pk)).exists()
    # The printed plan has Appendix V's columns and the "vĩnh viễn" retention.
    sheet = load_workbook(io.BytesIO(exports.plan_xlsx(copy))).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[1] == exports.PLAN_COLUMNS
    assert ["02.VP", "Nghị quyết", "Vĩnh viễn", None, None] in values
    assert exports.plan_pdf(copy).startswith(b"%PDF")


def test_plan_page_copies_in_one_click(org, client):
    clerk = org.person("district", Role.CLERK)
    plan = services.create_plan(clerk, org.units["district"], 2025)
    services.add_plan_entry(clerk, plan.pk, code="01", title="Hồ sơ A", retention=5)
    client.force_login(clerk)
    response = client.post("/records/plans/", {"unit": org.units["district"].pk, "year": "2026",
                                               "action": "copy"})
    new = FilePlan.objects.get(unit=org.units["district"], year=2026)
    assert response.status_code == 302 and response["Location"].endswith(f"/plans/{new.pk}/")
    assert list(new.entries.values_list("code", flat=True)) == ["01"]
    assert client.get(f"/records/plans/{new.pk}/export.xlsx").status_code == 200


# --- filing -------------------------------------------------------------------------------------


def test_file_single_and_bulk(org):
    specialist = org.person("district", Role.SPECIALIST)
    a, b = issued(org, subject="Kế hoạch A"), issued(org, subject="Kế hoạch B")
    incoming = registered_incoming(org)
    case_file = open_file(org, by=Role.SPECIALIST)
    assert case_file.responsible == specialist and case_file.state == CaseState.OPEN
    assert services.file_documents(specialist, case_file.pk, documents=[a.pk]) == {
        "filed": 1, "skipped": 0}
    clerk = org.person("district", Role.CLERK)  # the specialist sees no incoming document
    outcome = services.file_documents(clerk, case_file.pk, documents=[a.pk, b.pk],
                                      incoming=[incoming.pk])
    assert outcome == {"filed": 2, "skipped": 1}
    items = list(case_file.items.order_by("ordinal").values_list("ordinal", "document_id",
                                                                  "incoming_id"))
    assert items == [(1, a.pk, None), (2, b.pk, None), (3, None, incoming.pk)]
    assert codes(case_file).count("records.file.filed") == 3
    assert AuditEntry.objects.filter(action="records.document.filed", object_id=str(a.pk)).exists()
    # A draft, a document of another unit or one the person cannot see refuses the whole batch.
    other = issued(org, "district2")
    # Ids that only look numeric, or cannot name a row, are refused the same way (no 500).
    for bad in (other.pk, 999999, "²", "٣", "9" * 40, "0", "abc"):
        with pytest.raises(InvalidInput):
            services.file_documents(clerk, case_file.pk, documents=[bad])
    with pytest.raises(InvalidInput, match="at most"):
        services.file_documents(clerk, case_file.pk, documents=range(1, 10**6))
    with pytest.raises(InvalidInput):
        services.file_documents(specialist, case_file.pk, incoming=[incoming.pk])
    assert case_file.items.count() == 3
    # Taking one out keeps the ordinals gapless.
    services.remove_item(clerk, case_file.pk, case_file.items.get(ordinal=1).pk)
    assert list(case_file.items.order_by("ordinal").values_list("ordinal", flat=True)) == [1, 2]


def test_file_from_document_page_and_bulk_page(org, client):
    clerk = org.person("district", Role.CLERK)
    doc, doc2 = issued(org), issued(org, subject="Báo cáo quý")
    incoming = registered_incoming(org)
    case_file = open_file(org)
    client.force_login(clerk)
    page = client.get(f"/documents/{doc.pk}/")
    assert page.status_code == 200 and b"data-filing-form" in page.content
    response = client.post("/records/file/", {"case_file": case_file.pk, "document": doc.pk,
                                              "next": f"/documents/{doc.pk}/"})
    assert response.status_code == 302 and response["Location"] == f"/documents/{doc.pk}/"
    assert case_file.items.filter(document=doc).exists()
    page = client.get(f"/documents/{doc.pk}/")
    assert case_file.code.encode() in page.content
    assert b"data-filing-form" in client.get(f"/incoming/{incoming.pk}/").content
    detail = client.get(f"/records/{case_file.pk}/")
    assert b'id="bulk-file-form"' in detail.content and doc2.subject.encode() in detail.content
    client.post(f"/records/{case_file.pk}/file/", {"document": [doc2.pk],
                                                    "incoming": [incoming.pk]})
    assert case_file.items.count() == 3
    # An address elsewhere in "next" is not followed.
    response = client.post("/records/file/", {"case_file": case_file.pk, "document": doc.pk,
                                              "next": "https://evil.example/"})
    assert response["Location"] == f"/records/{case_file.pk}/"


def test_closing_refuses_further_filing_and_reopening_is_an_admin_act(org, client):
    clerk = org.person("district", Role.CLERK)
    doc, later = issued(org), issued(org)
    case_file = open_file(org)
    with pytest.raises(InvalidInput):
        services.close_case_file(clerk, case_file.pk)  # empty
    services.file_documents(clerk, case_file.pk, documents=[doc.pk])
    with pytest.raises(NotAllowed):
        services.close_case_file(org.person("district", Role.MEMBER), case_file.pk)
    case_file = services.close_case_file(clerk, case_file.pk)
    assert case_file.state == CaseState.CLOSED and case_file.end_date is not None
    with pytest.raises(NotAllowed, match="closed"):
        services.file_documents(clerk, case_file.pk, documents=[later.pk])
    with pytest.raises(NotAllowed):
        services.remove_item(clerk, case_file.pk, case_file.items.get().pk)
    client.force_login(clerk)
    client.post(f"/records/{case_file.pk}/file/", {"document": [later.pk]})
    assert case_file.items.count() == 1
    # The unit's leader cannot reopen; an administrator can, with a reason.
    with pytest.raises(NotAllowed):
        services.reopen_case_file(org.person("district", Role.LEADER), case_file.pk, reason="x")
    admin = User.objects.create_superuser("root", password="x-Pass-2024-long")
    with pytest.raises(InvalidInput):
        services.reopen_case_file(admin, case_file.pk, reason="  ")
    services.reopen_case_file(admin, case_file.pk, reason="Bổ sung biên bản")
    case_file.refresh_from_db()
    assert case_file.state == CaseState.OPEN
    entry = AuditEntry.objects.get(action="records.file.reopened", object_id=str(case_file.pk))
    assert entry.actor == admin and entry.comment == "Bổ sung biên bản"
    assert services.file_documents(clerk, case_file.pk, documents=[later.pk])["filed"] == 1


def test_admin_reopen_action(org, client):
    clerk = org.person("district", Role.CLERK)
    case_file = open_file(org)
    services.file_documents(clerk, case_file.pk, documents=[issued(org).pk])
    services.close_case_file(clerk, case_file.pk)
    admin = User.objects.create_superuser("root", password="x-Pass-2024-long")
    client.force_login(admin)
    url = "/admin/records/casefile/"
    page = client.post(url, {"action": "reopen", "_selected_action": [case_file.pk]})
    assert page.status_code == 200 and case_file.code.encode() in page.content
    client.post(url, {"action": "reopen", "_selected_action": [case_file.pk], "apply": "1",
                      "reason": "Thiếu văn bản"})
    case_file.refresh_from_db()
    assert case_file.state == CaseState.OPEN


# --- handover -----------------------------------------------------------------------------------


def closed_file(org, code="01.VP", retention=10):
    clerk = org.person("district", Role.CLERK)
    case_file = open_file(org, code=code, retention=retention)
    services.file_documents(clerk, case_file.pk, documents=[issued(org).pk])
    return services.close_case_file(clerk, case_file.pk)


def test_handover_makes_files_read_only(org, client, django_capture_on_commit_callbacks):
    clerk = org.person("district", Role.CLERK)
    kept, short = closed_file(org), closed_file(org, code="02.VP", retention=2)
    open_one = open_file(org, code="03.VP")
    with pytest.raises(NotAllowed):
        services.hand_over(org.person("district", Role.LEADER), org.units["district"], [kept.pk])
    with pytest.raises(InvalidInput, match="not closed"):
        services.hand_over(clerk, org.units["district"], [open_one.pk])
    with pytest.raises(InvalidInput, match="less than 5 years"):
        services.hand_over(clerk, org.units["district"], [short.pk])
    with django_capture_on_commit_callbacks(execute=True):
        handover = services.hand_over(clerk, org.units["district"], [kept.pk])
    kept.refresh_from_db()
    assert kept.state == CaseState.ARCHIVED and kept.handover == handover
    handover.refresh_from_db()
    assert handover.status == PackageStatus.READY and len(handover.package_sha256) == 64
    with pytest.raises(NotAllowed, match="read-only"):
        services.file_documents(clerk, kept.pk, documents=[issued(org).pk])
    with pytest.raises(NotAllowed, match="read-only"):
        services.edit_case_file(clerk, kept.pk, title="Khác", code="09")
    with pytest.raises(Conflict):
        services.close_case_file(clerk, kept.pk)
    admin = User.objects.create_superuser("root", password="x-Pass-2024-long")
    with pytest.raises(NotAllowed):
        services.reopen_case_file(admin, kept.pk, reason="thử")
    client.force_login(clerk)
    page = client.get(f"/records/{kept.pk}/")
    assert b"bulk-file-form" not in page.content and b"close-file" not in page.content
    # The handover list (Appendix V form) as PDF and XLSX.
    sheet = load_workbook(io.BytesIO(client.get(
        f"/records/handovers/{handover.pk}/list.xlsx").content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[1] == exports.HANDOVER_COLUMNS and values[2][1] == "01.VP"
    assert client.get(f"/records/handovers/{handover.pk}/list.pdf").content.startswith(b"%PDF")
    assert client.get(f"/records/handovers/{handover.pk}/package.zip").status_code == 200
    client.force_login(org.person("district", Role.SPECIALIST))
    assert client.get(f"/records/handovers/{handover.pk}/").status_code == 404


def test_package_build_is_idempotent_and_failure_is_visible(org, monkeypatch):
    from workflow.records import package, tasks

    clerk = org.person("district", Role.CLERK)
    handover = services.hand_over(clerk, org.units["district"], [closed_file(org).pk])
    assert handover.status == PackageStatus.PENDING  # built after commit, not in the request
    assert tasks.build_now(handover.pk) == "ready"
    first = Handover.objects.get(pk=handover.pk)
    assert tasks.build_now(handover.pk) == "ready"
    again = Handover.objects.get(pk=handover.pk)
    assert again.package_sha256 == first.package_sha256 and again.attempts == 1

    other = services.hand_over(clerk, org.units["district"], [closed_file(org, code="05").pk])
    monkeypatch.setattr(package, "build", lambda h: (_ for _ in ()).throw(ValueError("hỏng")))
    assert tasks.build_now(other.pk) == "failed"
    other.refresh_from_db()
    assert other.status == PackageStatus.FAILED and "hỏng" in other.error
    monkeypatch.undo()
    services.retry_package(clerk, other.pk)
    assert tasks.build_now(other.pk) == "ready"


# --- appraisal ----------------------------------------------------------------------------------


def test_files_due_for_appraisal(org, client):
    clerk = org.person("district", Role.CLERK)
    due = closed_file(org, code="01", retention=5)
    kept = closed_file(org, code="02", retention=None)
    recent = closed_file(org, code="03", retention=5)
    CaseFile.objects.filter(pk__in=[due.pk, kept.pk]).update(start_date=dt.date(2015, 1, 1),
                                                              end_date=dt.date(2018, 6, 1))
    CaseFile.objects.filter(pk=recent.pk).update(end_date=dt.date(2024, 6, 1))
    found = list(services.due_for_appraisal(clerk, today=dt.date(2025, 1, 1)))
    assert found == [CaseFile.objects.get(pk=due.pk)]
    assert CaseFile.objects.get(pk=due.pk).appraisal_due == dt.date(2024, 1, 1)
    assert list(services.due_for_appraisal(clerk, today=dt.date(2023, 12, 31))) == []
    assert list(services.due_for_appraisal(org.person("district", Role.SPECIALIST))) == []
    client.force_login(clerk)
    assert b"appraisal-table" in client.get("/records/appraisal/").content


# --- meeting minutes and critique conclusions, from their own pages ---------------------------


def test_minutes_and_critique_conclusion_filed_from_their_pages(
        org, client, django_capture_on_commit_callbacks):
    from tests.factories import advance
    from tests.meeting_helpers import in_session
    from tests.oversight_helpers import critique_to, ensure_types
    from workflow.meetings.services.records import draft_minutes
    from workflow.meetings.services.session import close_meeting

    ensure_types()
    leader = org.person("province", Role.LEADER)  # sees the meeting and files documents
    meeting = in_session(org)
    close_meeting(meeting.secretary, meeting.pk, paperless=True)
    minutes = advance(org, draft_minutes(meeting.secretary, meeting.pk), "issued")
    case = critique_to(org, django_capture_on_commit_callbacks, "issued")
    case_file = open_file(org, unit="province", code="05.BTT", title="Hồ sơ hội nghị và phản biện")
    client.force_login(leader)
    page = client.get(f"/meetings/{meeting.pk}/").content.decode()
    assert f'id="case-files-document-{minutes.pk}"' in page and "data-filing-form" in page
    client.post("/records/file/", {"case_file": case_file.pk, "document": minutes.pk,
                                   "next": f"/meetings/{meeting.pk}/"})
    page = client.get(f"/oversight/critiques/{case.pk}/").content.decode()
    assert f'id="case-files-document-{case.conclusion_document_id}"' in page
    client.post("/records/file/", {"case_file": case_file.pk,
                                   "document": case.conclusion_document_id})
    assert set(case_file.items.values_list("document_id", flat=True)) == {
        minutes.pk, case.conclusion_document_id}
    assert "Hồ sơ hội nghị và phản biện" in client.get(f"/meetings/{meeting.pk}/").content.decode()
