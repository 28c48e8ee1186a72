"""REST API for meetings, oversight and notifications: same rules as the pages, in the schema."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from tests.meeting_helpers import in_session, people, published
from tests.oversight_helpers import critique_to
from workflow.audit import access_log
from workflow.audit.models import AuditEntry
from workflow.meetings.services.attendance import check_in
from workflow.meetings.services.papers import restrict_paper
from workflow.meetings.services.votes import open_vote
from workflow.notifications import services as notices
from workflow.organisation.models import Role
from workflow.oversight import targets
from workflow.oversight.services.recommendations import add_recommendation

pytestmark = pytest.mark.django_db


def api(user=None) -> APIClient:
    # force_authenticate: these tests are about the endpoints, not the token scheme.
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_authenticate(user)
    return client


def assert_error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["message"].strip()
    return body


# --- meetings -------------------------------------------------------------------------------


def test_meeting_list_detail_agenda_and_papers(org):
    cast = people(org)
    meeting = published(org)
    delegate = api(cast["delegate"])
    listed = delegate.get("/api/meetings/").json()
    assert [m["id"] for m in listed["results"]] == [meeting.pk]
    detail = delegate.get(f"/api/meetings/{meeting.pk}/").json()
    assert detail["state"] == "published" and "attend" in detail["actions"]
    assert [i["title"] for i in detail["agenda"]] == ["Báo cáo tình hình", "Thảo luận"]
    agenda = delegate.get(f"/api/meetings/{meeting.pk}/agenda/").json()
    assert agenda == detail["agenda"]
    papers = delegate.get(f"/api/meetings/{meeting.pk}/papers/").json()
    assert len(papers) == 2 and all(p["link"] for p in papers)
    # Other units see neither the meeting nor its papers.
    outsider = api(cast["other_unit"])
    assert outsider.get("/api/meetings/").json()["results"] == []
    assert_error(outsider.get(f"/api/meetings/{meeting.pk}/"), 404)
    assert_error(outsider.get(f"/api/meetings/{meeting.pk}/papers/"), 404)
    assert_error(api().get("/api/meetings/"), 401)


def test_signed_paper_link_opens_for_its_person_only_and_is_logged(org):
    cast = people(org)
    meeting = published(org)
    papers = api(cast["delegate"]).get(f"/api/meetings/{meeting.pk}/papers/").json()
    link = papers[0]["link"].replace("http://testserver", "")
    response = APIClient().get(link)  # no credentials: the link is the credential
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert AuditEntry.objects.filter(actor=cast["delegate"], action=access_log.DOWNLOAD).exists()
    # Tampered, or naming another paper: refused.
    assert_error(APIClient().get(link[:-4] + "abcd"), 404)
    other = papers[1]["id"]
    assert_error(APIClient().get(link.replace(f"/papers/{papers[0]['id']}/",
                                              f"/papers/{other}/")), 404)
    # A paper restricted away from the person after the link was made: refused.
    restrict_paper(cast["secretary"], papers[0]["id"], user_ids=[cast["delegate2"].pk])
    assert_error(APIClient().get(link), 404)


def test_attendance_speaking_and_one_vote_rule(org):
    cast = people(org)
    meeting = in_session(org)
    delegate = api(cast["delegate"])
    seats = delegate.get(f"/api/meetings/{meeting.pk}/attendance/").json()
    assert {s["name"] for s in seats} >= {str(cast["delegate"]), "Ông Nguyễn Văn Khách"}
    checked = delegate.post(f"/api/meetings/{meeting.pk}/attendance/", {"answer": "check_in"},
                            format="json")
    assert checked.status_code == 200 and checked.json()["attendance"] == "checked_in"
    assert_error(delegate.post(f"/api/meetings/{meeting.pk}/attendance/", {"answer": "maybe"},
                               format="json"), 400)
    spoke = delegate.post(f"/api/meetings/{meeting.pk}/speak/")
    assert spoke.status_code == 200 and spoke.json()["position"] == 1
    assert delegate.delete(f"/api/meetings/{meeting.pk}/speak/").status_code == 204

    check_in(cast["chair"], meeting.pk)
    vote = open_vote(cast["chair"], meeting.pk, question="Thông qua báo cáo?")
    first = delegate.post(f"/api/meetings/votes/{vote.pk}/ballot/", {"choice": "yes"},
                          format="json")
    assert first.status_code == 201 and first.json()["my_ballot"] is True
    assert first.json()["result"]["yes"] == 1
    # Same one-vote rule as the room: the second ballot is refused and not counted.
    assert_error(delegate.post(f"/api/meetings/votes/{vote.pk}/ballot/", {"choice": "no"},
                               format="json"), 409)
    assert_error(delegate.post(f"/api/meetings/votes/{vote.pk}/ballot/", {"choice": "maybe"},
                               format="json"), 400)
    # Not checked in: refused with a clear message.
    assert_error(api(cast["delegate2"]).post(f"/api/meetings/votes/{vote.pk}/ballot/",
                                             {"choice": "yes"}, format="json"), 400)
    assert_error(api(cast["other_unit"]).post(f"/api/meetings/votes/{vote.pk}/ballot/",
                                              {"choice": "yes"}, format="json"), 404)
    votes = delegate.get(f"/api/meetings/{meeting.pk}/votes/").json()
    assert votes[0]["result"]["cast"] == 1 and votes[0]["result"]["names"]["yes"]


# --- oversight ------------------------------------------------------------------------------


def test_cases_and_recommendations_follow_case_rules(org, django_capture_on_commit_callbacks):
    case = critique_to(org, django_capture_on_commit_callbacks, "received", unit="district")
    spec = org.person("district", Role.SPECIALIST)
    rec = add_recommendation(spec, unit=org.units["district"], source="voter_meeting",
                             topic="Sửa đường liên xã", addressee="UBND huyện",
                             raised_on=dt.date(2026, 1, 5))
    mine = api(spec)
    cases = mine.get("/api/oversight/cases/").json()["results"]
    assert [(c["kind"], c["id"]) for c in cases] == [("critique", case.pk)]
    assert mine.get(f"/api/oversight/cases/critique/{case.pk}/").json()["title"] == case.title
    recs = mine.get("/api/oversight/recommendations/").json()["results"]
    assert [r["id"] for r in recs] == [rec.pk]
    assert mine.get(f"/api/oversight/recommendations/{rec.pk}/").json()["status"] == "new"
    assert_error(mine.get("/api/oversight/cases/?kind=other"), 400)
    stranger = api(org.person("district2", Role.LEADER))
    assert stranger.get("/api/oversight/cases/").json()["results"] == []
    assert_error(stranger.get(f"/api/oversight/cases/critique/{case.pk}/"), 404)
    assert_error(stranger.get(f"/api/oversight/cases/supervision/{case.pk}/"), 404)
    assert_error(stranger.get(f"/api/oversight/recommendations/{rec.pk}/"), 404)


def test_targets_equal_the_dashboard(org, client):
    from workflow import access
    from workflow.oversight.views.board import _board

    leader = org.person("province", Role.LEADER)
    body = api(leader).get("/api/oversight/targets/").json()
    units = access.dashboard_units(leader)
    board = _board(units, body["year"], org.units["province"])
    assert body["root"] == org.units["province"].pk
    assert [u["id"] for u in body["units"]] == [r.id for r in board.rows]
    for row, unit in zip(board.rows, body["units"], strict=True):
        for key in targets.METRIC_KEYS:
            assert unit["figures"][key]["display"] == row.figures[key].display
    # A commune member sees only their own unit's figures.
    member = api(org.person("commune", Role.MEMBER)).get("/api/oversight/targets/").json()
    assert [u["id"] for u in member["units"]] == [org.units["commune"].pk]
    assert_error(api(leader).get(f"/api/oversight/targets/?unit={org.units['district2'].pk}0"),
                 404)
    assert_error(api(leader).get("/api/oversight/targets/?year=1990"), 400)


# --- notifications --------------------------------------------------------------------------


def test_notifications_list_mark_read_and_preferences(org):
    person = org.person("province", Role.MEMBER)
    notices.notify([person], "test.event", text="Một")
    notices.notify([person], "test.event", text="Hai")
    notices.notify([org.person("province", Role.HEAD)], "test.event", text="Khác")
    client = api(person)
    listed = client.get("/api/notifications/?unread=1").json()
    assert [n["text"] for n in listed["results"]] == ["Hai", "Một"]
    first = listed["results"][0]["id"]
    assert client.post("/api/notifications/read/", {"ids": [first]},
                       format="json").json() == {"marked": 1, "unread": 1}
    assert client.post("/api/notifications/read/", {}, format="json").json()["unread"] == 0
    assert client.get("/api/notifications/preferences/").json()["deadline"] == "immediate"
    changed = client.put("/api/notifications/preferences/", {"deadline": "digest"},
                         format="json")
    assert changed.status_code == 200 and changed.json()["deadline"] == "digest"
    assert_error(client.put("/api/notifications/preferences/", {"deadline": "weekly"},
                            format="json"), 400)


def test_new_endpoints_are_in_the_schema_with_examples(org):
    spec = api(org.person("province", Role.MEMBER)).get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path in ("/api/meetings/", "/api/meetings/{id}/", "/api/meetings/{id}/papers/",
                 "/api/meetings/{id}/attendance/", "/api/meetings/{id}/speak/",
                 "/api/meetings/votes/{id}/ballot/", "/api/oversight/cases/",
                 "/api/oversight/recommendations/", "/api/oversight/targets/",
                 "/api/notifications/"):
        assert path in spec["paths"], path
    ballot = spec["paths"]["/api/meetings/votes/{id}/ballot/"]["post"]
    assert ballot["requestBody"]["content"]["application/json"]["examples"]
    targets_op = spec["paths"]["/api/oversight/targets/"]["get"]
    assert targets_op["responses"]["200"]["content"]["application/json"]["examples"]
