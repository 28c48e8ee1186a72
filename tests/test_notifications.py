"""The notification centre: flow events, dedup, e-mail after commit, digests, deadlines, pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD, advance, draft
from tests.meeting_helpers import published
from workflow.documents import services as documents
from workflow.documents.models import DocumentRecipient
from workflow.meetings.models import FollowUpTask
from workflow.meetings.services.records import add_task
from workflow.meetings.services.session import close_meeting, start_meeting
from workflow.notifications import events, services
from workflow.notifications.models import Mail, Mode, Notification, Preference
from workflow.organisation.models import Role

pytestmark = pytest.mark.django_db


def events_of(user) -> list[str]:
    return list(Notification.objects.filter(recipient=user).order_by("pk")
                .values_list("event", flat=True))


def test_the_flow_tells_whoever_must_act(org):
    doc = draft(org, "district", type_code="ke-hoach", subject="Kế hoạch thi đua")
    DocumentRecipient.objects.create(document=doc, unit=org.units["commune"])
    specialist = org.person("district", Role.SPECIALIST)
    head = org.person("district", Role.HEAD)
    leader = org.person("district", Role.LEADER)
    clerk = org.person("district", Role.CLERK)
    advance(org, doc, "submitted")
    assert events_of(head) == ["document.submitted"]
    assert events_of(specialist) == []  # the actor is never told about their own action
    documents.transition(head, doc.pk, "return", comment="Bổ sung số liệu")
    returned = Notification.objects.get(recipient=specialist)
    assert returned.event == "document.returned" and "Bổ sung số liệu" in returned.text
    assert returned.url == reverse("documents:detail", args=[doc.pk])
    assert returned.target == doc
    advance(org, doc, "reviewed")
    assert "document.awaiting_approval" in events_of(leader)
    advance(org, doc, "signed")
    assert "document.signed" in events_of(specialist)
    assert events_of(clerk) == ["document.awaiting_issue"]
    advance(org, doc, "issued")
    assert "document.issued" in events_of(specialist)
    commune_member = org.person("commune", Role.MEMBER)
    assert events_of(commune_member) == ["document.issued_to_unit"]
    # Nobody outside the recipient units hears of it.
    assert events_of(org.person("commune2", Role.MEMBER)) == []


def test_waiting_for_signature_goes_to_the_signer_only(org):
    doc = advance(org, draft(org, "district"), "reviewed")
    leader = org.person("district", Role.LEADER)
    documents.transition(leader, doc.pk, "approve")
    # The approver is the signer: signing is still their own next step.
    signature = Notification.objects.filter(event="document.awaiting_signature")
    assert list(signature.values_list("recipient_id", flat=True)) == [leader.pk]


def test_comment_tells_the_drafter(org):
    doc = advance(org, draft(org, "district"), "submitted")
    head = org.person("district", Role.HEAD)
    documents.add_comment(head, doc.pk, text="Xem lại đoạn 2")
    note = Notification.objects.get(event="document.comment")
    assert note.recipient == doc.drafter and note.kind == "comment"
    assert "Xem lại đoạn 2" in note.text


def test_same_event_is_written_and_mailed_once(org, django_capture_on_commit_callbacks):
    person = org.person("province", Role.MEMBER)
    person.email = "member@example.org"
    person.save()
    with django_capture_on_commit_callbacks(execute=True):
        first = services.notify([person], "test.event", text="Một", key="k-1")
        again = services.notify([person, person], "test.event", text="Một", key="k-1")
    assert first == [person.pk] and again == []
    assert Notification.objects.filter(recipient=person).count() == 1
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["member@example.org"]
    # A retried task finds the row sent and sends nothing.
    assert services.send_pending_now("k-1", "Một") == 0
    assert Notification.objects.get(recipient=person).mail == Mail.SENT


def test_rolled_back_action_notifies_nobody(org, django_capture_on_commit_callbacks):
    from django.db import transaction

    person = org.person("province", Role.MEMBER)
    person.email = "member@example.org"
    person.save()
    with (django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError),
          transaction.atomic()):
            services.notify([person], "test.event", text="Hai", key="k-2")
            raise RuntimeError
    assert not Notification.objects.exists() and mail.outbox == []


def test_preferences_digest_and_off(org, django_capture_on_commit_callbacks):
    person = org.person("province", Role.MEMBER)
    person.email = "member@example.org"
    person.save()
    services.set_preferences(person, {"deadline": Mode.DIGEST, "meeting": Mode.OFF})
    with django_capture_on_commit_callbacks(execute=True):
        services.notify([person], "deadline.today", text="Hạn 1", kind="deadline")
        services.notify([person], "deadline.today", text="Hạn 2", kind="deadline")
        services.notify([person], "meeting.changed", text="Họp", kind="meeting")
        services.notify([person], "task.assigned", text="Việc", kind="task")
    assert [m.body for m in mail.outbox] == ["Việc"]  # only the immediate kind
    assert Notification.objects.filter(recipient=person).count() == 4  # all in-app
    assert services.send_digests() == 1
    assert len(mail.outbox) == 2 and "Hạn 1" in mail.outbox[1].body
    assert "Hạn 2" in mail.outbox[1].body and "Họp" not in mail.outbox[1].body
    assert services.send_digests() == 0  # nothing twice


def test_bad_preference_is_refused(org):
    from workflow.documents.errors import InvalidInput

    with pytest.raises(InvalidInput):
        services.set_preferences(org.person("province", Role.MEMBER), {"deadline": "weekly"})
    assert not Preference.objects.exists()


def test_remind_deadlines_stages_once_each(org):
    person = org.person("province", Role.MEMBER)
    today = dt.date(2026, 3, 10)

    def item(due):
        return services.DeadlineItem(key="incoming:7", due=due, title="Công văn đến số 7",
                                     recipients=[person], url="/x/")

    assert services.remind_deadlines([item(dt.date(2026, 3, 15))], today) == 0  # too early
    assert services.remind_deadlines([item(dt.date(2026, 3, 12))], today) == 1  # 2 days before
    assert services.remind_deadlines([item(dt.date(2026, 3, 12))], today) == 0  # idempotent
    assert services.remind_deadlines([item(dt.date(2026, 3, 12))], dt.date(2026, 3, 12)) == 1
    assert services.remind_deadlines([item(dt.date(2026, 3, 12))], dt.date(2026, 3, 13)) == 1
    assert services.remind_deadlines([item(dt.date(2026, 3, 12))], dt.date(2026, 3, 20)) == 0
    assert events_of(person) == ["deadline.soon", "deadline.today", "deadline.overdue"]
    # A moved deadline is a new deadline: reminded again.
    assert services.remind_deadlines([item(dt.date(2026, 3, 30))], dt.date(2026, 3, 30)) == 1


def test_documents_and_tasks_get_deadline_reminders(org):
    today = timezone.localdate()
    doc = advance(org, draft(org, "district", due_date=today + dt.timedelta(days=2)), "submitted")
    meeting = published(org)
    owner = org.person("province", Role.MEMBER)
    task = FollowUpTask.objects.create(meeting=meeting, title="Tổng hợp ý kiến", owner=owner,
                                       due_date=today, created_by=meeting.secretary)
    assert events.remind_all(today) >= 3
    head = org.person("district", Role.HEAD)
    assert "deadline.soon" in events_of(doc.drafter) and "deadline.soon" in events_of(head)
    assert "deadline.today" in events_of(owner)
    assert Notification.objects.get(recipient=owner, event="deadline.today").target == task
    assert events.remind_all(today) == 0
    FollowUpTask.objects.filter(pk=task.pk).update(state="done")
    # On its day the document reminds its drafter and its reviewer; the done task is quiet.
    assert events.remind_all(today + dt.timedelta(days=2)) == 2


def test_meeting_events_and_starting_soon(org):
    meeting = published(org)
    delegate = org.person("province", Role.MEMBER)
    assert "meeting.published" in events_of(delegate)
    assert events.meetings_starting_soon(meeting.starts_at - dt.timedelta(minutes=30)) >= 1
    assert events.meetings_starting_soon(meeting.starts_at - dt.timedelta(minutes=20)) == 0
    assert events.meetings_starting_soon(meeting.starts_at - dt.timedelta(days=1)) == 0
    assert "meeting.starting_soon" in events_of(delegate)
    meeting = start_meeting(meeting.secretary, meeting.pk)
    close_meeting(meeting.secretary, meeting.pk, paperless=True)
    add_task(meeting.secretary, meeting.pk, title="Báo cáo", owner=delegate)
    assert "task.assigned" in events_of(delegate)


def test_pages_header_count_and_mark_read(client, org):
    person = org.person("province", Role.MEMBER)
    other = org.person("province", Role.HEAD)
    services.notify([person], "test.event", text="Thông báo A", url="/documents/")
    services.notify([person], "test.event", text="Thông báo B")
    theirs = services.notify([other], "test.event", text="Của người khác")
    assert client.login(username=person.username, password=PASSWORD)
    page = client.get(reverse("notifications:list")).content.decode()
    assert "Thông báo A" in page and "Của người khác" not in page
    assert 'id="notices-unread">2<' in page
    mine = Notification.objects.get(text="Thông báo A")
    response = client.post(reverse("notifications:open", args=[mine.pk]))
    assert response.status_code == 302 and response["Location"] == "/documents/"
    mine.refresh_from_db()
    assert mine.read_at is not None
    foreign = Notification.objects.get(recipient_id=theirs[0])
    assert client.post(reverse("notifications:open", args=[foreign.pk])).status_code == 404
    client.post(reverse("notifications:list"))
    assert services.unread_count(person) == 0
    response = client.post(reverse("notifications:preferences"), {"meeting": "digest"},
                           follow=True)
    assert Preference.objects.get(user=person, kind="meeting").mode == "digest"
    assert "Your notification settings are saved." in response.content.decode()


def test_confidential_document_issued_reaches_only_its_readers(org):
    doc = draft(org, "district", subject="Văn bản mật", confidential=True)
    DocumentRecipient.objects.create(document=doc, unit=org.units["commune"])
    advance(org, doc, "issued")
    told = set(Notification.objects.filter(event="document.issued_to_unit")
               .values_list("recipient_id", flat=True))
    assert told == {org.person("commune", Role.LEADER).pk, org.person("commune", Role.CLERK).pk}
