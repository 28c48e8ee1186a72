"""The demo meetings: idempotent, and a new user lands in a published meeting room."""

from __future__ import annotations

from django.urls import reverse

from tests.factories import PASSWORD
from workflow import access
from workflow.meetings.demo import PUBLISHED_TITLE, published_demo_meeting, seed_meetings
from workflow.meetings.models import Meeting
from workflow.meetings.services.paperless import paperless_report
from workflow.meetings.services.room import room_state
from workflow.organisation.models import Role


def test_seed_is_idempotent_and_room_opens(client, org):
    units = org.units
    assert seed_meetings(units["province"], units["district"], units["commune"]) == 3
    assert seed_meetings(units["province"], units["district"], units["commune"]) == 0
    meeting = published_demo_meeting()
    assert meeting is not None and meeting.title == PUBLISHED_TITLE
    assert meeting.papers.count() >= 3
    assert Meeting.objects.filter(state="closed").count() == 2
    # A district leader invited to the province meeting reads every paper in the room.
    guest = org.person("district", Role.LEADER)
    assert access.can_meeting(guest, "view", meeting)
    state = room_state(guest, meeting)
    assert sum(len(i["papers"]) for i in state["items"]) == meeting.papers.count()
    assert client.login(username=guest.username, password=PASSWORD)
    page = client.get(reverse("meetings:room", args=[meeting.pk]))
    assert page.status_code == 200
    paper = meeting.papers.exclude(document__files=None).first()
    response = client.get(reverse("meetings:paper_file", args=[paper.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    # The paperless report already has figures for the province and the district.
    rows = paperless_report(org.person("province", Role.LEADER))
    assert {(r.unit.pk, r.paperless, r.held) for r in rows} >= {(units["province"].pk, 1, 1)}
