"""The meeting room's cached state: shared per room version, a pass per person, quick 304s.

What must hold whatever is cached: a move, a vote or a paper change shows on the
next poll; a restricted paper, someone else's ballot or note never reaches another
person; a poll token is worth nothing to anyone but the person and session it was
given to.
"""

from __future__ import annotations

import json
import time

from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, advance, draft
from tests.meeting_helpers import in_session, people, published
from workflow.meetings.models import Meeting
from workflow.meetings.services import poll as meeting_poll
from workflow.meetings.services.attendance import check_in
from workflow.meetings.services.common import get_meeting
from workflow.meetings.services.links import _file_version, paper_file_version
from workflow.meetings.services.notes import get_note, save_note
from workflow.meetings.services.papers import attach_paper, replace_paper, restrict_paper
from workflow.meetings.services.poll import (
    POLL_TOKEN_SECONDS,
    _poll_period,
    _version_key,
    current_room_version,
)
from workflow.meetings.services.room import _shared_key, load_room, room_state
from workflow.meetings.services.session import start_meeting, step_item
from workflow.meetings.services.votes import cast_ballot, close_vote, open_vote
from workflow.organisation.models import Membership, Role

PUBLIC_PAPER_KEYS = {"id", "title", "symbol", "type", "state", "changed", "file", "pages",
                     "is_pdf", "view_url", "download_url", "note_url"}
PUBLIC_VOTE_KEYS = {"id", "question", "secret", "state", "item", "cast", "eligible", "voted",
                    "my_choice"}


