"""Demo meetings: a published province meeting with an agenda and PDF papers.

Called by ``seed_demo`` through the ``extend_demo`` hook and by the
``seed_demo_meetings`` command. Idempotent: meetings are looked up by unit and
title, so a second run creates nothing.
"""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from workflow.documents import services as documents
from workflow.documents.models import Document, DocumentType
from workflow.organisation.models import Role, Unit, User

from .models import Meeting, MeetingState
from .pdfs import paper_pdf
from .services.agenda import add_agenda_item
from .services.papers import attach_paper
from .services.schedule import publish_meeting, schedule_meeting
from .services.session import close_meeting, start_meeting

PUBLISHED_TITLE = "Hội nghị Ban Thường trực Ủy ban MTTQ Việt Nam tỉnh (mở rộng) tháng 12"
PAST_TITLE = "Hội nghị Ban Thường trực tháng 10 – sơ kết công tác Mặt trận"
DISTRICT_TITLE = "Hội nghị Ủy ban MTTQ huyện lần thứ 4"

AGENDA = [
    ("Khai mạc, thông qua chương trình", "08:00", "08:15", []),
    ("Báo cáo kết quả công tác Mặt trận năm, phương hướng nhiệm vụ năm tới", "08:15", "09:30", [
        ("bao-cao", "Báo cáo kết quả công tác Mặt trận năm và phương hướng nhiệm vụ năm tới",
         6),
    ]),
    ("Tờ trình tổ chức Ngày hội Đại đoàn kết toàn dân tộc", "09:30", "10:15", [
        ("to-trinh", "Tờ trình về việc tổ chức Ngày hội Đại đoàn kết toàn dân tộc ở khu dân cư",
         3),
        ("ke-hoach", "Dự thảo Kế hoạch giám sát việc thực hiện chính sách bảo hiểm y tế cho "
         "người cận nghèo", 4),
    ]),
    ("Thảo luận, biểu quyết và kết luận", "10:15", "11:00", []),
]


def _type(code: str, abbreviation: str, name: str) -> DocumentType:
    found = DocumentType.objects.filter(code=code).first() or DocumentType.objects.filter(
        abbreviation=abbreviation).first()
    if found:
        return found
    return DocumentType.objects.create(code=code, name=name, abbreviation=abbreviation)


TYPES = {"bao-cao": ("BC", "Báo cáo"), "to-trinh": ("TTr", "Tờ trình"),
         "ke-hoach": ("KH", "Kế hoạch")}


def _approve(document: Document, unit: Unit) -> Document:
    """Drive a paper to "approved" with whoever the flow waits for in the unit."""
    def holder(role: str) -> User:
        return User.objects.filter(memberships__unit=unit, memberships__role=role,
                                   memberships__is_active=True).order_by("pk").first()

    for _step in range(6):
        document.refresh_from_db()
        if document.state == "draft":
            document = documents.transition(document.drafter, document.pk, "submit")
        elif document.state == "submitted":
            role = document.awaiting_role or Role.HEAD
            if role == Role.HEAD and document.drafting_department_id:
                person = User.objects.filter(
                    memberships__unit=unit, memberships__role=Role.HEAD,
                    memberships__department_id=document.drafting_department_id).first() \
                    or holder(Role.HEAD)
            else:
                person = holder(role)
            document = documents.transition(person, document.pk, "forward")
        elif document.state == "reviewed":
            document = documents.transition(holder(Role.LEADER), document.pk, "approve")
        else:
            break
    return document


def _paper(meeting: Meeting, item, secretary: User, type_code: str, subject: str,
           pages: int) -> None:
    abbreviation, name = TYPES[type_code]
    document = documents.create_document(
        secretary, unit=meeting.unit,
        data={"subject": subject, "document_type": _type(type_code, abbreviation, name),
              "body": f"<p>{subject}.</p>"})
    upload = SimpleUploadedFile(f"{type_code}.pdf", paper_pdf(subject, pages),
                                content_type="application/pdf")
    documents.add_file(secretary, document.pk, upload=upload, kind="main")
    _approve(document, meeting.unit)
    attach_paper(secretary, item.pk, document=document)


