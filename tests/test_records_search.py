"""Case files in search: documents filterable by file code, the case-file list by code."""

from __future__ import annotations

import pytest

from search import service
from tests.records_helpers import issued, open_file, registered_incoming
from workflow.organisation.models import Role
from workflow.records import services

pytestmark = pytest.mark.django_db(transaction=True)

WORDS = "hội nghị đại đoàn kết"


def keys(results):
    return {(h.kind, h.id) for h in results.hits}


def test_search_by_file_code(org, client):
    clerk = org.person("district", Role.CLERK)
    a = issued(org, subject="Kế hoạch hội nghị đại đoàn kết")
    b = issued(org, subject="Báo cáo hội nghị đại đoàn kết")
    other = issued(org, subject="Thông báo hội nghị đại đoàn kết")
    incoming = registered_incoming(org, subject="Giấy mời hội nghị đại đoàn kết")
    first = open_file(org, code="01.VP")
    second = open_file(org, code="02.VP", title="Hồ sơ khác")
    services.file_documents(clerk, first.pk, documents=[a.pk, b.pk], incoming=[incoming.pk])
    services.file_documents(clerk, second.pk, documents=[other.pk])

    assert {("document", a.pk), ("document", b.pk), ("document", other.pk)} <= keys(
        service.search(clerk, WORDS))
    found = service.search(clerk, WORDS, filters={"file": ["01.vp"]})
    assert keys(found) == {("document", a.pk), ("document", b.pk), ("incoming", incoming.pk)}
    assert keys(service.search(clerk, "", filters={"file": [first.file_code]})) == keys(found)
    # The specialist sees the issued documents but not the incoming one.
    specialist = org.person("district", Role.SPECIALIST)
    assert keys(service.search(specialist, WORDS, filters={"file": ["01.VP"]})) == {
        ("document", a.pk), ("document", b.pk)}
    # Another district's clerk finds nothing with the code.
    assert not service.search(org.person("district2", Role.CLERK), WORDS,
                              filters={"file": ["01.VP"]}).hits
    # Taking a document out, or renaming the file's code, follows in the index.
    services.remove_item(clerk, first.pk, first.items.get(document=b).pk)
    services.edit_case_file(clerk, second.pk, title="Hồ sơ khác", code="03.VP", retention=5)
    assert ("document", b.pk) not in keys(service.search(clerk, WORDS, filters={"file": ["01.VP"]}))
    assert keys(service.search(clerk, WORDS, filters={"file": ["03.VP"]})) == {
        ("document", other.pk)}
    assert not service.search(clerk, WORDS, filters={"file": ["02.VP"]}).hits
    # The search page takes ?file= and shows a chip; the API too.
    client.force_login(clerk)
    page = client.get("/search/", {"q": WORDS, "file": "01.VP"}).content.decode()
    assert "file-scope" in page and a.subject in page and other.subject not in page
    api = client.get("/api/search/", {"q": WORDS, "file": "03.VP"}).json()
    assert [r["id"] for r in api["results"]] == [other.pk]
    # The case-file list: searchable by title or code, filterable by exact code.
    listing = client.get("/records/", {"code": "01.vp"}).content.decode()
    assert "Hồ sơ hội nghị đại đoàn kết" in listing and "Hồ sơ khác" not in listing
    assert "Hồ sơ khác" in client.get("/records/", {"q": "03"}).content.decode()
