"""REST API: authentication, every document action, errors as readable JSON, the schema."""

from __future__ import annotations

import hashlib

import pytest
from django.core.management import call_command
from django.test import override_settings
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.factories import PASSWORD, advance, draft, pdf_bytes, upload
from tests.second_factor import api_proof
from workflow.audit.services import history
from workflow.documents import services
from workflow.documents.models import Document
from workflow.organisation.models import Role
from workflow.organisation.services import merge_units

pytestmark = pytest.mark.django_db


def api(user=None) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        _instance, token = AuthToken.objects.create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        api_proof(user)  # signing and issuing need a fresh second factor
    return client


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["message"], str) and body["message"].strip()
    if code:
        assert body["error"] == code
    return body


def new_doc(client: APIClient, org, unit: str = "province", **extra) -> dict:
    payload = {
        "unit": org.units[unit].pk,
        "document_type": org.types["ke-hoach"].pk,
        "subject": "Kế hoạch tổ chức Ngày hội Đại đoàn kết toàn dân tộc",
        "body": "<p>Nội dung</p><script>alert(1)</script>",
        **extra,
    }
    response = client.post("/api/documents/", payload, format="json")
    assert response.status_code == 201, response.content
    return response.json()


# --- authentication -------------------------------------------------------------------------


def test_token_login(org):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/api/auth/token/",
                           {"username": "province-specialist", "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/inbox/").status_code == 200


def test_token_login_wrong_password_is_readable(org):
    response = APIClient(HTTP_ACCEPT_LANGUAGE="en").post(
        "/api/auth/token/", {"username": "province-specialist", "password": "nope"}
    )
    body = assert_error(response, 400)
    assert "credentials" in body["message"]


def test_anonymous_gets_401_json(org):
    response = api().get("/api/documents/")
    body = assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Token")
    assert "sign in" in body["message"].lower()


def test_bad_token_is_401(org):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0000")
    assert_error(client.get("/api/documents/"), 401)


