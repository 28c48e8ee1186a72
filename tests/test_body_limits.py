"""The HTML body: size and nesting bounded before cleaning (issue 23 #7), styles limited to
a short list of safe properties and values (issue 23 #8)."""

from __future__ import annotations

import threading

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from tests.factories import draft
from workflow.documents import html_limits, services
from workflow.documents.errors import InvalidInput

pytestmark = pytest.mark.django_db

NESTED = "<div>" * 200_000 + "x" + "</div>" * 200_000  # about 2.2 MB, the review's attack


def _in_time(fn, seconds: float = 60):
    """Run fn on a thread; a fix that regressed would hold it for minutes (190 s seen),
    so a run past ``seconds`` fails instead of hanging the suite."""
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = fn()
        except Exception as error:  # noqa: BLE001 - handed back to the test
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the body was not refused before cleaning"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _api(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(user)
    return client


# --- #7: size and nesting ----------------------------------------------------------------


def test_deep_nesting_is_refused_before_nh3(settings):
    settings.MTTQ_MAX_BODY_BYTES = 8 * 1024 * 1024  # only the depth is tested here
    with pytest.raises(InvalidInput, match="nests HTML elements too deeply"):
        _in_time(lambda: services.clean_html(NESTED))


def test_moderate_nesting_over_the_limit_is_refused():
    body = "<div>" * 150 + "x" + "</div>" * 150
    with pytest.raises(InvalidInput, match="too deeply"):
        services.clean_html(body)


def test_ordinary_bodies_pass_the_prescan():
    # Unclosed <p>/<li>/<td> are siblings (as the HTML parser sees them), not nesting.
    body = "<p>a" * 500 + "<ul>" + "<li>x" * 500 + "</ul>" + "<table><tr>" + "<td>1" * 300
    html_limits.check_body(body)
    nested_list = "<ul><li>" * 40 + "x" + "</li></ul>" * 40
    assert "x" in services.clean_html(nested_list)


def test_too_many_tags_is_refused():
    with pytest.raises(InvalidInput, match="too many HTML elements"):
        html_limits.check_body("<br>" * 60_000)


def test_too_long_a_body_is_refused():
    with pytest.raises(InvalidInput, match="too long"):
        services.clean_html("<p>" + "ă" * 300_000 + "</p>")  # 600 KB in UTF-8


def test_api_refuses_the_nested_body_with_a_readable_400(org):
    client = _api(org.person("province", "specialist"))
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=8 * 1024 * 1024,
                           MTTQ_MAX_BODY_BYTES=8 * 1024 * 1024):
        # Not on a thread (the test database connection is this thread's); before the
        # fix this request took minutes and then saved the draft.
        response = client.post("/api/documents/", {
            "unit": org.units["province"].pk, "document_type": org.types["ke-hoach"].pk,
            "subject": "Sâu", "body": NESTED}, format="json")
    assert response.status_code == 400, response.content[:300]
    assert "too deeply" in response.json()["message"]


def test_api_refuses_a_9_mb_json_body_with_413(org):
    client = _api(org.person("province", "specialist"))
    response = client.post("/api/documents/", {
        "unit": org.units["province"].pk, "document_type": org.types["ke-hoach"].pk,
        "subject": "Lớn", "body": "<p>" + "a" * (9 * 1024 * 1024) + "</p>"}, format="json")
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert "too large" in response.json()["message"]


def test_form_refuses_a_9_mb_post_with_a_readable_page(client, org):
    client.force_login(org.person("province", "specialist"))
    response = client.post("/documents/new/", {"subject": "Lớn", "body": "a" * (9 * 1024 * 1024)})
    assert response.status_code == 400
    assert b"The request is too large" in response.content


def test_form_shows_the_nesting_error_on_the_field(client, org):
    client.force_login(org.person("province", "specialist"))
    response = client.post("/documents/new/", {
        "unit": org.units["province"].pk, "document_type": org.types["ke-hoach"].pk,
        "drafting_department": "", "subject": "Sâu", "priority": "normal",
        "body": "<div>" * 500 + "x" + "</div>" * 500})
    assert response.status_code == 400
    assert b"nests HTML elements too deeply" in response.content


def test_limits_are_settings(settings):
    settings.MTTQ_MAX_BODY_DEPTH = 5
    with pytest.raises(InvalidInput):
        html_limits.check_body("<div>" * 6)
    html_limits.check_body("<div>" * 5)


# --- #8: styles --------------------------------------------------------------------------


OVERLAY = ('<p style="position:fixed;top:0;left:0;width:100%;height:100%;z-index:9999;'
           'background:url(https://attacker.example/p.png)">Nhấn vào đây</p>')


def test_overlay_and_outside_request_are_dropped():
    cleaned = services.clean_html(OVERLAY)
    for bad in ("position", "z-index", "height", "background", "url(", "attacker"):
        assert bad not in cleaned
    assert "width:100%" in cleaned  # a safe property keeps its safe value


@pytest.mark.parametrize("style", [
    "width: url(https://x.example/a)",
    "text-align: expression(alert(1))",
    "@import url(https://x.example/a.css); text-align: left",
    "margin-left: 10px !important",
    "te\\78t-align: center",
    "font-weight: bold; background-image: url(//x.example/a)",
    "text-decoration: underline url(x)",
    "padding-left: -9999px",
    "width: 10px/**/",
])
def test_unsafe_style_values_are_dropped(style):
    cleaned = services.clean_html(f'<p style="{style}">x</p>')
    for bad in ("url", "expression", "import", "important", "\\", "-9999", "/*", "x.example"):
        assert bad not in cleaned, cleaned


def test_the_editors_formatting_survives():
    body = ('<p style="text-align:center; font-weight: bold">A</p>'
            '<p style="padding-left:40px; text-indent: 1.27cm">B</p>'
            '<table style="border-collapse:collapse; width: 100%"><tbody><tr>'
            '<td style="width:50%; vertical-align: top">C</td></tr></tbody></table>'
            '<span style="text-decoration:underline line-through; font-style: italic">D</span>')
    cleaned = services.clean_html(body)
    for kept in ("text-align:center", "font-weight:bold", "padding-left:40px",
                 "text-indent:1.27cm", "border-collapse:collapse", "width:50%",
                 "vertical-align:top", "text-decoration:underline line-through",
                 "font-style:italic"):
        assert kept in cleaned, (kept, cleaned)


def test_a_saved_draft_keeps_no_overlay(org):
    document = draft(org, body=OVERLAY)
    assert "position" not in document.body and "url(" not in document.body


def test_a_body_stored_before_the_rules_is_cleaned_when_shown(client, org):
    document = draft(org)
    # As saved by the old cleaner: style passed through unfiltered.
    type(document).objects.filter(pk=document.pk).update(body=OVERLAY)
    client.force_login(org.person("province", "specialist"))
    html = client.get(f"/documents/{document.pk}/").content.decode()
    assert "Nhấn vào đây" in html
    assert "attacker.example" not in html and "position:fixed" not in html
