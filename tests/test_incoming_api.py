"""Incoming documents in the REST API and its OpenAPI schema."""

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.incoming_helpers import arrived, issue_to
from workflow.organisation.models import Role

pytestmark = pytest.mark.django_db(transaction=True)


def api(user) -> APIClient:
    client = APIClient()
    _instance, token = AuthToken.objects.create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_list_act_and_deliveries(org):
    document = issue_to(org, ["commune", "commune2"], subject="Công văn về khuyến học")
    incoming = arrived(org, document, "commune")
    clerk = api(org.person("commune", Role.CLERK))
    listed = clerk.get("/api/incoming/").json()
    assert [r["id"] for r in listed["results"]] == [incoming.pk]
    assert listed["results"][0]["allowed_actions"] == ["edit", "register", "return"]
    done = clerk.post(f"/api/incoming/{incoming.pk}/actions/register/",
                      {"expected_state": "received"}, format="json")
    assert done.status_code == 200 and done.json()["arrival_number"] == 1
    again = clerk.post(f"/api/incoming/{incoming.pk}/actions/register/",
                       {"expected_state": "received"}, format="json")
    assert again.status_code == 409 and again.json()["error"] == "conflict"
    other = api(org.person("commune2", Role.CLERK))
    assert other.get(f"/api/incoming/{incoming.pk}/").status_code == 404
    assert api(org.person("commune", Role.SPECIALIST)).post(
        f"/api/incoming/{incoming.pk}/actions/present/", {}, format="json").status_code == 404
    sender = api(org.person("province", Role.CLERK))
    rows = sender.get(f"/api/documents/{document.pk}/deliveries/").json()
    assert {(r["unit"], r["state"], r["arrival_number"]) for r in rows} == {
        (org.units["commune"].pk, "received", 1), (org.units["commune2"].pk, "sent", None)}
    created = clerk.post("/api/incoming/", {
        "unit": org.units["commune"].pk, "source": "email", "issuer_name": "Sở Nội vụ",
        "number_symbol": "77/SNV", "subject": "Hướng dẫn"}, format="json")
    assert created.status_code == 201 and created.json()["arrival_number"] == 2


def test_schema_lists_incoming_endpoints(org):
    schema = api(org.person("commune", Role.CLERK)).get("/api/schema/?format=json").json()
    paths = schema["paths"]
    assert "/api/incoming/" in paths and "/api/incoming/{id}/actions/{action}/" in paths
    assert "/api/documents/{id}/deliveries/" in paths