def test_session_auth_needs_csrf(org):
    client = APIClient(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(org.person("province", Role.SPECIALIST))
    assert client.get("/api/documents/").status_code == 200
    payload = {"unit": org.units["province"].pk, "document_type": org.types["ke-hoach"].pk,
               "subject": "Công văn"}
    body = assert_error(client.post("/api/documents/", payload, format="json"), 403)
    assert "CSRF" in body["message"]
    # What a page does: send the CSRF cookie back in the X-CSRFToken header.
    client.cookies["csrftoken"] = "a" * 32
    response = client.post("/api/documents/", payload, format="json", HTTP_X_CSRFTOKEN="a" * 32)
    assert response.status_code == 201


# --- documents ------------------------------------------------------------------------------


def test_create_returns_document_with_actions_and_clean_body(org):
    client = api(org.person("province", Role.SPECIALIST))
    doc = new_doc(client, org, recipients=[org.units["district"].pk])
    assert doc["state"] == "draft"
    assert doc["state_label"]
    assert {"view", "edit", "submit", "withdraw", "comment"} <= set(doc["allowed_actions"])
    assert "<script>" not in doc["body"]
    assert doc["recipients"] == [org.units["district"].pk]
    assert doc["drafting_department"]["id"] == org.departments["province"].pk
    assert doc["edit_version"] == 1
    detail = client.get(f"/api/documents/{doc['id']}/")
    assert detail.status_code == 200 and detail.json()["uuid"] == doc["uuid"]


def test_create_errors_are_readable(org):
    client = api(org.person("province", Role.SPECIALIST))
    base = {"unit": org.units["province"].pk, "document_type": org.types["ke-hoach"].pk}
    body = assert_error(client.post("/api/documents/", {**base, "subject": "  "},
                                    format="json"), 400, "invalid")
    assert "subject" in body["message"].lower()
    body = assert_error(client.post("/api/documents/", {**base}, format="json"), 400)
    assert "subject" in body["fields"]
    assert_error(client.post("/api/documents/", {**base, "subject": "x", "unit": 999999},
                             format="json"), 400)
    assert_error(client.post("/api/documents/", {**base, "subject": "x", "document_type": 999},
                             format="json"), 400)
    assert_error(client.post("/api/documents/", {**base, "subject": "x", "priority": "later"},
                             format="json"), 400)
    # A unit where the person has no drafting role.
    body = assert_error(client.post("/api/documents/", {**base, "subject": "x",
                                                        "unit": org.units["district"].pk},
                                    format="json"), 403, "forbidden")
    # Malformed JSON.
    assert_error(client.post("/api/documents/", "{not json", content_type="application/json"),
                 400)


def test_clerk_and_member_cannot_draft(org):
    for role in (Role.CLERK, Role.MEMBER):
        client = api(org.person("province", role))
        assert_error(client.post("/api/documents/", {
            "unit": org.units["province"].pk, "document_type": org.types["ke-hoach"].pk,
            "subject": "x"}, format="json"), 403)


def test_patch_with_edit_version_and_conflict(org):
    client = api(org.person("province", Role.SPECIALIST))
    doc = new_doc(client, org)
    url = f"/api/documents/{doc['id']}/"
    response = client.patch(url, {"subject": "Kế hoạch (sửa)", "edit_version": 1}, format="json")
    assert response.status_code == 200
    assert response.json()["subject"] == "Kế hoạch (sửa)"
    assert response.json()["edit_version"] == 2
    # Someone saving from the old version is refused; nothing changes.
    body = assert_error(client.patch(url, {"subject": "old", "edit_version": 1}, format="json"),
                        409, "conflict")
    assert "reload" in body["message"].lower()
    assert Document.objects.get(pk=doc["id"]).subject == "Kế hoạch (sửa)"
    body = assert_error(client.patch(url, {"subject": "x"}, format="json"), 400)
    assert "edit_version" in body["fields"]
    assert_error(client.put(url, {"subject": "x", "edit_version": 2}, format="json"), 405)


def test_patch_after_submit_is_refused(org):
    specialist = org.person("province", Role.SPECIALIST)
    client = api(specialist)
    doc = new_doc(client, org)
    client.post(f"/api/documents/{doc['id']}/transitions/submit/", {}, format="json")
    assert_error(client.patch(f"/api/documents/{doc['id']}/",
                              {"subject": "x", "edit_version": 1}, format="json"), 403)


def test_list_filters(org):
    client = api(org.person("province", Role.SPECIALIST))
    a = new_doc(client, org, subject="Kế hoạch giám sát năm 2025")
    b = new_doc(client, org, subject="Báo cáo phản biện xã hội",
                document_type=org.types["bao-cao"].pk)
    issued = advance(org, draft(org, subject="Thông báo kết luận"), "issued")

    def ids(**params):
        response = client.get("/api/documents/", params)
        assert response.status_code == 200, response.content
        return {d["id"] for d in response.json()["results"]}

    assert {a["id"], b["id"], issued.pk} <= ids()
    assert ids(type="bao-cao") == {b["id"]}
    assert ids(type=str(org.types["bao-cao"].pk)) == {b["id"]}
    assert ids(state="issued") == {issued.pk}
    assert ids(q="giám sát") == {a["id"]}
    assert ids(q=issued.symbol) == {issued.pk}
    assert ids(unit=org.units["district"].pk) == set()
    year = issued.year
    assert issued.pk in ids(year=year)
    assert ids(year=year - 5) == set()
    body = assert_error(client.get("/api/documents/", {"year": "abc"}), 400)
    assert "year" in body["fields"]
    assert_error(client.get("/api/documents/", {"state": "lost"}), 400)
    page = client.get("/api/documents/", {"page_size": 1}).json()
    assert page["count"] >= 3 and len(page["results"]) == 1 and page["next"]
    assert_error(client.get("/api/documents/", {"page": 99}), 404)


def test_list_never_shows_other_units_drafts(org):
    district_doc = draft(org, unit="district", subject="Bí mật huyện")
    client = api(org.person("province", Role.LEADER))
    response = client.get("/api/documents/")
    assert district_doc.pk not in {d["id"] for d in response.json()["results"]}
    body = assert_error(client.get(f"/api/documents/{district_doc.pk}/"), 404, "not_found")
    assert "Bí mật" not in str(body)
    for suffix in ("files/", "comments/", "history/"):
        assert_error(client.get(f"/api/documents/{district_doc.pk}/{suffix}"), 404)
    assert_error(client.get("/api/documents/99999999/"), 404, "not_found")


# --- files ----------------------------------------------------------------------------------


def test_upload_versions_and_download(org, settings):
    specialist = org.person("province", Role.SPECIALIST)
    client = api(specialist)
    doc = new_doc(client, org)
    url = f"/api/documents/{doc['id']}/files/"
    data = pdf_bytes("v1", pages=2)
    response = client.post(url, {"file": upload("ke-hoach.pdf", data), "kind": "main"},
                           format="multipart")
    assert response.status_code == 201, response.content
    file = response.json()
    assert file["kind"] == "main"
    version = file["versions"][0]
    assert version["sha256"] == hashlib.sha256(data).hexdigest()
    assert version["page_count"] == 2
    assert version["number"] == 1

    data2 = pdf_bytes("v2", pages=3)
    response = client.post(url, {"file": upload("ke-hoach-v2.pdf", data2), "kind": "main",
                                 "file_id": file["id"]}, format="multipart")
    assert response.status_code == 201, response.content
    listed = client.get(url).json()
    assert len(listed) == 1
    assert [v["number"] for v in listed[0]["versions"]] == [2, 1]
    assert listed[0]["current_version"] == listed[0]["versions"][0]["id"]
    assert listed[0]["versions"][0]["page_count"] == 3

    download = listed[0]["versions"][1]["download_url"]
    response = client.get(download, HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert "attachment" in response["Content-Disposition"]

    # Someone who cannot see the draft cannot fetch its file either.
    other = api(org.person("province", Role.LEADER))
    assert_error(other.get(download), 404)
    assert_error(other.get(url), 404)
    # A version id of another document is not served through this one.
    doc2 = new_doc(client, org)
    assert_error(client.get(f"/api/documents/{doc2['id']}/versions/"
                            f"{listed[0]['versions'][0]['id']}/download/"), 404)


def test_upload_errors_are_readable(org, settings):
    client = api(org.person("province", Role.SPECIALIST))
    doc = new_doc(client, org)
    url = f"/api/documents/{doc['id']}/files/"
    body = assert_error(client.post(url, {"file": upload("x.pdf", b"not a pdf at all"),
                                          "kind": "main"}, format="multipart"), 400)
    assert "PDF" in body["message"]
    assert_error(client.post(url, {"file": upload("x.pdf", b""), "kind": "main"},
                             format="multipart"), 400)
    assert_error(client.post(url, {"kind": "main"}, format="multipart"), 400)
    assert_error(client.post(url, {"file": upload("x.pdf", pdf_bytes()), "kind": "other"},
                             format="multipart"), 400)
    assert_error(client.post(url, {"file": upload("x.pdf", pdf_bytes()), "file_id": 424242},
                             format="multipart"), 404)
    assert_error(client.post(url, {"kind": "main"}, format="json"), 415)
    settings.MTTQ_MAX_UPLOAD_BYTES = 1024
    body = assert_error(client.post(url, {"file": upload("big.pdf", pdf_bytes() + b" " * 4096)},
                                    format="multipart"), 400)
    assert "limit" in body["message"]


# --- comments, transitions, history, inbox -------------------------------------------------


def test_comments(org):
    doc = advance(org, draft(org), "submitted")
    head = api(org.person("province", Role.HEAD))
    url = f"/api/documents/{doc.pk}/comments/"
    response = head.post(url, {"text": "Đề nghị bổ sung kinh phí."}, format="json")
    assert response.status_code == 201
    assert response.json()["author"]["username"] == "province-head"
    assert response.json()["state"] == "submitted"
    assert_error(head.post(url, {"text": "   "}, format="json"), 400)
    listed = api(doc.drafter).get(url).json()
    assert [c["text"] for c in listed] == ["Đề nghị bổ sung kinh phí."]
    # A member of the unit cannot see a document under review.
    assert_error(api(org.person("province", Role.MEMBER)).post(url, {"text": "x"},
                                                                 format="json"), 404)


@pytest.fixture
def bare_transitions(monkeypatch):
    """Sign and issue as plain transitions: the PAdES pipeline (signing/) has its own tests."""
    monkeypatch.setattr(services, "ACTION_HANDLERS", {})


def test_full_flow_over_api(org, bare_transitions):
    specialist = api(org.person("province", Role.SPECIALIST))
    doc = new_doc(client=specialist, org=org)
    pk = doc["id"]

    def act(client, action, **payload):
        return client.post(f"/api/documents/{pk}/transitions/{action}/", payload, format="json")

    assert act(specialist, "submit", expected_state="draft").json()["state"] == "submitted"
    head = api(org.person("province", Role.HEAD))
    response = act(head, "forward", expected_state="submitted", comment="Đồng ý")
    assert response.json()["state"] == "reviewed"
    leader = api(org.person("province", Role.LEADER))
    assert set(leader.get(f"/api/documents/{pk}/").json()["allowed_actions"]) >= {
        "approve", "return"}
    assert act(leader, "approve").json()["state"] == "approved"
    assert act(leader, "sign").json()["state"] == "signed"
    clerk = api(org.person("province", Role.CLERK))
    issued = act(clerk, "issue", expected_state="signed").json()
    assert issued["state"] == "issued"
    assert issued["symbol"] == "01/KH-MTTQ-BTT"
    assert issued["number"] == 1
    assert "archive" in issued["allowed_actions"]

    entries = specialist.get(f"/api/documents/{pk}/history/").json()
    assert [e["action"] for e in entries] == [
        "document.create", "document.submit", "document.forward", "document.approve",
        "document.sign", "document.issue",
    ]
    assert entries[2]["comment"] == "Đồng ý"
    assert entries[2]["actor"]["username"] == "province-head"
    assert len(entries) == history(Document.objects.get(pk=pk)).count()


def test_transition_errors(org):
    specialist = api(org.person("province", Role.SPECIALIST))
    pk = new_doc(specialist, org)["id"]
    url = f"/api/documents/{pk}/transitions/"
    assert_error(specialist.post(url + "fly/", {}, format="json"), 400, "invalid")
    body = assert_error(specialist.post(url + "withdraw/", {}, format="json"), 400)
    assert "reason" in body["message"].lower()
    assert specialist.post(url + "submit/", {"expected_state": "draft"},
                           format="json").status_code == 200
    # The second click finds the state moved on: refused once, clearly.
    body = assert_error(specialist.post(url + "submit/", {"expected_state": "draft"},
                                        format="json"), 409, "conflict")
    assert "not applied again" in body["message"]
    assert_error(specialist.post(url + "submit/", {"expected_state": "nowhere"},
                                 format="json"), 400)
    body = assert_error(api(org.person("province", Role.LEADER)).post(
        url + "forward/", {}, format="json"), 403, "forbidden")
    assert "Forward" in body["message"]
    head = api(org.person("province", Role.HEAD))
    assert_error(head.post(url + "return/", {"comment": ""}, format="json"), 400)
    response = head.post(url + "return/", {"comment": "Sửa lại số liệu"}, format="json")
    assert response.json()["state"] == "returned"
    assert_error(head.get(url + "return/"), 405)


def test_sign_refusal_from_a_handler_is_readable_json(org):
    if "sign" not in services.ACTION_HANDLERS:
        pytest.skip("no signing pipeline registered")
    doc = advance(org, draft(org), "approved")
    response = api(org.person("province", Role.LEADER)).post(
        f"/api/documents/{doc.pk}/transitions/sign/", {"expected_state": "approved"},
        format="json")
    assert response.status_code in (400, 409)
    assert_error(response, response.status_code)
    doc.refresh_from_db()
    assert doc.state == "approved"


def test_inbox_per_person(org):
    submitted = advance(org, draft(org, subject="Chờ trưởng ban"), "submitted")
    reviewed = advance(org, draft(org, subject="Chờ duyệt"), "reviewed")
    signed = advance(org, draft(org, subject="Chờ phát hành"), "signed")

    def inbox(role):
        response = api(org.person("province", role)).get("/api/inbox/")
        assert response.status_code == 200
        return {d["id"] for d in response.json()["results"]}

    assert inbox(Role.HEAD) == {submitted.pk}
    assert inbox(Role.LEADER) == {reviewed.pk}
    assert inbox(Role.CLERK) == {signed.pk}
    assert inbox(Role.MEMBER) == set()
    row = api(org.person("province", Role.CLERK)).get("/api/inbox/").json()["results"][0]
    assert row["allowed_actions"] == ["comment", "issue", "view"]


# --- reference data -------------------------------------------------------------------------


def test_document_types_and_units(org):
    client = api(org.person("commune", Role.MEMBER))
    types = client.get("/api/document-types/").json()
    assert {t["code"] for t in types} >= {"cong-van", "ke-hoach"}
    assert next(t for t in types if t["code"] == "ke-hoach")["abbreviation"] == "KH"

    merge_units([org.units["commune2"]], into=org.units["commune"])
    units = client.get("/api/units/").json()
    by_code = {u["code"]: u for u in units}
    assert [u["path"] for u in units] == sorted(u["path"] for u in units)
    province, district = by_code["t-province"], by_code["t-district"]
    assert province["parent"] is None
    assert province["level"] == "tinh" and province["level_rank"] == 0
    assert district["parent"] == province["id"]
    assert district["depth"] == province["depth"] + 1
    assert district["path"].startswith(province["path"])
    merged = by_code["t-commune2"]
    assert merged["active"] is False
    assert merged["merged_into"] == by_code["t-commune"]["id"]
    assert by_code["t-commune"]["active"] is True


# --- errors, schema, docs -------------------------------------------------------------------


def test_unknown_address_and_method_are_json(org):
    client = api(org.person("province", Role.SPECIALIST))
    assert_error(client.get("/api/nothing-here/"), 404, "not_found")
    assert_error(client.delete("/api/documents/"), 405)
    # Outside /api/ the ordinary page stays.
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert not page["Content-Type"].startswith("application/json")


def test_messages_follow_the_language(org):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="vi")
    english = APIClient(HTTP_ACCEPT_LANGUAGE="en").get("/api/documents/").json()["message"]
    vietnamese = client.get("/api/documents/").json()["message"]
    assert english == "Sign in first, or send an API token."
    # Translated once the Vietnamese catalogue has the message; never empty.
    assert vietnamese


def test_schema_and_docs_are_served_without_cdn(org):
    client = APIClient()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    spec = schema.json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/documents/", "/api/documents/{id}/transitions/{action}/",
                 "/api/documents/{id}/files/", "/api/auth/token/", "/api/units/"):
        assert path in spec["paths"], path
    assert {"knoxApiToken", "cookieAuth"} <= set(spec["components"]["securitySchemes"])
    for page in ("/api/docs/", "/api/redoc/"):
        html = client.get(page).content.decode()
        assert "drf_spectacular_sidecar" in html
        assert "cdn." not in html and "unpkg" not in html


def test_schema_validates_without_warnings(tmp_path):
    with override_settings(LANGUAGE_CODE="en"):
        call_command("spectacular", "--validate", "--fail-on-warn",
                     "--file", str(tmp_path / "schema.yml"))
    assert (tmp_path / "schema.yml").read_text().startswith("openapi: 3")


def test_views_only_reach_documents_through_services(org):
    """The API module never writes models itself (thin views)."""
    import inspect

    from workflow.api import views

    source = inspect.getsource(views)
    for forbidden in (".save(", ".create(", ".update(", ".delete(", "objects.get("):
        assert forbidden not in source, forbidden
    assert services.perform  # the transition endpoint's entry point exists
