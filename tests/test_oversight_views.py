"""Pages: dashboard, exports, drill-down, case pages and their action buttons."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD
from tests.oversight_helpers import critique_to, ensure_types
from workflow.organisation.models import Role
from workflow.oversight.models import CritiqueCase, Recommendation


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def login(client, org, unit, role):
    client.force_login(org.person(unit, role))
    return client


@pytest.mark.django_db
def test_dashboard_renders_for_provincial_chair(client, org, capture):
    critique_to(org, capture, "closed", unit="district")
    login(client, org, "province", Role.LEADER)
    response = client.get(reverse("oversight:dashboard") + "?year=2025")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html and "ov-light" in html
    assert org.units["commune2"].name in html  # the whole tree is shown
    assert response.context["board"].root == org.units["province"]


@pytest.mark.django_db
def test_dashboard_refuses_units_outside_the_tree(client, org):
    login(client, org, "district2", Role.LEADER)
    response = client.get(reverse("oversight:dashboard") + f"?unit={org.units['district'].pk}")
    assert response.status_code == 404
    response = client.get(reverse("oversight:dashboard") + "?unit=abc&year=zz")
    assert response.status_code == 200


@pytest.mark.django_db
def test_exports(client, org, capture):
    critique_to(org, capture, "closed")
    login(client, org, "province", Role.LEADER)
    year = timezone.localdate().year  # the conclusion was issued today
    url = reverse("oversight:dashboard_export", args=["csv"]) + f"?year={year}"
    response = client.get(url)
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 1 + 5
    province = next(r for r in rows if r[0] == org.units["province"].name)
    assert province[2:6] == ["0", "3", "1", "4"]  # supervisions 0/3, critiques 1/4
    response = client.get(reverse("oversight:dashboard_export", args=["xlsx"]) + f"?year={year}")
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(response.content))
    assert book.active.max_row == 6
    assert client.get(reverse("oversight:dashboard_export", args=["pdf"])).status_code == 404


@pytest.mark.django_db
def test_drilldown(client, org, capture):
    case = critique_to(org, capture, "closed")
    login(client, org, "province", Role.LEADER)
    url = reverse("oversight:drilldown", args=["critiques"])
    year = timezone.localdate().year
    response = client.get(url + f"?unit={org.units['province'].pk}&year={year}&subtree=1")
    assert response.status_code == 200
    assert reverse("oversight:critique_detail", args=[case.pk]) in response.content.decode()
    for metric in ["signed", "paperless", "voters_forwarded", "periodic_reports"]:
        assert client.get(reverse("oversight:drilldown", args=[metric])).status_code == 200
    assert client.get(reverse("oversight:drilldown", args=["nope"])).status_code == 404


@pytest.mark.django_db
def test_critique_pages_and_buttons(client, org, capture):
    login(client, org, "province", Role.SPECIALIST)
    response = client.post(reverse("oversight:critique_new"), {
        "unit": org.units["province"].pk, "title": "Dự thảo quy hoạch",
        "agency": "Sở Xây dựng", "received_on": "2025-05-01"})
    case = CritiqueCase.objects.get()
    assert response.status_code == 302
    act = reverse("oversight:critique_act", args=[case.pk])
    response = client.post(act, {"op": "create_document", "role": "plan"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.plan_document_id
    page = client.get(reverse("oversight:critique_detail", args=[case.pk]))
    assert page.status_code == 200
    # A bad action gives a message, not a 500.
    response = client.post(act, {"op": "start", "form": "conference"}, follow=True)
    assert response.status_code == 200
    assert list(response.context["messages"])
    assert client.get(reverse("oversight:critique_list")).status_code == 200
    assert client.get(reverse("oversight:critique_list") + "?state=overdue").status_code == 200


@pytest.mark.django_db
def test_overdue_is_red_in_list_and_detail(client, org, capture):
    case = critique_to(org, capture, "awaiting_reply")
    login(client, org, "province", Role.LEADER)
    html = client.get(reverse("oversight:critique_list")).content.decode()
    assert "ov-late-row" in html
    html = client.get(reverse("oversight:critique_detail", args=[case.pk])).content.decode()
    assert 'id="case-overdue"' in html


@pytest.mark.django_db
def test_outsider_gets_404_and_cannot_act(client, org, capture):
    case = critique_to(org, capture, "planned", unit="district")
    login(client, org, "district2", Role.LEADER)
    assert client.get(reverse("oversight:critique_detail", args=[case.pk])).status_code == 404
    response = client.post(reverse("oversight:critique_act", args=[case.pk]),
                           {"op": "start", "form": "written"})
    assert response.status_code == 404


@pytest.mark.django_db
def test_recommendation_and_report_pages(client, org, capture):
    ensure_types()
    login(client, org, "district", Role.SPECIALIST)
    for i in range(2):
        response = client.post(reverse("oversight:recommendation_new"), {
            "unit": org.units["district"].pk, "source": "voter_meeting", "topic": f"Đường {i}",
            "addressee": "UBND huyện", "field": "economy", "raised_on": f"2025-06-0{i + 1}",
            "legitimate": "on"})
        assert response.status_code == 302
    assert client.get(reverse("oversight:recommendation_list") + "?status=late").status_code \
        == 200
    preview = client.get(reverse("oversight:reports"), {
        "unit": org.units["district"].pk, "period_start": "2025-06-01",
        "period_end": "2025-06-30", "sources": "voter_meeting"})
    assert preview.context["count"] == 2
    response = client.post(reverse("oversight:reports"), {
        "unit": org.units["district"].pk, "period_start": "2025-06-01",
        "period_end": "2025-06-30", "sources": "voter_meeting"})
    assert response.status_code == 302
    assert Recommendation.objects.filter(status="aggregated").count() == 2
    rec = Recommendation.objects.first()
    assert client.get(reverse("oversight:recommendation_detail", args=[rec.pk])).status_code \
        == 200


@pytest.mark.django_db
def test_periodic_and_notices_pages(client, org):
    login(client, org, "commune", Role.SPECIALIST)
    response = client.post(reverse("oversight:periodic"), {
        "unit": org.units["commune"].pk, "year": "2025", "period": "H1"}, follow=True)
    assert response.status_code == 200
    assert org.units["commune"].periodic_reports.count() == 1
    response = client.post(reverse("oversight:periodic"), {
        "unit": org.units["commune"].pk, "year": "x", "period": "H1"}, follow=True)
    assert response.status_code == 200
    assert client.get(reverse("oversight:notices"), follow=True).status_code == 200


@pytest.mark.django_db
def test_login_required(client):
    assert client.get(reverse("oversight:dashboard")).status_code == 302
    assert PASSWORD


@pytest.mark.django_db
def test_bad_input_never_gives_a_500(client, org, capture):
    case = critique_to(org, capture, "planned")
    login(client, org, "province", Role.SPECIALIST)
    checks = [
        client.get(reverse("oversight:reports") + "?unit=abc&period_start=x"),
        client.get(reverse("oversight:drilldown", args=["signed"]) + "?year=abc&part=zz"),
        client.post(reverse("oversight:periodic"), {"unit": org.units["province"].pk,
                                                    "year": "2025", "period": "H1",
                                                    "document_id": "999999"}),
        client.post(reverse("oversight:critique_act", args=[case.pk]), {"op": "zz"}),
        client.post(reverse("oversight:critique_act", args=[case.pk]),
                    {"op": "start", "form": "conference", "meeting": "999"}),
        client.post(reverse("oversight:critique_act", args=[case.pk]),
                    {"op": "link_document", "role": "plan", "document_id": "abc"}),
        client.post(reverse("oversight:critique_act", args=[case.pk]), {"op": "upload"}),
        client.post(reverse("oversight:recommendation_new"), {"unit": "x", "source": "zz"}),
        client.post(reverse("oversight:supervision_new"), {"unit": org.units["province"].pk,
                                                           "title": "", "planned_start": "x"}),
    ]
    assert [r.status_code for r in checks] == [200, 200, 302, 302, 302, 302, 302, 200, 200]
    assert client.get(reverse("oversight:case_file", args=[12345])).status_code == 404


@pytest.mark.django_db
def test_attach_the_agency_draft_and_download_it(client, org, capture):
    from tests.factories import pdf_bytes, upload

    case = critique_to(org, capture, "received", unit="district")
    login(client, org, "district", Role.SPECIALIST)
    response = client.post(reverse("oversight:critique_act", args=[case.pk]), {
        "op": "upload", "kind": "draft", "file": upload("du-thao.pdf", pdf_bytes())})
    assert response.status_code == 302
    item = case.files.get()
    assert item.kind == "draft" and item.content_type == "application/pdf"
    bad = client.post(reverse("oversight:critique_act", args=[case.pk]), {
        "op": "upload", "kind": "draft", "file": upload("x.pdf", b"not a pdf")}, follow=True)
    assert case.files.count() == 1 and list(bad.context["messages"])
    login(client, org, "province", Role.LEADER)
    assert client.get(reverse("oversight:case_file", args=[item.pk])).status_code == 200
    login(client, org, "district2", Role.LEADER)
    assert client.get(reverse("oversight:case_file", args=[item.pk])).status_code == 404
    # Reading is not working: the parent unit's leader cannot attach files.
    login(client, org, "province", Role.LEADER)
    client.post(reverse("oversight:critique_act", args=[case.pk]), {
        "op": "upload", "kind": "draft", "file": upload("y.pdf", pdf_bytes())})
    assert case.files.count() == 1
