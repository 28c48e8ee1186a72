"""Access history (Decree 30, Appendix VI): downloads and page views are audited."""

from __future__ import annotations

import datetime as dt
import hashlib
from unittest import mock

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from signing.models import PdfStage, SignedPdf
from tests.factories import PASSWORD, advance, draft, pdf_bytes
from workflow import access
from workflow.audit import access_log
from workflow.audit.models import AuditEntry
from workflow.documents import services
from workflow.documents.models import FileVersion
from workflow.organisation.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    from django.test import Client

    return Client(HTTP_ACCEPT_LANGUAGE="en")


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def entries(document, action: str):
    return AuditEntry.objects.filter(object_id=str(document.pk), action=action,
                                     content_type__model="document")


@pytest.fixture
def doc(org):
    """An approved document with a main PDF: the drafter, leader and clerk all see it."""
    document = draft(org)
    services.add_file(document.drafter, document.pk,
                      upload=SimpleUploadedFile("ke-hoach.pdf", pdf_bytes("v1")), kind="main")
    return advance(org, document, "approved")


def version_of(document) -> FileVersion:
    return FileVersion.objects.get(file__document=document)


# --- downloads ------------------------------------------------------------------------------


def test_every_download_is_recorded(client, org, doc):
    clerk = org.person("province", Role.CLERK)
    login(client, clerk)
    version = version_of(doc)
    url = reverse("documents:download", args=[doc.pk, version.pk])
    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 200
        b"".join(response.streaming_content)
    recorded = list(entries(doc, access_log.DOWNLOAD))
    assert len(recorded) == 2  # downloads are never merged
    assert all(e.actor == clerk and e.version_hash == version.sha256 for e in recorded)
    assert recorded[0].comment == "ke-hoach.pdf (v1)"
    assert recorded[0].from_state == recorded[0].to_state == "approved"


def test_refused_downloads_record_nothing(client, org, doc):
    login(client, org.person("district2", Role.LEADER))  # another unit: cannot see it
    url = reverse("documents:download", args=[doc.pk, version_of(doc).pk])
    assert client.get(url).status_code == 404
    login(client, org.person("province", Role.LEADER))
    assert client.get(reverse("documents:download", args=[doc.pk, 999999])).status_code == 404
    assert not entries(doc, access_log.DOWNLOAD).exists()


def test_api_download_is_recorded(org, doc):
    leader = org.person("province", Role.LEADER)
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.force_authenticate(leader)
    version = version_of(doc)
    response = api.get(f"/api/documents/{doc.pk}/versions/{version.pk}/download/")
    assert response.status_code == 200, response.content
    entry = entries(doc, access_log.DOWNLOAD).get()
    assert entry.actor == leader and entry.comment == "ke-hoach.pdf (v1) (API)"
    assert entry.version_hash == version.sha256


def test_signing_pdf_download_is_recorded(client, org, doc):
    data = pdf_bytes("signed")
    pdf = SignedPdf(document=doc, stage=PdfStage.SIGNED, sha256=hashlib.sha256(data).hexdigest(),
                    size=len(data), page_count=1, content_hash="h")
    pdf.blob.save("signed.pdf", ContentFile(data), save=False)
    pdf.save()
    leader = org.person("province", Role.LEADER)
    login(client, leader)
    response = client.get(reverse("signing:pdf", args=[doc.pk, "signed"]) + "?download=1")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    entry = entries(doc, access_log.DOWNLOAD).get()
    assert entry.actor == leader and entry.version_hash == pdf.sha256
    assert entry.comment == f"{doc.pk}-signed.pdf"
    # A stage that has no PDF yet is a 404 and no record.
    assert client.get(reverse("signing:pdf", args=[doc.pk, "issued"])).status_code == 404
    assert entries(doc, access_log.DOWNLOAD).count() == 1


# --- page views -----------------------------------------------------------------------------


FROZEN = dt.datetime(2025, 5, 19, 8, 0, tzinfo=dt.UTC)


