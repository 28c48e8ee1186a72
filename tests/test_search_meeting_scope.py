"""Search scoped to one meeting's papers (the meeting room's search box, issue 5)."""

import pytest

from search import service
from search.tasks import index_ids
from tests.factories import PASSWORD, advance, draft
from tests.meeting_helpers import people, published
from workflow.documents.models import Document
from workflow.organisation.models import Role


@pytest.fixture
def scoped(org):
    meeting = published(org, papers=2)
    other = draft(org, "province", type_code="bao-cao", subject="Báo cáo tổng kết công tác năm")
    other = advance(org, other, "issued")
    index_ids(list(Document.objects.values_list("pk", flat=True)))
    return meeting, other


def ids(results):
    return {h.id for h in results.hits}


@pytest.mark.django_db
def test_service_restricts_inside_the_engine(org, scoped):
    meeting, other = scoped
    chair = people(org)["chair"]
    everything = service.search(chair, "báo cáo")
    assert other.pk in ids(everything)
    scoped_results = service.search(chair, "báo cáo", meeting=meeting.pk)
    assert scoped_results.total == 2
    assert other.pk not in ids(scoped_results)
    assert {h.subject for h in scoped_results.hits} == {"Báo cáo số 1", "Báo cáo số 2"}
    # The filter is applied before top-N: one per page still counts both papers.
    first = service.search(chair, "báo cáo", meeting=meeting.pk, per_page=1)
    assert first.total == 2 and len(first.hits) == 1
    assert sum(f.count for f in first.facets["type"]) == 2
    # Empty meeting value: everything the user may see.
    assert service.search(chair, "báo cáo", meeting="").total == everything.total


@pytest.mark.django_db
def test_unseen_or_bad_meeting_gives_nothing(org, scoped):
    meeting, _other = scoped
    outsider = people(org)["other_unit"]
    assert service.search(outsider, "báo cáo", meeting=meeting.pk).total == 0
    chair = people(org)["chair"]
    for bad in ("abc", "-3", "999999", "0"):
        assert service.search(chair, "báo cáo", meeting=bad).total == 0


@pytest.mark.django_db
def test_page_shows_removable_chip_and_api(client, org, scoped):
    meeting, other = scoped
    assert client.login(username="province-leader", password=PASSWORD)
    response = client.get("/search/", {"q": "báo cáo", "meeting": meeting.pk, "sort": "date"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Only this meeting&#x27;s papers" in html or "Only this meeting's papers" in html
    assert other.subject not in html
    assert "Báo cáo số 1" in html
    assert 'name="meeting"' in html
    assert 'href="?q=b%C3%A1o+c%C3%A1o&amp;sort=date"' in html  # the chip drops the scope
    html = client.get("/search/", {"q": "báo cáo"}).content.decode()
    assert "meeting-scope" not in html and other.subject in html
    assert client.get("/search/", {"q": "x", "meeting": "zz"}).status_code == 200

    data = client.get("/api/search/", {"q": "báo cáo", "meeting": meeting.pk}).json()
    assert data["total"] == 2
    assert other.pk not in {r["id"] for r in data["results"]}
    assert client.get("/api/search/", {"q": "báo cáo", "meeting": ""}).json()["total"] >= 3
    client.logout()
    assert client.login(username=f"district2-{Role.LEADER}", password=PASSWORD)
    data = client.get("/api/search/", {"q": "báo cáo", "meeting": meeting.pk}).json()
    assert data["total"] == 0 and data["results"] == []