def _cast(unit: Unit, guests_from: list[Unit]) -> dict[str, User | None]:
    def first(role: str, in_unit: Unit = unit) -> User | None:
        return User.objects.filter(memberships__unit=in_unit, memberships__role=role,
                                   memberships__is_active=True).order_by("pk").first()

    return {
        "chair": first(Role.LEADER),
        "secretary": first(Role.SPECIALIST),
        "delegates": [u for u in [first(Role.HEAD), first(Role.MEMBER), first(Role.SECRETARY),
                                  first(Role.CLERK)]
                      + [first(Role.LEADER, c) for c in guests_from] if u],
    }


def _schedule(unit: Unit, title: str, starts_at: dt.datetime, place: str,
              guests_from: list[Unit] = ()) -> Meeting | None:
    cast = _cast(unit, [u for u in guests_from if u is not None and u.pk != unit.pk])
    if not (cast["chair"] and cast["secretary"]):
        return None
    return schedule_meeting(
        cast["secretary"], unit=unit,
        data={"title": title, "kind": "standing_board", "starts_at": starts_at,
              "ends_at": starts_at + dt.timedelta(hours=3), "place": place,
              "chair": cast["chair"], "secretary": cast["secretary"]},
        participant_ids=[u.pk for u in cast["delegates"]],
        guests=["Đại diện Báo Nghệ An"])


def _build(meeting: Meeting, *, papers: bool) -> Meeting:
    secretary = meeting.secretary
    for title, start, end, paper_specs in AGENDA:
        item = add_agenda_item(secretary, meeting.pk, data={
            "title": title, "starts_at": start, "ends_at": end, "presenter": meeting.chair.pk})
        if papers:
            for type_code, subject, pages in paper_specs:
                _paper(meeting, item, secretary, type_code, subject, pages)
    if papers:
        archived = Document.objects.filter(unit=meeting.unit, state__in=["issued", "archived"]
                                           ).order_by("pk").first()
        item = meeting.items.order_by("order").last()
        if archived is not None:
            attach_paper(secretary, item.pk, document=archived)
    return publish_meeting(meeting.chair, meeting.pk)


def _tomorrow_at(hour: int) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))


@transaction.atomic
def seed_meetings(province: Unit, district: Unit | None = None,
                  commune: Unit | None = None) -> int:
    """Create the demo meetings that are missing; return how many were created."""
    created = 0
    if not Meeting.objects.filter(unit=province, title=PUBLISHED_TITLE).exists():
        meeting = _schedule(province, PUBLISHED_TITLE, _tomorrow_at(8),
                            "Phòng họp tầng 2, trụ sở Ủy ban MTTQ Việt Nam tỉnh",
                            guests_from=[district, commune])
        if meeting is not None:
            _build(meeting, papers=True)
            created += 1
    # Two past meetings so that the paperless report has figures from the start.
    for unit, title, paperless in ((province, PAST_TITLE, True),
                                   (district, DISTRICT_TITLE, False)):
        if unit is None or Meeting.objects.filter(unit=unit, title=title).exists():
            continue
        start = timezone.now() - dt.timedelta(days=30)
        meeting = _schedule(unit, title, start, "Hội trường")
        if meeting is None:
            continue
        meeting = _build(meeting, papers=False)
        start_meeting(meeting.secretary, meeting.pk)
        close_meeting(meeting.secretary, meeting.pk, paperless=paperless,
                      reason="" if paperless else "Một số đại biểu chưa có máy tính bảng")
        created += 1
    return created


def extend_demo(demo) -> None:
    """Hook called by ``seed_demo`` after the organisation and documents exist."""
    count = seed_meetings(demo.demo_units["tinh"], demo.demo_units.get("huyen"),
                          demo.demo_units.get("xa"))
    if count:
        demo.count("meetings", count)


def published_demo_meeting() -> Meeting | None:
    return Meeting.objects.filter(title=PUBLISHED_TITLE, state=MeetingState.PUBLISHED).first()