def login(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def poll(client: Client, meeting: Meeting, token=None):
    url = reverse("meetings:room_state", args=[meeting.pk])
    return client.get(url, {"v": token} if token is not None else {})


def state_for(user, meeting: Meeting) -> dict:
    fresh = get_meeting(user, meeting.pk)
    return room_state(user, fresh, "s" * 32)


def titles(state: dict) -> list[str]:
    return [p["title"] for item in state["items"] for p in item["papers"]]


def test_every_delegate_follows_a_move_through_the_cache(org):
    cast = people(org)
    meeting = in_session(org)
    delegate, commune = login(cast["delegate"]), login(cast["commune_delegate"])
    first = poll(delegate, meeting).json()
    other = poll(commune, meeting).json()
    assert first["current_item"] == other["current_item"]
    assert poll(delegate, meeting, first["v"]).status_code == 304
    step_item(cast["secretary"], meeting.pk)
    moved = poll(delegate, meeting, first["v"])
    assert moved.status_code == 200
    assert moved.json()["current_item"] != first["current_item"]
    assert poll(commune, meeting, other["v"]).json()["current_item"] == \
        moved.json()["current_item"]
    assert poll(delegate, meeting, moved.json()["v"]).status_code == 304


def test_poll_token_is_worth_nothing_to_anyone_else(org):
    cast = people(org)
    meeting = in_session(org)
    delegate = login(cast["delegate"])
    token = poll(delegate, meeting).json()["v"]
    assert poll(delegate, meeting, token).status_code == 304
    # Another participant, another session of the same person, a tampered token: the
    # full state, never a 304 earned by someone else.
    assert poll(login(cast["commune_delegate"]), meeting, token).status_code == 200
    assert poll(login(cast["delegate"]), meeting, token).status_code == 200
    version, mac = token.split(".")
    assert poll(delegate, meeting, f"{version}.{'0' * len(mac)}").status_code == 200
    # Somebody who may not see the meeting learns nothing, token or not.
    outsider = login(cast["other_unit"])
    assert poll(outsider, meeting, token).status_code == 404
    assert poll(outsider, meeting, version).status_code == 404
    # Not logged in: no answer at all.
    assert poll(Client(), meeting, token).status_code == 302


def test_unchanged_answer_needs_no_user_meeting_or_seat_query(
        org, django_assert_max_num_queries):
    cast = people(org)
    meeting = in_session(org)
    delegate = login(cast["delegate"])
    token = poll(delegate, meeting).json()["v"]
    poll(delegate, meeting, token)
    # At most the session row (the tests keep sessions in the database).
    with django_assert_max_num_queries(1):
        assert poll(delegate, meeting, token).status_code == 304


def test_room_version_is_forgotten_on_commit(org, django_capture_on_commit_callbacks):
    cast = people(org)
    meeting = in_session(org)
    version = current_room_version(meeting.pk)
    assert cache.get(_version_key(meeting.pk)) == version
    with django_capture_on_commit_callbacks(execute=True):
        step_item(cast["secretary"], meeting.pk)
    assert cache.get(_version_key(meeting.pk)) is None
    assert current_room_version(meeting.pk) > version


def test_restricted_paper_stays_with_its_readers_in_the_shared_state(org):
    cast = people(org)
    meeting = published(org)  # papers change while the meeting may be edited
    paper = meeting.papers.order_by("pk").first()
    title = paper.document.subject
    restrict_paper(cast["secretary"], paper.pk, user_ids=[cast["delegate2"].pk])
    # The allowed delegate builds the shared state first; the others read the same one.
    assert title in titles(state_for(cast["delegate2"], meeting))
    hidden = state_for(cast["delegate"], meeting)
    assert title not in titles(hidden)
    assert title not in titles(state_for(cast["commune_delegate"], meeting))
    assert title in titles(state_for(cast["chair"], meeting))
    # Nothing of the server-side part (who may read, document ids, ballots) goes out.
    text = json.dumps(hidden)
    assert "_restricted" not in text and "_document" not in text and "_ballots" not in text
    assert all(set(p) == PUBLIC_PAPER_KEYS for i in hidden["items"] for p in i["papers"])
    # Over HTTP too, and the file stays closed to the others.
    client = login(cast["delegate"])
    assert title not in titles(poll(client, meeting).json())
    assert client.get(reverse("meetings:paper_file", args=[paper.pk])).status_code == 404
    # Lifting the restriction shows it at once, although the delegate's pass is cached.
    restrict_paper(cast["secretary"], paper.pk, user_ids=[])
    assert title in titles(state_for(cast["delegate"], meeting))


def test_restriction_added_later_reaches_a_cached_pass(org):
    cast = people(org)
    meeting = published(org)  # papers change while the meeting may be edited
    paper = meeting.papers.order_by("pk").first()
    title = paper.document.subject
    assert title in titles(state_for(cast["delegate"], meeting))
    restrict_paper(cast["secretary"], paper.pk, user_ids=[cast["delegate2"].pk])
    assert title not in titles(state_for(cast["delegate"], meeting))
    assert title in titles(state_for(cast["delegate2"], meeting))


def test_late_paper_appears_when_approved(org, django_capture_on_commit_callbacks):
    cast = people(org)
    meeting = published(org)  # papers change while the meeting may be edited
    doc = draft(org, type_code="bao-cao", subject="Tờ trình bổ sung")
    attach_paper(cast["secretary"], meeting.items.first().pk, document=doc)
    assert "Tờ trình bổ sung" not in titles(state_for(cast["delegate"], meeting))
    # The drafter (here the secretary) reads the draft through their document rights.
    assert doc.drafter == cast["secretary"]
    assert "Tờ trình bổ sung" in titles(state_for(cast["secretary"], meeting))
    with django_capture_on_commit_callbacks(execute=True):
        advance(org, doc, "approved")
    assert "Tờ trình bổ sung" in titles(state_for(cast["delegate"], meeting))


def test_replaced_paper_shows_on_the_next_state(org):
    cast = people(org)
    meeting = published(org)  # papers change while the meeting may be edited
    paper = meeting.papers.order_by("pk").first()
    before = titles(state_for(cast["delegate"], meeting))
    doc = draft(org, type_code="bao-cao", subject="Báo cáo đã sửa")
    advance(org, doc, "approved")
    replace_paper(cast["secretary"], paper.pk, document=doc)
    after = state_for(cast["delegate"], meeting)
    assert "Báo cáo đã sửa" in titles(after) and paper.document.subject in before
    shown = next(p for i in after["items"] for p in i["papers"] if p["id"] == paper.pk)
    assert shown["changed"]


def _checked_in(cast, meeting):
    for who in ("delegate", "delegate2"):
        check_in(cast[who], meeting.pk)


def test_named_vote_each_sees_only_their_own_ballot(org):
    cast = people(org)
    meeting = in_session(org)
    _checked_in(cast, meeting)
    vote = open_vote(cast["chair"], meeting.pk, question="Thông qua?")
    assert state_for(cast["delegate2"], meeting)["votes"][0]["state"] == "open"
    cast_ballot(cast["delegate"], vote.pk, "yes")
    mine = state_for(cast["delegate"], meeting)["votes"][0]
    theirs = state_for(cast["delegate2"], meeting)["votes"][0]
    assert (mine["voted"], mine["my_choice"], mine["cast"]) == (True, "yes", 1)
    assert (theirs["voted"], theirs["my_choice"], theirs["cast"]) == (False, "", 1)
    assert "result" not in theirs and set(theirs) == PUBLIC_VOTE_KEYS
    close_vote(cast["chair"], vote.pk)
    closed = state_for(cast["delegate2"], meeting)["votes"][0]
    assert closed["state"] == "closed" and closed["result"] == {"yes": 1, "no": 0,
                                                                "abstain": 0}


def test_secret_vote_never_tells_who_voted_what(org):
    cast = people(org)
    meeting = in_session(org)
    _checked_in(cast, meeting)
    vote = open_vote(cast["chair"], meeting.pk, question="Bầu kín?", secret=True)
    cast_ballot(cast["delegate"], vote.pk, "no")
    cast_ballot(cast["delegate2"], vote.pk, "yes")
    for who in ("delegate", "delegate2", "chair", "secretary"):
        shown = state_for(cast[who], meeting)["votes"][0]
        assert shown["my_choice"] == "" and set(shown) == PUBLIC_VOTE_KEYS
    assert state_for(cast["delegate"], meeting)["votes"][0]["voted"]
    assert not state_for(cast["chair"], meeting)["votes"][0]["voted"]
    # Not even the server-side cache holds a choice for a secret ballot.
    fresh = Meeting.objects.get(pk=meeting.pk)
    shared = cache.get(_shared_key(fresh))
    assert set(shared["votes"][0]["_ballots"].values()) == {""}


def test_private_note_is_in_nobody_s_state(org):
    cast = people(org)
    meeting = in_session(org)
    paper = meeting.papers.order_by("pk").first()
    save_note(cast["delegate"], paper.pk, text="Ghi chú riêng rất bí mật")
    for who in ("delegate", "delegate2", "chair"):
        assert "rất bí mật" not in json.dumps(state_for(cast[who], meeting))
    assert get_note(cast["delegate2"], paper.pk) == ""


def test_second_state_at_one_version_costs_no_query(org, django_assert_num_queries):
    cast = people(org)
    meeting = in_session(org)
    state_for(cast["delegate"], meeting)
    fresh, seen = load_room(cast["delegate"], meeting.pk)
    assert seen
    # Shared part and the person's pass are cached; seat and meeting came with load_room.
    with django_assert_num_queries(0):
        room_state(cast["delegate"], fresh, "s" * 32)


def test_cached_file_version_rows_are_never_shared_between_requests(org):
    # An instance's FieldFile holds the open file: two threads serving one paper must
    # each get their own, or they read through each other's file position.
    meeting = in_session(org)
    paper = meeting.papers.order_by("pk").first()
    version = paper_file_version(paper)
    (first, doc1), (second, doc2) = (_file_version(version.pk),
                                     _file_version(version.pk))
    assert doc1 == doc2 == paper.document_id
    assert first is not second and first.blob is not second.blob
    assert (first.blob.name, first.sha256) == (version.blob.name, version.sha256)
    with first.blob.open("rb") as a, second.blob.open("rb") as b:
        assert a.read(5) == b"%PDF-" and b.read(5) == b"%PDF-"


def test_load_room_reads_meeting_and_seat_as_the_orm_does(org):
    from workflow import access

    cast = people(org)
    meeting = in_session(org)
    check_in(cast["delegate"], meeting.pk)
    loaded, seen = load_room(cast["delegate"], meeting.pk)
    fresh = Meeting.objects.get(pk=meeting.pk)
    assert seen
    for field in Meeting._meta.concrete_fields:
        assert getattr(loaded, field.attname) == getattr(fresh, field.attname), field.name
    seat = access.meeting_seat(cast["delegate"], loaded)
    assert (seat.role, seat.attendance) == ("delegate", "checked_in")
    assert seat.checked_in_at is not None  # not read by the poll: loaded on first use
    outsider, seen = load_room(cast["outsider"], meeting.pk)
    assert outsider.pk == meeting.pk and not seen
    assert access.meeting_seat(cast["outsider"], outsider) is None
    assert load_room(cast["delegate"], 10**9) == (None, False)


def test_a_role_taken_away_shows_on_the_next_full_poll(org, django_capture_on_commit_callbacks):
    cast = people(org)
    meeting = published(org)  # papers change while the meeting may be edited
    paper = meeting.papers.order_by("pk").first()
    title = paper.document.subject
    restrict_paper(cast["secretary"], paper.pk, user_ids=[cast["delegate2"].pk])
    meeting = start_meeting(cast["secretary"], meeting.pk)
    # A seated delegate who is also the unit's secretary organises: they see every paper.
    grant = Membership.objects.create(user=cast["delegate"], unit=org.units["province"],
                                      role=Role.SECRETARY)
    delegate = login(cast["delegate"])
    seen = poll(delegate, meeting).json()
    assert title in titles(seen)
    with django_capture_on_commit_callbacks(execute=True):
        grant.is_active = False
        grant.save()
    # The cached pass does not outlive the role: the same version is answered in full
    # (the token carried the old access), and without the paper.
    again = poll(delegate, meeting, seen["v"])
    assert again.status_code == 200 and title not in titles(again.json())
    step_item(cast["secretary"], meeting.pk)
    assert title not in titles(poll(delegate, meeting, again.json()["v"]).json())


def test_a_changed_password_ends_the_quick_answers(org, django_capture_on_commit_callbacks):
    cast = people(org)
    meeting = in_session(org)
    delegate = login(cast["delegate"])
    token = poll(delegate, meeting).json()["v"]
    assert poll(delegate, meeting, token).status_code == 304
    with django_capture_on_commit_callbacks(execute=True):
        cast["delegate"].set_password("another-Pass-2026")
        cast["delegate"].save()
    # The poll loads the person, finds the session's password hash outdated, and the
    # session ends: no "unchanged" for a session that no longer stands.
    assert poll(delegate, meeting, token).status_code != 304


def test_an_id_beyond_the_database_s_integers_is_not_found(org):
    cast = people(org)
    delegate = login(cast["delegate"])
    for name in ("meetings:room", "meetings:room_state", "meetings:detail"):
        assert delegate.get(reverse(name, args=[10**20])).status_code == 404


def test_logging_in_elsewhere_keeps_the_quick_answers(org):
    cast = people(org)
    meeting = in_session(org)
    delegate = login(cast["delegate"])
    token = poll(delegate, meeting).json()["v"]
    login(cast["delegate"])  # the same person on a second device: last_login is saved
    assert poll(delegate, meeting, token).status_code == 304


def test_a_poll_token_lasts_at_most_two_periods(org, monkeypatch):
    cast = people(org)
    meeting = in_session(org)
    delegate = login(cast["delegate"])
    token = poll(delegate, meeting).json()["v"]
    period = _poll_period
    later = POLL_TOKEN_SECONDS
    monkeypatch.setattr(meeting_poll, "_poll_period",
                        lambda user_id, now=None: period(user_id, time.time() + later))
    assert poll(delegate, meeting, token).status_code == 304  # the next period: still good
    monkeypatch.setattr(meeting_poll, "_poll_period",
                        lambda user_id, now=None: period(user_id, time.time() + 2 * later))
    fresh = poll(delegate, meeting, token)
    assert fresh.status_code == 200 and fresh.json()["v"] != token
