"""The in-page PDF viewer page: only this site's addresses, at a page, logged in."""

from __future__ import annotations

import pytest

from tests.factories import make_org
from workflow.organisation.models import Role
from workflow.viewer import viewer_url


@pytest.fixture
def member_client(client, db):
    org = make_org()
    client.force_login(org.person("commune", Role.MEMBER))
    return client


def test_viewer_frames_a_same_site_file_at_a_page(member_client):
    url = viewer_url("/documents/5/files/7/download/", 3, title="Kế hoạch giám sát")
    response = member_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-src="/documents/5/files/7/download/"' in html
    assert 'data-page="3"' in html
    assert "Kế hoạch giám sát" in html
    assert 'id="pdf-viewer-i18n"' in html


@pytest.mark.parametrize("src", [
    "https://example.org/x.pdf", "//example.org/x.pdf", "javascript:alert(1)",
    "relative/x.pdf", "/\\example.org/x.pdf", "",
])
def test_viewer_refuses_other_sites(member_client, src):
    response = member_client.get("/view/", {"src": src})
    assert response.status_code == 400


def test_viewer_page_number_is_sanitised(member_client):
    response = member_client.get("/view/", {"src": "/x.pdf", "page": "-4"})
    assert 'data-page="1"' in response.content.decode()


def test_viewer_needs_login(client, db):
    response = client.get("/view/", {"src": "/x.pdf"})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
