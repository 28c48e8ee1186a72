"""Builders for meeting tests: a province meeting with agenda, papers and delegates."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from tests.factories import Org, advance, draft, upload
from workflow.documents import services as documents
from workflow.meetings.models import Meeting
from workflow.meetings.pdfs import paper_pdf
from workflow.meetings.services.agenda import add_agenda_item
from workflow.meetings.services.papers import attach_paper
from workflow.meetings.services.schedule import publish_meeting, schedule_meeting
from workflow.meetings.services.session import start_meeting
from workflow.organisation.models import Role


def people(org: Org, unit: str = "province") -> dict:
    """The cast: chair = leader, secretary = specialist (may draft), delegates = member, head."""
    return {
        "chair": org.person(unit, Role.LEADER),
        "secretary": org.person(unit, Role.SPECIALIST),
        "delegate": org.person(unit, Role.MEMBER),
        "delegate2": org.person(unit, Role.HEAD),
        "outsider": org.person(unit, Role.CLERK),  # same unit, not invited
        "other_unit": org.person("district2", Role.LEADER),
        "commune_delegate": org.person("commune", Role.MEMBER),
    }


def schedule(org: Org, unit: str = "province", **extra) -> Meeting:
    cast = people(org, unit)
    data = {
        "title": extra.pop("title", "Hội nghị Ủy ban MTTQ tỉnh lần thứ 5"),
        "kind": "plenary",
        "starts_at": timezone.now() + dt.timedelta(days=2),
        "place": "Hội trường tầng 3",
        "chair": cast["chair"],
        "secretary": cast["secretary"],
        **extra,
    }
    return schedule_meeting(
        cast["secretary"], unit=org.units[unit], data=data,
        participant_ids=[cast["delegate"].pk, cast["delegate2"].pk,
                         cast["commune_delegate"].pk],
        guests=["Ông Nguyễn Văn Khách"],
    )


def prepared(org: Org, *, papers: int = 2, unit: str = "province") -> Meeting:
    """A meeting with two agenda items and approved papers, still in draft."""
    cast = people(org, unit)
    meeting = schedule(org, unit)
    secretary = cast["secretary"]
    item1 = add_agenda_item(secretary, meeting.pk,
                            data={"title": "Báo cáo tình hình", "starts_at": "08:00",
                                           "ends_at": "09:00", "presenter": cast["chair"].pk})
    item2 = add_agenda_item(secretary, meeting.pk, data={"title": "Thảo luận"})
    for n in range(papers):
        doc = draft(org, unit, type_code="bao-cao", subject=f"Báo cáo số {n + 1}")
        documents.add_file(doc.drafter, doc.pk, upload=upload(f"bc{n + 1}.pdf",
                                                              paper_pdf(f"Báo cáo {n + 1}", 2)),
                           kind="main")
        advance(org, doc, "approved")
        attach_paper(secretary, (item1 if n % 2 == 0 else item2).pk, document=doc)
    meeting.refresh_from_db()
    return meeting


def published(org: Org, **kw) -> Meeting:
    meeting = prepared(org, **kw)
    return publish_meeting(meeting.chair, meeting.pk)


def in_session(org: Org, **kw) -> Meeting:
    meeting = published(org, **kw)
    meeting = start_meeting(meeting.secretary, meeting.pk)
    return meeting
