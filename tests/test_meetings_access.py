"""Who may do what with a meeting: a matrix over people and states, plus the paper hook."""

from __future__ import annotations

import pytest

from tests.meeting_helpers import in_session, people, prepared, published
from workflow import access
from workflow.meetings.models import MeetingState
from workflow.meetings.services.papers import attach_paper
from workflow.meetings.services.room import room_state
from workflow.meetings.services.schedule import publish_meeting, update_meeting
from workflow.meetings.services.session import (
    close_meeting,
    next_speaker,
    request_to_speak,
    set_current_item,
)

WHO = ["chair", "secretary", "delegate", "commune_delegate", "outsider", "other_unit"]

# state -> action -> the people allowed (everyone else is refused)
MATRIX = {
    MeetingState.DRAFT: {
        "view": {"chair", "secretary"},
        "edit": {"secretary"},
        "send": {"secretary"},
        "publish": {"chair"},
        "start": set(),
        "attend": set(),
        "note": set(),
        "cancel": {"chair", "secretary"},
    },
    MeetingState.PUBLISHED: {
        "view": {"chair", "secretary", "delegate", "commune_delegate"},
        "edit": {"secretary"},
        "publish": set(),
        "start": {"chair", "secretary"},
        "run": set(),
        "attend": {"chair", "secretary", "delegate", "commune_delegate"},
        "check_in": {"chair", "secretary", "delegate", "commune_delegate"},
        "note": {"chair", "secretary", "delegate", "commune_delegate"},
        "ballot": set(),
        "postpone": {"chair", "secretary"},
    },
    MeetingState.IN_SESSION: {
        "view": {"chair", "secretary", "delegate", "commune_delegate"},
        "edit": set(),
        "run": {"chair", "secretary"},
        "manage_votes": {"chair", "secretary"},
        "speak": {"chair", "secretary", "delegate", "commune_delegate"},
        "ballot": {"chair", "secretary", "delegate", "commune_delegate"},
        "close": {"chair", "secretary"},
        "record": set(),
        "cancel": set(),
    },
    MeetingState.CLOSED: {
        "view": {"chair", "secretary", "delegate", "commune_delegate"},
        "record": {"secretary"},
        "conclude": {"chair", "secretary"},
        "ballot": set(),
        "run": set(),
        "note": {"chair", "secretary", "delegate", "commune_delegate"},
    },
}


def _meeting_in(org, state):
    if state == MeetingState.DRAFT:
        return prepared(org)
    if state == MeetingState.PUBLISHED:
        return published(org)
    meeting = in_session(org)
    if state == MeetingState.CLOSED:
        meeting = close_meeting(meeting.secretary, meeting.pk, paperless=True)
    return meeting


@pytest.mark.parametrize("state", list(MATRIX))
def test_permission_matrix(org, state):
    meeting = _meeting_in(org, state)
    cast = people(org)
    failures = []
    for action, allowed in MATRIX[state].items():
        for who in WHO:
            got = access.can_meeting(cast[who], action, meeting)
            if got != (who in allowed):
                failures.append(f"{state}/{action}/{who}: got {got}")
    assert not failures, failures


@pytest.mark.parametrize("state", [MeetingState.DRAFT, MeetingState.PUBLISHED,
                                   MeetingState.IN_SESSION])
def test_visible_meetings_matches_can_view(org, state):
    meeting = _meeting_in(org, state)
    cast = people(org)
    for who in WHO:
        listed = access.visible_meetings(cast[who]).filter(pk=meeting.pk).exists()
        assert listed == access.can_meeting(cast[who], "view", meeting), who


def test_participant_from_other_unit_reads_papers_only_once_published(org):
    cast = people(org)
    meeting = prepared(org)
    paper = meeting.papers.first()
    doc = paper.document
    commune = cast["commune_delegate"]
    assert not access.can_read_paper(commune, paper)
    assert not access.can(commune, "view", doc)
    publish_meeting(cast["chair"], meeting.pk)
    paper.refresh_from_db()
    access.forget(commune)
    assert access.can_read_paper(commune, paper)
    # The hook in access.can_view: the document itself is readable, but not editable.
    assert access.can(commune, "view", doc)
    assert not access.can(commune, "edit", doc)
    assert access.visible_documents(commune).filter(pk=doc.pk).exists()
    # Somebody of another unit who is not invited sees nothing.
    assert not access.can_read_paper(cast["other_unit"], paper)
    assert not access.can(cast["other_unit"], "view", doc)
    assert not access.visible_documents(cast["other_unit"]).filter(pk=doc.pk).exists()


def test_drafted_paper_not_yet_approved_is_hidden_from_participants(org):
    from tests.factories import draft

    cast = people(org)
    meeting = published(org)
    item = meeting.items.first()
    doc = draft(org, subject="Dự thảo chưa duyệt")
    paper = attach_paper(cast["secretary"], item.pk, document=doc)
    assert not access.can_read_paper(cast["commune_delegate"], paper)
    assert not access.can(cast["commune_delegate"], "view", doc)
    state = room_state(cast["commune_delegate"], meeting)
    titles = [p["title"] for i in state["items"] for p in i["papers"]]
    assert "Dự thảo chưa duyệt" not in titles


def test_services_refuse_by_matrix(org):
    """Spot checks that the services use the same rules (404 for outsiders, 403 for others)."""
    from workflow.documents.errors import NotAllowed, NotFound

    cast = people(org)
    meeting = in_session(org)
    with pytest.raises(NotFound):
        set_current_item(cast["other_unit"], meeting.pk, meeting.items.first().pk)
    with pytest.raises(NotFound):
        request_to_speak(cast["outsider"], meeting.pk)
    with pytest.raises(NotAllowed):
        next_speaker(cast["delegate"], meeting.pk)
    with pytest.raises(NotAllowed):
        close_meeting(cast["delegate"], meeting.pk, paperless=True)
    with pytest.raises(NotAllowed):
        update_meeting(cast["chair"], meeting.pk, data={"title": "x"})
