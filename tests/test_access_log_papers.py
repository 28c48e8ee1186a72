"""Access history for meeting papers read in the room and for oversight case files."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD
from tests.meeting_helpers import in_session, people
from tests.oversight_helpers import critique_to
from workflow.audit import access_log
from workflow.audit.models import AuditEntry
from workflow.organisation.models import Role

pytestmark = pytest.mark.django_db


def _login(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def _paper_reads(document_id, action=access_log.VIEW):
    return AuditEntry.objects.filter(object_id=str(document_id), action=action,
                                     content_type__model="document")


def test_room_link_opening_is_logged_once_per_hour_without_session_query(
        org, django_assert_max_num_queries):
    cast = people(org)
    meeting = in_session(org)
    client = _login(cast["delegate"])
    state = client.get(reverse("meetings:room_state", args=[meeting.pk])).json()
    paper = next(p for item in state["items"] for p in item["papers"])
    document_id = meeting.papers.get(pk=paper["id"]).document_id
    assert client.get(paper["view_url"]).status_code == 200
    entry = _paper_reads(document_id).get()
    assert entry.actor == cast["delegate"] and f"meeting paper {paper['id']}" in entry.comment
    # Reading back and forth in the hour: no more rows, and no more queries than before.
    with django_assert_max_num_queries(1):
        assert client.get(paper["view_url"]).status_code == 200
    assert _paper_reads(document_id).count() == 1
    # A download is always recorded.
    assert client.get(paper["view_url"] + "&download=1").status_code == 200
    assert _paper_reads(document_id, access_log.DOWNLOAD).get().actor == cast["delegate"]


def test_another_reader_gets_their_own_entry_and_the_full_check_logs_too(org):
    cast = people(org)
    meeting = in_session(org)
    paper = meeting.papers.order_by("pk").first()
    for who in ("delegate", "delegate2"):
        client = _login(cast[who])
        # Without a token: the full permission check, then the log.
        assert client.get(reverse("meetings:paper_file", args=[paper.pk])).status_code == 200
    actors = set(_paper_reads(paper.document_id).values_list("actor_id", flat=True))
    assert actors == {cast["delegate"].pk, cast["delegate2"].pk}
    # Refused readers leave no entry.
    outsider = _login(cast["other_unit"])
    assert outsider.get(reverse("meetings:paper_file", args=[paper.pk])).status_code == 404
    assert _paper_reads(paper.document_id).count() == 2


def test_forged_reader_in_a_link_is_refused(org):
    cast = people(org)
    meeting = in_session(org)
    client = _login(cast["delegate"])
    state = client.get(reverse("meetings:room_state", args=[meeting.pk])).json()
    url = next(p["view_url"] for item in state["items"] for p in item["papers"])
    # Swapping the reader id breaks the MAC: the full check runs and logs the real person.
    forged = url.rsplit(".", 1)[0] + f".{cast['chair'].pk}"
    assert client.get(forged).status_code == 200
    assert not AuditEntry.objects.filter(actor=cast["chair"], action=access_log.VIEW).exists()
    assert AuditEntry.objects.filter(actor=cast["delegate"], action=access_log.VIEW).exists()


def test_opening_an_oversight_case_file_is_logged(org, django_capture_on_commit_callbacks):
    from tests.factories import pdf_bytes, upload

    case = critique_to(org, django_capture_on_commit_callbacks, "received", unit="district")
    client = _login(org.person("district", Role.SPECIALIST))
    client.post(reverse("oversight:critique_act", args=[case.pk]), {
        "op": "upload", "kind": "draft", "file": upload("du-thao.pdf", pdf_bytes())})
    item = case.files.get()
    leader = org.person("province", Role.LEADER)
    assert _login(leader).get(reverse("oversight:case_file", args=[item.pk])).status_code == 200
    entry = AuditEntry.objects.get(action=access_log.CASE_FILE_OPEN)
    assert entry.actor == leader and entry.object_id == str(case.pk)
    assert entry.comment == "du-thao.pdf"
    stranger = _login(org.person("district2", Role.LEADER))
    assert stranger.get(reverse("oversight:case_file", args=[item.pk])).status_code == 404
    assert AuditEntry.objects.filter(action=access_log.CASE_FILE_OPEN).count() == 1


def test_batched_paper_reads_are_written_together(org, settings, django_assert_num_queries):
    from django.core.cache import cache

    settings.ACCESS_LOG_BATCH_SECONDS = 3600  # the timer never fires during the test
    cast = people(org)
    meeting = in_session(org)
    document_id = meeting.papers.order_by("pk").first().document_id
    access_log.ContentType.objects.get_for_model(meeting.papers.first().document)  # warm
    # Another process already logged the chair's read this hour.
    now = access_log.timezone.now()
    bucket = int(now.timestamp() // access_log.VIEW_WINDOW.total_seconds())
    cache.set(f"access-log:paper:{cast['chair'].pk}:{document_id}:{bucket}", 1)
    with django_assert_num_queries(0):
        for who in ("delegate", "delegate2", "chair"):
            assert access_log.record_paper_read(cast[who].pk, document_id, name="bc.pdf",
                                                now=now)
        # Read again in the same process: not even queued.
        assert not access_log.record_paper_read(cast["delegate"].pk, document_id,
                                                name="bc.pdf", now=now)
    assert not _paper_reads(document_id).exists()
    with django_assert_num_queries(1):
        assert access_log.flush_paper_reads() == 2
    assert set(_paper_reads(document_id).values_list("actor_id", flat=True)) == {
        cast["delegate"].pk, cast["delegate2"].pk}
    assert access_log._TIMER is None
    access_log._SEEN.clear()