def test_views_are_recorded_once_per_person_and_hour(client, org, doc):
    leader = org.person("province", Role.LEADER)
    url = reverse("documents:detail", args=[doc.pk])
    login(client, leader)
    with mock.patch("django.utils.timezone.now", return_value=FROZEN):
        for _ in range(3):
            assert client.get(url).status_code == 200
    assert entries(doc, access_log.VIEW).count() == 1
    with mock.patch("django.utils.timezone.now",
                    return_value=FROZEN + dt.timedelta(minutes=59)):
        client.get(url)
    assert entries(doc, access_log.VIEW).count() == 1
    with mock.patch("django.utils.timezone.now",
                    return_value=FROZEN + dt.timedelta(minutes=61)):
        client.get(url)
    assert entries(doc, access_log.VIEW).count() == 2
    # Another person's view is their own record.
    login(client, org.person("province", Role.CLERK))
    with mock.patch("django.utils.timezone.now",
                    return_value=FROZEN + dt.timedelta(minutes=62)):
        client.get(url)
    viewers = set(entries(doc, access_log.VIEW).values_list("actor__username", flat=True))
    assert viewers == {"province-leader", "province-clerk"}


def test_invisible_document_view_records_nothing(client, org, doc):
    login(client, org.person("district2", Role.LEADER))
    assert client.get(reverse("documents:detail", args=[doc.pk])).status_code == 404
    assert not entries(doc, access_log.VIEW).exists()


def test_record_view_service(org, doc):
    leader = org.person("province", Role.LEADER)
    now = timezone.now()
    assert access_log.record_view(doc, leader, now=now)
    assert not access_log.record_view(doc, leader, now=now + dt.timedelta(minutes=30))
    from django.contrib.auth.models import AnonymousUser

    assert not access_log.record_view(doc, AnonymousUser())


# --- who sees the access history ------------------------------------------------------------


def _history_html(client, user, document) -> str:
    login(client, user)
    html = client.get(reverse("documents:detail", args=[document.pk])).content.decode()
    start = html.index('id="history"')
    return html[start:html.index("</section>", start)]


def test_downloads_in_timeline_only_for_leaders_and_clerks(client, org, doc):
    specialist = org.person("province", Role.SPECIALIST)
    login(client, specialist)
    client.get(reverse("documents:download", args=[doc.pk, version_of(doc).pk]))
    assert entries(doc, access_log.DOWNLOAD).count() == 1

    for role in (Role.LEADER, Role.CLERK):
        part = _history_html(client, org.person("province", role), doc)
        assert "tl-access" in part and "ke-hoach.pdf (v1)" in part
        assert "Downloaded a file" in part
        assert "Viewed the document" not in part  # views are kept in the log, not listed
    for user in (specialist, org.person("province", Role.HEAD)):
        part = _history_html(client, user, doc)
        assert "tl-access" not in part and "ke-hoach.pdf (v1)" not in part
        assert "Approved the document" in part  # the state history as before
    assert access.can_see_access_history(org.person("province", Role.CLERK), doc)
    assert not access.can_see_access_history(org.person("district", Role.LEADER), doc)


def test_api_history_follows_the_same_rule(org, doc):
    access_log.record_download(doc, org.person("province", Role.SPECIALIST), name="x.pdf")
    access_log.record_view(doc, org.person("province", Role.SPECIALIST))

    def actions(user) -> list[str]:
        api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
        api.force_authenticate(user)
        response = api.get(f"/api/documents/{doc.pk}/history/")
        assert response.status_code == 200
        return [e["action"] for e in response.json()]

    leader_sees = actions(org.person("province", Role.LEADER))
    assert access_log.DOWNLOAD in leader_sees and access_log.VIEW not in leader_sees
    drafter_sees = actions(org.person("province", Role.SPECIALIST))
    assert access_log.DOWNLOAD not in drafter_sees and "document.approve" in drafter_sees
