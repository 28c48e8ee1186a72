"""Browser views of meetings: pages, the room poll (ETag/304), room actions, papers, notes."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from tests.factories import PASSWORD
from tests.meeting_helpers import in_session, people, prepared, published
from workflow.meetings.models import MeetingState, PrivateNote, Vote
from workflow.meetings.services import links
from workflow.meetings.services.attendance import check_in
from workflow.meetings.services.common import visible_meetings_for
from workflow.meetings.services.links import paper_file_version, paper_link_version
from workflow.meetings.services.session import step_item
from workflow.meetings.services.votes import open_vote


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def post_json(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


def test_pages_render_for_participants_and_hide_from_others(client, org):
    cast = people(org)
    meeting = published(org)
    login(client, cast["delegate"])
    for name in ("meetings:detail", "meetings:room"):
        response = client.get(reverse(name, args=[meeting.pk]))
        assert response.status_code == 200, name
    assert client.get(reverse("meetings:list")).status_code == 200
    assert meeting.title in client.get(reverse("meetings:list")).content.decode()
    for name in ("meetings:tasks", "meetings:notifications", "meetings:paperless_report"):
        assert client.get(reverse(name), follow=True).status_code == 200, name
    client.logout()
    login(client, cast["other_unit"])
    assert client.get(reverse("meetings:detail", args=[meeting.pk])).status_code == 404
    assert client.get(reverse("meetings:room", args=[meeting.pk])).status_code == 404
    assert client.get(reverse("meetings:room_state", args=[meeting.pk])).status_code == 404
    assert meeting.title not in client.get(reverse("meetings:list")).content.decode()


def test_secretary_builds_meeting_through_pages(client, org):
    cast = people(org)
    login(client, cast["secretary"])
    response = client.post(reverse("meetings:create"), {
        "unit": org.units["province"].pk, "title": "Họp Ban Thường trực", "kind": "standing_board",
        "starts_at": "2031-05-01T08:00", "chair": cast["chair"].pk,
        "secretary": cast["secretary"].pk, "participants": [cast["delegate"].pk]})
    assert response.status_code == 302
    meeting = visible_meetings_for(cast["secretary"]).get(title="Họp Ban Thường trực")
    op = lambda name: reverse("meetings:op", args=[meeting.pk, name])  # noqa: E731
    client.post(op("add_item"), {"title": "Mục một", "starts_at": "08:00", "ends_at": "09:00"})
    item = meeting.items.get()
    client.post(op("draft_paper"), {"item": item.pk, "subject": "Báo cáo quý"})
    assert meeting.papers.count() == 1
    client.post(op("add_participant"), {"username": cast["commune_delegate"].username})
    assert meeting.participants.filter(user=cast["commune_delegate"]).exists()
    response = client.post(op("add_participant"), {"username": "nobody"}, follow=True)
    assert "nobody" in response.content.decode()
    page = client.get(reverse("meetings:detail", args=[meeting.pk])).content.decode()
    assert "Báo cáo quý" in page and "Mục một" in page
    # Bad input comes back as a message on the page, not a 500.
    response = client.post(op("add_item"), {"title": "x", "starts_at": "25:99"}, follow=True)
    assert response.status_code == 200
    response = client.post(op("nonsense"), follow=True)
    assert response.status_code == 200


def test_poll_returns_304_until_the_room_changes(client, org):
    cast = people(org)
    meeting = in_session(org)
    login(client, cast["delegate"])
    url = reverse("meetings:room_state", args=[meeting.pk])
    first = client.get(url)
    assert first.status_code == 200
    data = first.json()
    etag = first["ETag"]
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.get(url, {"v": data["v"]}).status_code == 304
    step_item(cast["secretary"], meeting.pk)
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed.json()["current_item"] != data["current_item"]
    # A delegate reconnecting with a very old version gets the whole state.
    stale = client.get(url, {"v": 1})
    assert stale.status_code == 200 and stale.json()["items"]


def test_room_actions_over_json(client, org):
    cast = people(org)
    meeting = in_session(org)
    login(client, cast["delegate"])
    op = lambda name: reverse("meetings:room_op", args=[meeting.pk, name])  # noqa: E731
    state = post_json(client, op("check_in"), {}).json()
    assert state["me"]["attendance"] == "checked_in"
    state = post_json(client, op("speak"), {}).json()
    assert state["speakers"][0]["mine"]
    refused = post_json(client, op("next_item"), {})
    assert refused.status_code == 403 and refused.json()["message"]
    assert post_json(client, op("bogus"), {}).status_code == 400
    bad = client.post(op("speak"), data="{not json", content_type="application/json")
    assert bad.status_code == 400
    vote = open_vote(cast["chair"], meeting.pk, question="Đồng ý?")
    assert post_json(client, op("ballot"), {"vote": vote.pk, "choice": "maybe"}).status_code == 400
    assert post_json(client, op("ballot"), {"vote": "abc", "choice": "yes"}).status_code == 404
    state = post_json(client, op("ballot"), {"vote": vote.pk, "choice": "yes"}).json()
    assert state["votes"][0]["voted"] and state["votes"][0]["my_choice"] == "yes"
    again = post_json(client, op("ballot"), {"vote": vote.pk, "choice": "no"})
    assert again.status_code == 409
    vote.refresh_from_db()
    assert (vote.yes_count, vote.no_count) == (1, 0)


def test_vote_of_another_meeting_is_not_reachable(client, org):
    cast = people(org)
    meeting = in_session(org)
    other = in_session(org)
    vote = open_vote(cast["chair"], other.pk, question="Khác?")
    check_in(cast["delegate"], meeting.pk)
    login(client, cast["delegate"])
    url = reverse("meetings:room_op", args=[meeting.pk, "ballot"])
    assert post_json(client, url, {"vote": vote.pk, "choice": "yes"}).status_code == 404
    assert Vote.objects.get(pk=vote.pk).yes_count == 0


def test_paper_file_inline_download_and_permissions(client, org):
    cast = people(org)
    meeting = published(org)
    paper = meeting.papers.first()
    login(client, cast["commune_delegate"])
    url = reverse("meetings:paper_file", args=[paper.pk])
    inline = client.get(url)
    assert inline.status_code == 200
    assert inline["Content-Type"] == "application/pdf"
    assert inline["Content-Disposition"].startswith("inline")
    assert b"".join(inline.streaming_content).startswith(b"%PDF")
    assert client.head(url).status_code == 200
    download = client.get(url, {"download": "1"})
    assert download["Content-Disposition"].startswith("attachment")
    assert client.get(url, {"version": "999999"}).status_code == 404
    assert client.get(reverse("meetings:paper_body", args=[paper.pk])).status_code == 200
    client.logout()
    login(client, cast["other_unit"])
    assert client.get(url).status_code == 404


def test_paper_file_missing_on_disk_gives_clear_error(client, org):
    cast = people(org)
    meeting = published(org)
    paper = meeting.papers.first()
    version = paper_file_version(paper)
    version.blob.storage.delete(version.blob.name)
    login(client, cast["delegate"])
    response = client.get(reverse("meetings:paper_file", args=[paper.pk]))
    assert response.status_code == 503
    assert response.content.decode()


def test_notes_over_http_are_private(client, org):
    cast = people(org)
    meeting = published(org)
    paper = meeting.papers.first()
    url = reverse("meetings:paper_note", args=[paper.pk])
    login(client, cast["delegate"])
    assert post_json(client, url, {"text": "Chỉ tôi đọc"}).json()["saved"]
    assert client.get(url).json()["text"] == "Chỉ tôi đọc"
    client.logout()
    login(client, cast["commune_delegate"])
    assert client.get(url).json()["text"] == ""
    client.logout()
    login(client, cast["other_unit"])
    assert client.get(url).status_code == 404
    assert post_json(client, url, {"text": "x"}).status_code == 404
    assert PrivateNote.objects.get().text == "Chỉ tôi đọc"


def test_room_page_has_search_scope_and_viewer_hooks(client, org):
    cast = people(org)
    meeting = published(org)
    login(client, cast["delegate"])
    page = client.get(reverse("meetings:room", args=[meeting.pk])).content.decode()
    assert 'action="/search/"' in page
    assert f'name="meeting" value="{meeting.pk}"' in page
    assert "meeting_room.js" in page and "room-state-data" in page


@pytest.mark.parametrize("op", ["send", "publish"])
def test_flow_buttons(client, org, op):
    cast = people(org)
    meeting = prepared(org)
    who = cast["secretary"] if op == "send" else cast["chair"]
    login(client, who)
    client.post(reverse("meetings:op", args=[meeting.pk, op]))
    meeting.refresh_from_db()
    assert meeting.state == (MeetingState.PAPERS_UNDER_APPROVAL if op == "send"
                             else MeetingState.PUBLISHED)


def _room_paper_url(client, meeting) -> str:
    state = client.get(reverse("meetings:room_state", args=[meeting.pk])).json()
    return next(p["view_url"] for item in state["items"] for p in item["papers"])


def test_paper_link_from_the_room_opens_without_permission_queries(
        client, org, django_assert_max_num_queries):
    cast = people(org)
    meeting = in_session(org)
    login(client, cast["delegate"])
    url = _room_paper_url(client, meeting)
    assert "?t=" in url
    # The file version (kept in the process afterwards) and the paper's own row (the
    # version must be one of its documents', not confidential: issue #23): no session,
    # user, meeting or permission lookups; the first opening in the hour also writes its
    # access-log row (one INSERT, decided by a cache add: no lookup).
    with django_assert_max_num_queries(3):
        response = client.get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content).startswith(b"%PDF")
    with django_assert_max_num_queries(1):
        assert client.get(url).status_code == 200


def test_paper_link_is_bound_to_the_session_and_lapses(client, org, monkeypatch):
    from django.test import Client

    cast = people(org)
    meeting = in_session(org)
    login(client, cast["delegate"])
    url = _room_paper_url(client, meeting)
    # Someone else's session with the same link: the full check, which refuses them.
    other = login(Client(), cast["other_unit"])
    assert other.get(url).status_code == 404
    # Without any session: the login page, as for every file.
    assert Client().get(url).status_code == 302
    # A tampered token is only a failed shortcut: the owner still gets the file.
    assert client.get(url[:-3] + "xyz").status_code == 200
    # Another paper's token does not open this one.
    path, token = url.split("?t=")
    second = meeting.papers.order_by("-pk").first()
    assert client.get(reverse("meetings:paper_file", args=[second.pk]) + "?t=" + token
                      ).status_code == 200  # full check: the delegate may read it
    assert paper_link_version(token, second.pk, client.session.session_key) is None
    # A lapsed token grants nothing by itself.
    monkeypatch.setattr(links, "PAPER_LINK_SECONDS", -5)
    assert paper_link_version(token, int(path.split("/")[-3]),
                              client.session.session_key) is None
    client.logout()
    assert client.get(url).status_code == 302
