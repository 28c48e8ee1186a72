"""Boundary values in query parameters never give a 500 (security review, issue 23 #9).

Every list endpoint is found in the URLconf (a GET route without path arguments), and
every parameter any list view reads is sent to it with huge, negative, non-numeric,
empty and repeated values, first all at once (with and without DRF's ``format``) and
then the huge and negative ones one at a time. Anything but a
5xx passes: a page, a 400 with a readable message, a redirect or a 404.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from workflow.query import KNOWN_PARAMETERS

pytestmark = pytest.mark.django_db

HUGE = "9" * 40
VALUES = [HUGE, "-1", "-" + HUGE, "abc", "", "1e400", "0x10", "٣", "²", "\x00", "2024-13-45"]

# Routes that are no lists: actions, logout, the schema documents, language switch.
SKIP = ("admin/", "i18n/", "accounts/logout/", "accounts/login/", "api/schema/",
        "api/docs/", "api/redoc/", "api/auth/token/", "signing/profile/image/")


def list_endpoints() -> list[str]:
    """Every route without path arguments, as a path."""
    found: list[str] = []

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            route = str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + route)
            elif isinstance(entry, URLPattern):
                if "<" in route or "(" in route or "^" in route:
                    continue
                path = prefix + route
                if path.startswith(SKIP) or path.endswith("/new/"):
                    continue
                found.append("/" + path)

    walk(get_resolver().url_patterns, "")
    return sorted(set(found))


# Lists behind a path argument, with the argument filled in.
WITH_ARGUMENTS = ["/oversight/export.csv", "/oversight/export.xlsx",
                  *(f"/oversight/drill/{metric}/" for metric in (
                      "supervisions", "critiques", "signed", "paperless", "voters_forwarded",
                      "dialogue_resolved", "periodic_reports"))]
ENDPOINTS = list_endpoints() + WITH_ARGUMENTS


def test_the_walk_finds_the_lists_of_the_review():
    for path in ("/api/documents/", "/search/", "/oversight/critiques/",
                 "/oversight/supervisions/", "/meetings/report/paperless/", "/api/search/",
                 "/documents/", "/oversight/", "/meetings/"):
        assert path in ENDPOINTS, path


@pytest.fixture
def clients(org):
    # A 500 is a response here, not an exception, so every try is reported.
    browser = APIClient(HTTP_ACCEPT_LANGUAGE="en", raise_request_exception=False)
    browser.force_login(org.person("province", "leader"))
    return browser


@pytest.mark.parametrize("path", ENDPOINTS)
def test_boundary_values_never_give_a_500(clients, path):
    names = sorted(KNOWN_PARAMETERS)
    tries = []
    for value in VALUES:
        tries.append({name: value for name in names})
        # Repeated: two values for every parameter, both orders.
        tries.append({name: [value, "1"] for name in names})
        tries.append({name: ["1", value] for name in names})
    # Without ``format`` too: DRF answers an unknown one with a 404 before its view reads
    # anything, which would hide every other value from the API lists.
    for value in VALUES:
        tries.append({name: value for name in names if name != "format"})
    # One at a time, the values that reach number parsing and the database (an early 400
    # for one parameter would hide the others; non-numbers are dropped the same way alone
    # as together).
    for name in names:
        for value in (HUGE, "-1"):
            tries.append({name: value})
    failures = []
    for params in tries:
        response = clients.get(path, params)
        if response.status_code >= 500:
            failures.append((params, response.status_code))
    assert not failures, failures[:5]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_anonymous_requests_never_give_a_500(db, path):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en", raise_request_exception=False)
    response = client.get(path, {"unit": HUGE, "year": "-1"})
    assert response.status_code < 500, (path, response.status_code)
    # 405: an endpoint that only takes POST (the verify API) refuses the GET itself.
    assert response.status_code in (200, 302, 401, 403, 404, 405), (path, response.status_code)


def test_tinymce_helper_routes_are_gone(client):
    # flatpages_link_list and filebrowser crashed for anonymous callers; the editor
    # needs neither (no flatpages, no filebrowser, no compressor).
    for path in ("/tinymce/flatpages_link_list/", "/tinymce/filebrowser/",
                 "/tinymce/compressor/"):
        assert client.get(path).status_code == 404


def test_huge_year_on_the_api_is_a_readable_400(clients):
    response = clients.get("/api/documents/", {"year": HUGE})
    assert response.status_code == 400
    assert "year" in response.json().get("fields", {})
