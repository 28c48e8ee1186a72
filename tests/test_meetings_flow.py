"""Meeting flow: preparation, approval, publication, the session, the record, follow-up."""

from __future__ import annotations

import pytest
from django.core import mail

from tests.factories import advance, draft
from tests.meeting_helpers import in_session, people, prepared, published, schedule
from workflow import access
from workflow.audit.services import history
from workflow.documents.errors import Conflict, InvalidInput, NotAllowed, NotFound
from workflow.documents.models import Document
from workflow.meetings.models import (
    Attendance,
    FollowUpTask,
    MeetingState,
    Paper,
    PrivateNote,
)
from workflow.meetings.services.agenda import add_agenda_item
from workflow.meetings.services.attendance import check_in, respond
from workflow.meetings.services.common import get_meeting
from workflow.meetings.services.links import _paper_serves, paper_versions
from workflow.meetings.services.notes import get_note, get_paper, save_note
from workflow.meetings.services.paperless import level_summary, paperless_report
from workflow.meetings.services.papers import (
    attach_paper,
    draft_paper,
    replace_paper,
    restrict_paper,
    send_papers_for_approval,
)
from workflow.meetings.services.records import (
    add_task,
    conclude_meeting,
    draft_conclusion,
    draft_minutes,
    set_task_state,
    tasks_for,
)
from workflow.meetings.services.room import room_state
from workflow.meetings.services.schedule import (
    cancel_meeting,
    postpone_meeting,
    publish_meeting,
    reschedule_meeting,
    schedule_meeting,
)
from workflow.meetings.services.session import (
    close_meeting,
    next_speaker,
    request_to_speak,
    set_current_item,
    start_meeting,
    step_item,
)
from workflow.meetings.services.votes import cast_ballot, close_vote, open_vote, vote_result
from workflow.notifications.models import Notification


def test_schedule_seats_chair_and_secretary(org):
    meeting = schedule(org)
    roles = dict(meeting.participants.filter(user__isnull=False).values_list("user_id", "role"))
    cast = people(org)
    assert roles[cast["chair"].pk] == "chair"
    assert roles[cast["secretary"].pk] == "secretary"
    assert meeting.participants.filter(guest_name="Ông Nguyễn Văn Khách").exists()
    assert [e.action for e in history(meeting)] == ["meeting.schedule"]


def test_bad_input_gets_clear_errors(org):
    cast = people(org)
    unit = org.units["province"]
    base = {"title": "X", "starts_at": "2030-01-01T08:00", "chair": cast["chair"].pk,
            "secretary": cast["secretary"].pk}
    with pytest.raises(InvalidInput):
        schedule_meeting(cast["secretary"], unit=unit, data={**base, "title": " "})
    with pytest.raises(InvalidInput):
        schedule_meeting(cast["secretary"], unit=unit,
                         data={**base, "starts_at": "tomorrow"})
    with pytest.raises(InvalidInput):
        schedule_meeting(cast["secretary"], unit=unit,
                         data={**base, "ends_at": "2029-12-31T08:00"})
    with pytest.raises(InvalidInput):
        schedule_meeting(cast["secretary"], unit=unit, data={**base, "chair": 999999})
    with pytest.raises(NotAllowed):
        schedule_meeting(cast["other_unit"], unit=unit, data=base)


def test_cannot_publish_until_papers_approved(org):
    cast = people(org)
    meeting = schedule(org)
    item = add_agenda_item(cast["secretary"], meeting.pk, data={"title": "Mục 1"})
    paper = draft_paper(cast["secretary"], item.pk, subject="Tờ trình",
                        body="<p>Nội dung</p>")
    assert paper.source == "drafted"
    # The secretary sends the papers: their own drafts are submitted into the document flow.
    send_papers_for_approval(cast["secretary"], meeting.pk)
    paper.document.refresh_from_db()
    assert paper.document.state == "submitted"
    with pytest.raises(InvalidInput, match="not approved"):
        publish_meeting(cast["chair"], meeting.pk)
    advance(org, paper.document, "approved")
    with pytest.raises(NotAllowed):
        publish_meeting(cast["secretary"], meeting.pk)  # only the chair publishes
    meeting = publish_meeting(cast["chair"], meeting.pk)
    assert meeting.state == MeetingState.PUBLISHED


