"""Search page, REST API and management commands over the search service."""

import json
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from search.tasks import index_ids
from tests.factories import PASSWORD, advance, draft
from tests.test_search_quality import make_pdf
from workflow.documents import services
from workflow.documents.models import Document
from workflow.organisation.models import Role


@pytest.fixture
def docs(org):
    plan = draft(org, "province", type_code="ke-hoach",
                 subject="Kế hoạch giám sát năm 2023 về an sinh xã hội")
    services.add_file(plan.drafter, plan.pk, kind="main", upload=SimpleUploadedFile(
        "ke-hoach.pdf", make_pdf(["Trang bìa", "Nội dung phản biện xã hội ở trang hai"])))
    plan = advance(org, plan, "issued")
    secret = draft(org, "commune2", subject="Kế hoạch giám sát riêng của xã Nam Giang")
    index_ids(list(Document.objects.values_list("pk", flat=True)))
    return plan, secret


def login(client, org, unit, role):
    assert client.login(username=f"{unit}-{role}", password=PASSWORD)


@pytest.mark.django_db
def test_results_page(client, org, docs):
    plan, secret = docs
    login(client, org, "province", Role.MEMBER)
    response = client.get("/search/", {"q": "ke hoach giam sat 2023"})
    assert response.status_code == 200
    html = response.content.decode()
    assert plan.subject in html
    assert secret.subject not in html
    assert "<mark>" in html
    response = client.get("/search/", {"q": '"phản biện xã hội"'})
    html = response.content.decode()
    # "Open at page" goes to the in-page viewer, at the page, of a same-site file.
    assert "/view/?src=%2Fdocuments%2F" in html
    assert "page=2" in html
    assert "open-at-page" in html
    # Facet filter and sort keep working; an unknown value is harmless.
    response = client.get("/search/", {"q": "giám sát", "type": "ke-hoach", "sort": "date"})
    assert plan.subject in response.content.decode()
    for params in ({"q": "giám sát", "year": "abc"}, {"page": "-5"}, {"sort": "x"},
                   {"q": '"((('}):
        assert client.get("/search/", params).status_code == 200


@pytest.mark.django_db
def test_results_page_requires_login(client):
    response = client.get("/search/", {"q": "x"})
    assert response.status_code == 302


@pytest.mark.django_db
def test_api_search_and_suggest(client, org, docs):
    plan, secret = docs
    login(client, org, "commune2", Role.SPECIALIST)
    data = client.get("/api/search/", {"q": "giam sat"}).json()
    ids = {r["id"] for r in data["results"]}
    assert secret.pk in ids and plan.pk not in ids  # commune2 does not see the province plan
    assert data["total"] == len(ids)
    login(client, org, "province", Role.LEADER)
    data = client.get("/api/search/", {"q": "phan bien", "type": "ke-hoach"}).json()
    assert [r["id"] for r in data["results"]] == [plan.pk]
    assert data["results"][0]["page"] == 2
    assert "phản biện" in data["results"][0]["highlights"]
    assert data["facets"]["type"][0]["value"] == "ke-hoach"
    assert client.get("/api/search/", {"page": "0"}).status_code == 400
    prefix = plan.symbol[:5]
    assert client.get("/api/search/suggest/", {"q": prefix}).json() == {
        "suggestions": [plan.symbol]}


@pytest.mark.django_db
def test_api_requires_authentication(client):
    assert client.get("/api/search/", {"q": "x"}).status_code in (401, 403)


@pytest.mark.django_db
def test_schema_lists_search(client, org):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert "/api/search/" in schema["paths"]


@pytest.mark.django_db
def test_cli_search(org, docs):
    plan, _secret = docs
    out = StringIO()
    call_command("search", "giám sát", user="province-leader", as_json=True, stdout=out)
    data = json.loads(out.getvalue())
    assert [r["id"] for r in data["results"]] == [plan.pk]
    out = StringIO()
    call_command("search", "giam sat", user="province-leader", stdout=out)
    assert "[giám sát]" in out.getvalue().lower() or "[Giám sát]" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("search", "x", user="nobody")


@pytest.mark.django_db
def test_rebuild_index_command(org, docs):
    from search.service import get_backend

    get_backend().clear()
    out = StringIO()
    call_command("rebuild_index", stdout=out)
    assert "2/2" in out.getvalue()
    assert get_backend().count() == 2
    call_command("rebuild_index", stale_only=True, stdout=StringIO())
