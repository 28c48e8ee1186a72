"""Issue #23, finding 2: a meeting paper marked confidential afterwards is not read through
the meeting (document page, API, download, paper file, room, search).

Set-up: a published province meeting; its first paper's document is then marked
confidential the way an administrator would (a plain save, as the admin does). Expected
answers are written out by hand from the rule in ``workflow/access/meetings.py``: participants
read a paper through the meeting only when it is not confidential; otherwise only the
confidential readers (the unit's leaders and clerk, the drafting department's head,
the drafter) read it, on their own rights.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from search import service
from tests.meeting_helpers import people, published
from workflow import access
from workflow.documents.models import Document
from workflow.meetings.models import Paper
from workflow.meetings.services.room import readable_papers

# who (tests.meeting_helpers.people) → reads the confidential paper?
# chair = province leader (own rights: a leader of the unit), secretary = the province
# specialist who drafted the papers, delegate = province member, delegate2 = province
# head of the drafting department (own rights), commune_delegate = commune member.
READS = {
    "chair": True,
    "delegate2": True,
    "secretary": True,  # drafted the papers (tests.factories.draft)
    "delegate": False,
    "commune_delegate": False,
}
CHANNELS = ["can", "list", "api", "page", "download", "paper_file", "room", "search"]


def _found(user, document_id: int) -> bool:
    return document_id in [h.id for h in service.search(user, "bao cao").hits]


@pytest.fixture
def confidential_paper(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        meeting = published(org)
    paper = meeting.papers.order_by("pk").first()
    cast = people(org)
    # Before: every participant reads it through the meeting.
    for who in READS:
        assert access.can_read_paper(cast[who], paper), who
    # Room links and search hits handed out before the change.
    links = {}
    for who in READS:
        client = Client()
        client.force_login(cast[who])
        state = client.get(reverse("meetings:room_state", args=[meeting.pk])).json()
        urls = [p["view_url"] for i in state["items"] for p in i["papers"]
                if p["id"] == paper.pk]
        assert urls, who
        links[who] = (client, urls[0])
    assert _found(cast["commune_delegate"], paper.document_id)
    with django_capture_on_commit_callbacks(execute=True):
        document = Document.objects.get(pk=paper.document_id)
        document.confidential = True
        document.save()
    for user in cast.values():
        access.forget(user)
    paper = Paper.objects.select_related("meeting", "document").get(pk=paper.pk)
    return {"meeting": meeting, "paper": paper, "document": document, "cast": cast,
            "links": links}


def _channel(env, who: str, channel: str) -> bool:
    cast, paper, document = env["cast"], env["paper"], env["document"]
    user = cast[who]
    if channel == "can":
        return access.can(user, "view", document) or access.can_read_paper(user, paper)
    if channel == "list":
        return access.visible_documents(user).filter(pk=document.pk).exists()
    if channel == "api":
        client = APIClient()
        client.force_authenticate(user)
        response = client.get(f"/api/documents/{document.pk}/")
        assert response.status_code in (200, 404), response.status_code
        return response.status_code == 200
    if channel == "page":
        client = Client()
        client.force_login(user)
        response = client.get(reverse("documents:detail", args=[document.pk]))
        assert response.status_code in (200, 404), response.status_code
        return response.status_code == 200
    if channel == "download":
        client = Client()
        client.force_login(user)
        version = document.files.first().current_version
        response = client.get(reverse("documents:download", args=[document.pk, version.pk]))
        assert response.status_code in (200, 404), response.status_code
        return response.status_code == 200
    if channel == "paper_file":
        # The link handed out with the room state before the change, and the full check.
        client, url = env["links"][who]
        by_link = client.get(url).status_code == 200
        plain = client.get(reverse("meetings:paper_file", args=[paper.pk])).status_code == 200
        return by_link or plain
    if channel == "room":
        client = Client()
        client.force_login(user)
        state = client.get(reverse("meetings:room_state", args=[env["meeting"].pk])).json()
        shown = [p["id"] for i in state["items"] for p in i["papers"]]
        return paper.pk in shown or paper.pk in [
            p.pk for p in readable_papers(user, env["meeting"])]
    if channel == "search":
        return _found(user, document.pk)
    raise AssertionError(channel)


@pytest.mark.django_db
@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("who", list(READS))
def test_confidential_paper_matrix(confidential_paper, who, channel):
    assert _channel(confidential_paper, who, channel) is READS[who]


@pytest.mark.django_db
def test_the_other_paper_stays_readable(confidential_paper):
    env = confidential_paper
    other = env["meeting"].papers.exclude(pk=env["paper"].pk).get()
    commune = env["cast"]["commune_delegate"]
    assert access.can_read_paper(commune, other)
    assert _found(commune, other.document_id)


@pytest.mark.django_db
def test_lifting_confidentiality_restores_meeting_reading(confidential_paper,
                                                          django_capture_on_commit_callbacks):
    env = confidential_paper
    commune = env["cast"]["commune_delegate"]
    with django_capture_on_commit_callbacks(execute=True):
        env["document"].confidential = False
        env["document"].save()
    access.forget(commune)
    assert access.can_read_paper(commune, Paper.objects.get(pk=env["paper"].pk))
    assert _found(commune, env["document"].pk)