def test_publish_notifies_and_drafts_invitation(org, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    cast = people(org)
    for person in (cast["delegate"], cast["delegate2"]):
        person.email = f"{person.username}@example.org"
        person.save()
    meeting = prepared(org)
    meeting.wants_invitation = True
    meeting.save()
    with pytest.raises(NotFound):
        # Participants do not even see a meeting before it is published.
        get_meeting(cast["delegate"], meeting.pk)
    meeting = publish_meeting(cast["chair"], meeting.pk)
    assert meeting.invitation is not None
    assert meeting.invitation.document_type.abbreviation == "GM"
    assert meeting.invitation.state == "draft"
    assert Notification.objects.filter(recipient=cast["delegate"]).exists()
    assert Notification.objects.filter(recipient=cast["commune_delegate"]).exists()
    assert not Notification.objects.filter(recipient=cast["outsider"]).exists()
    assert get_meeting(cast["delegate"], meeting.pk).pk == meeting.pk


def test_publish_sends_email_after_commit(org, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    cast = people(org)
    cast["delegate"].email = "d@example.org"
    cast["delegate"].save()
    meeting = prepared(org)
    with django_capture_on_commit_callbacks(execute=True):
        publish_meeting(cast["chair"], meeting.pk)
    assert [m.to for m in mail.outbox] == [["d@example.org"]]


def test_attendance_and_delegation(org):
    cast = people(org)
    meeting = published(org)
    respond(cast["delegate"], meeting.pk, answer="confirm")
    seat = respond(cast["delegate2"], meeting.pk, answer="delegate",
                   delegate_to=cast["outsider"].pk)
    assert seat.attendance == Attendance.DELEGATED
    # The stand-in now has a seat of their own, and the one who delegated cannot vote.
    assert access.can_meeting(cast["outsider"], "view", meeting)
    with pytest.raises(InvalidInput):
        respond(cast["delegate"], meeting.pk, answer="maybe")
    meeting = start_meeting(cast["secretary"], meeting.pk)
    assert not access.can_meeting(cast["delegate2"], "ballot", meeting)
    assert access.can_meeting(cast["outsider"], "check_in", meeting)


def test_session_items_speakers_votes(org):
    cast = people(org)
    meeting = in_session(org)
    first, second = list(meeting.items.order_by("order"))
    assert meeting.current_item_id == first.pk
    v0 = meeting.room_version
    meeting = step_item(cast["secretary"], meeting.pk)
    assert meeting.current_item_id == second.pk and meeting.room_version > v0
    with pytest.raises(NotAllowed):
        set_current_item(cast["delegate"], meeting.pk, first.pk)

    request_to_speak(cast["delegate"], meeting.pk)
    request_to_speak(cast["delegate2"], meeting.pk)
    request_to_speak(cast["delegate"], meeting.pk)  # a second click: same request
    nxt = next_speaker(cast["chair"], meeting.pk)
    assert nxt.user == cast["delegate"]
    nxt = next_speaker(cast["chair"], meeting.pk)
    assert nxt.user == cast["delegate2"]

    for who in ("delegate", "delegate2", "chair"):
        check_in(cast[who], meeting.pk)
    vote = open_vote(cast["chair"], meeting.pk, question="Thông qua báo cáo?")
    assert vote.eligible_count == 3
    with pytest.raises(NotAllowed):
        open_vote(cast["delegate"], meeting.pk, question="?")
    cast_ballot(cast["delegate"], vote.pk, "yes")
    cast_ballot(cast["delegate2"], vote.pk, "no")
    with pytest.raises(Conflict):
        cast_ballot(cast["delegate"], vote.pk, "no")
    with pytest.raises(InvalidInput):
        cast_ballot(cast["chair"], vote.pk, "maybe")
    with pytest.raises(InvalidInput, match="Check in"):
        cast_ballot(cast["commune_delegate"], vote.pk, "yes")
    vote = close_vote(cast["chair"], vote.pk)
    with pytest.raises(Conflict, match="closed"):
        cast_ballot(cast["chair"], vote.pk, "yes")
    vote.refresh_from_db()
    assert (vote.yes_count, vote.no_count, vote.abstain_count) == (1, 1, 0)
    result = vote_result(vote)
    assert result["names"]["yes"] == [str(cast["delegate"])]


def test_secret_vote_keeps_no_choice(org):
    cast = people(org)
    meeting = in_session(org)
    check_in(cast["delegate"], meeting.pk)
    vote = open_vote(cast["chair"], meeting.pk, question="Bầu?", secret=True)
    ballot = cast_ballot(cast["delegate"], vote.pk, "no")
    assert ballot.choice == ""
    vote.refresh_from_db()
    assert vote.no_count == 1
    assert "names" not in vote_result(vote)


def test_close_minutes_conclusion_tasks(org):
    cast = people(org)
    meeting = in_session(org)
    check_in(cast["delegate"], meeting.pk)
    request_to_speak(cast["delegate"], meeting.pk)
    next_speaker(cast["chair"], meeting.pk)
    vote = open_vote(cast["chair"], meeting.pk, question="Thông qua?")
    cast_ballot(cast["delegate"], vote.pk, "yes")
    with pytest.raises(InvalidInput, match="open vote"):
        close_meeting(cast["secretary"], meeting.pk, paperless=True)
    close_vote(cast["chair"], vote.pk)
    with pytest.raises(InvalidInput, match="paper"):
        close_meeting(cast["secretary"], meeting.pk, paperless=False)
    meeting = close_meeting(cast["secretary"], meeting.pk, paperless=True)
    assert meeting.state == MeetingState.CLOSED and meeting.paperless is True

    minutes = draft_minutes(cast["secretary"], meeting.pk)
    assert minutes.document_type.abbreviation == "BB" and minutes.state == "draft"
    assert "Thông qua?" in minutes.body and str(cast["delegate"]) in minutes.body
    assert "Báo cáo tình hình" in minutes.body
    task = add_task(cast["secretary"], meeting.pk, title="Tổng hợp ý kiến",
                    owner=cast["delegate"].pk, due_date="2030-01-31")
    with pytest.raises(InvalidInput):
        add_task(cast["secretary"], meeting.pk, title="x", owner=cast["delegate"].pk,
                 due_date="31/01/2030")
    conclusion = draft_conclusion(cast["secretary"], meeting.pk,
                                  text="Hội nghị thống nhất <script>x</script>")
    assert "Tổng hợp ý kiến" in conclusion.body and "<script>" not in conclusion.body
    # Both enter the normal outgoing flow.
    advance(org, minutes, "issued")
    minutes.refresh_from_db()
    assert minutes.symbol.startswith("01/BB")
    meeting = conclude_meeting(cast["chair"], meeting.pk)
    assert meeting.state == MeetingState.CONCLUDED
    with pytest.raises(NotAllowed):
        set_task_state(cast["delegate2"], task.pk, done=True)
    task = set_task_state(cast["delegate"], task.pk, done=True)
    assert task.state == "done"
    assert list(tasks_for(cast["delegate"])) == [task]
    actions = [e.action for e in history(meeting)]
    for expected in ("meeting.publish", "meeting.start", "meeting.close", "meeting.minutes",
                     "meeting.conclusion", "meeting.conclude"):
        assert expected in actions


def test_cancel_postpone_reschedule(org):
    cast = people(org)
    meeting = published(org)
    with pytest.raises(InvalidInput):
        postpone_meeting(cast["secretary"], meeting.pk, reason="")
    meeting = postpone_meeting(cast["secretary"], meeting.pk, reason="Bão")
    assert meeting.state == MeetingState.POSTPONED
    meeting = reschedule_meeting(cast["secretary"], meeting.pk,
                                 starts_at="2031-03-01T08:00")
    assert meeting.state == MeetingState.DRAFT
    meeting = cancel_meeting(cast["chair"], meeting.pk, reason="Không cần")
    assert meeting.state == MeetingState.CANCELLED
    with pytest.raises(Conflict):
        start_meeting(cast["chair"], meeting.pk)


def test_double_click_on_start_is_refused(org):
    meeting = published(org)
    start_meeting(meeting.secretary, meeting.pk, expected_state="published")
    with pytest.raises(Conflict):
        start_meeting(meeting.secretary, meeting.pk, expected_state="published")


def test_private_notes_are_private(org):
    cast = people(org)
    meeting = published(org)
    paper = meeting.papers.first()
    save_note(cast["delegate"], paper.pk, text="Ghi chú riêng của tôi")
    assert get_note(cast["delegate"], paper.pk) == "Ghi chú riêng của tôi"
    assert get_note(cast["delegate2"], paper.pk) == ""
    with pytest.raises(NotFound):
        get_note(cast["other_unit"], paper.pk)
    with pytest.raises(InvalidInput):
        save_note(cast["delegate"], paper.pk, text="x" * 30000)
    assert PrivateNote.objects.count() == 1


def test_restricted_paper_and_replacement_keep_versions(org):
    cast = people(org)
    meeting = published(org)
    paper = meeting.papers.order_by("pk").first()
    restrict_paper(cast["secretary"], paper.pk, user_ids=[cast["delegate"].pk])
    paper = Paper.objects.get(pk=paper.pk)
    assert access.can_read_paper(cast["delegate"], paper)
    # A participant from a commune reads unrestricted papers only.
    other = meeting.papers.exclude(pk=paper.pk).first()
    assert access.can_read_paper(cast["commune_delegate"], other)
    assert access.visible_documents(cast["commune_delegate"]).filter(pk=other.document_id).exists()
    assert not access.can_read_paper(cast["commune_delegate"], paper)
    assert not access.visible_documents(cast["commune_delegate"]).filter(
        pk=paper.document_id).exists()
    old_doc = paper.document_id
    new = advance(org, draft(org, type_code="bao-cao", subject="Báo cáo (sửa)"), "approved")
    Notification.objects.all().delete()
    paper = replace_paper(cast["secretary"], paper.pk, document=new)
    assert paper.changed_after_publication and paper.previous_documents == [old_doc]
    # Only those who may read the paper are told.
    assert set(Notification.objects.values_list("recipient_id", flat=True)) == {
        cast["delegate"].pk}
    assert any(v.file.document_id == old_doc for v in paper_versions(paper))


def test_paperless_report_against_targets(org):
    cast = people(org)
    for paperless in (True, True, False):
        meeting = in_session(org)
        close_meeting(cast["secretary"], meeting.pk, paperless=paperless,
                      reason="" if paperless else "Máy chiếu hỏng")
    rows = paperless_report(cast["chair"])
    assert len(rows) == 1
    row = rows[0]
    assert (row.held, row.paperless, row.target) == (3, 2, 100)
    assert row.percent == 66.7 and row.meets_target is False
    summary = level_summary(rows)
    assert summary[0]["units_on_target"] == 0
    assert paperless_report(cast["other_unit"]) == []


def test_followup_task_owner_sees_notification(org):
    cast = people(org)
    meeting = in_session(org)
    close_meeting(cast["secretary"], meeting.pk, paperless=True)
    add_task(cast["secretary"], meeting.pk, title="Báo cáo kết quả",
             owner=cast["delegate2"].pk)
    assert FollowUpTask.objects.filter(owner=cast["delegate2"]).count() == 1
    assert Notification.objects.filter(recipient=cast["delegate2"],
                                       text__contains="Báo cáo kết quả")


def test_room_refreshes_when_a_late_paper_is_approved(org, django_capture_on_commit_callbacks):
    cast = people(org)
    meeting = published(org)
    doc = draft(org, type_code="bao-cao", subject="Tài liệu bổ sung")
    attach_paper(cast["secretary"], meeting.items.first().pk, document=doc)
    meeting.refresh_from_db()
    before = meeting.room_version

    def titles():
        fresh = get_meeting(cast["commune_delegate"], meeting.pk)
        state = room_state(cast["commune_delegate"], fresh)
        return [p["title"] for i in state["items"] for p in i["papers"]]

    assert "Tài liệu bổ sung" not in titles()
    with django_capture_on_commit_callbacks(execute=True):
        advance(org, doc, "approved")
    meeting.refresh_from_db()
    assert meeting.room_version > before
    assert "Tài liệu bổ sung" in titles()


def test_confidential_document_cannot_be_a_paper(org):
    cast = people(org)
    meeting = schedule(org)
    item = add_agenda_item(cast["secretary"], meeting.pk, data={"title": "Mục"})
    doc = draft(org, subject="Mật", confidential=True)
    with pytest.raises(InvalidInput, match="confidential"):
        attach_paper(cast["secretary"], item.pk, document=doc)


def test_room_link_binding_follows_replacement_and_confidentiality(org):
    """The room link's check (SQL written once) serves the paper's current and previous
    documents, never another document, and never a confidential one."""
    cast = people(org)
    meeting = published(org)
    paper = meeting.papers.order_by("pk").first()
    old_doc = paper.document_id
    other = meeting.papers.exclude(pk=paper.pk).first().document_id
    new = advance(org, draft(org, type_code="bao-cao", subject="Báo cáo (sửa)"), "approved")
    replace_paper(cast["secretary"], paper.pk, document=new)
    assert _paper_serves(paper.pk, new.pk)
    assert _paper_serves(paper.pk, old_doc)
    assert not _paper_serves(paper.pk, other)
    assert not _paper_serves(10**9, new.pk)
    Document.objects.filter(pk=old_doc).update(confidential=True)
    assert not _paper_serves(paper.pk, old_doc)
    Document.objects.filter(pk=new.pk).update(confidential=True)
    assert not _paper_serves(paper.pk, new.pk)


def test_ids_that_only_look_numeric_are_not_found(org):
    """'²' passes str.isdigit but not int(): it must be "not found", never a 500."""
    cast = people(org)
    for bad in ("²", "٣", "9" * 40, "0"):
        with pytest.raises(NotFound):
            get_paper(cast["secretary"], bad)
    assert paper_link_version_for("².1.abc") is None


def paper_link_version_for(token: str):
    from workflow.meetings.services.links import paper_link_version

    return paper_link_version(token, 1, "session")
