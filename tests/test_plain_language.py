"""No page of the main journeys shows an event code or an untranslated message id.

The pages are rendered in Vietnamese (what people see); their text is checked for
audit event codes (``signing.signed``, ``meeting.paper.changed``) and for English
message ids of the catalogue whose Vietnamese differs (an untranslated string).
"""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation

from signing.models import PdfStage, SignedPdf
from tests.factories import PASSWORD, advance, draft
from tests.meeting_helpers import people, published
from workflow.audit.labels import LABELS, describe, label
from workflow.audit.models import AuditEntry
from workflow.documents import services

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=False)]

PO = Path(settings.BASE_DIR) / "locale" / "vi" / "LC_MESSAGES" / "django.po"
EVENT_CODE = re.compile(r"\b(?:document|signing|meeting|vote|task|file|unit|membership|records)"
                        r"\.[a-z_]+(?:\.[a-z_]+)*\b")
TAGS = re.compile(r"<(script|style)[^>]*>.*?</\1>|<[^>]+>", re.S)


@pytest.fixture(scope="module")
def english_ids(django_db_blocker):
    from workflow.organisation.management.commands.compile_translations import compile_catalogue

    compile_catalogue(PO)
    translation.trans_real._translations = {}
    translation.trans_real._default = None
    ids = set()
    for entry in polib.pofile(str(PO)).translated_entries():
        msgid = entry.msgid
        # Sentences and phrases of three words or more: short ones ("View", "Key") can
        # occur in Vietnamese text or in names.
        if entry.msgid_plural or "%" in msgid or "{" in msgid or len(msgid.split()) < 3:
            continue
        if entry.msgstr and entry.msgstr != msgid:
            ids.add(msgid)
    return ids


def page_text(response) -> str:
    html = response.content.decode()
    html = re.sub(r'<script type="application/json".*?</script>', "", html, flags=re.S)
    return unescape(TAGS.sub(" ", html))


def check(response, english_ids, where: str) -> None:
    assert response.status_code == 200, where
    text = page_text(response)
    codes = EVENT_CODE.findall(text)
    assert not codes, f"{where}: event codes shown: {codes[:5]}"
    untranslated = sorted(m for m in english_ids if m in text)
    assert not untranslated, f"{where}: untranslated: {untranslated[:5]}"


def test_every_recorded_code_has_a_label():
    """The codes the services write are all named in workflow/audit/labels.py."""
    import subprocess

    found = subprocess.run(
        ["grep", "-rhoE", r"record\([^,]+, \"[a-z_.]+\"", "workflow", "signing"],
        capture_output=True, text=True, cwd=settings.BASE_DIR).stdout
    codes = {line.rsplit('"', 2)[-2] for line in found.splitlines() if '"' in line}
    document_codes = {c for c in codes if c.split(".")[0] in (
        "document", "signing", "meeting", "vote", "task", "file", "records")}
    missing = sorted(c for c in document_codes if c not in LABELS)
    assert not missing, missing


def test_history_details_are_words():
    with translation.override("vi"):
        entry = AuditEntry(action="signing.signed",
                           comment="PDF 1 pages, SHA-256 " + "ab" * 32)
        described = describe(entry)
        assert described.label == "Đã ký số vào bản PDF"
        assert "1 trang" in described.detail and "pages" not in described.detail
        assert label("meeting.paper.changed") != "meeting.paper.changed"
        assert label("something.unknown") == "Thay đổi khác"
        assert translation.gettext("No.") == "Số"


def test_main_journey_pages_in_vietnamese(client, signing_env, english_ids):
    org, leader, clerk = signing_env["org"], signing_env["leader"], signing_env["clerk"]
    doc = advance(org, draft(org, type_code="ke-hoach", subject="Kế hoạch tổ chức hội nghị",
                             body="<p>Nội dung.</p>"), "approved")
    services.perform(leader, doc.pk, "sign", expected_state="approved")
    services.perform(clerk, doc.pk, "issue", expected_state="signed")
    waiting = advance(org, draft(org, type_code="ke-hoach", subject="Kế hoạch chờ ký",
                                 body="<p>Nội dung.</p>"), "approved")
    meeting = published(org)
    cast = people(org)
    pages = {
        leader: ["/", f"/documents/{doc.pk}/", f"/documents/{waiting.pk}/",
                 f"/signing/documents/{waiting.pk}/sign/", "/documents/",
                 f"/meetings/{meeting.pk}/", "/meetings/"],
        clerk: ["/", f"/documents/{doc.pk}/"],
        cast["delegate"]: ["/", f"/meetings/{meeting.pk}/"],
        cast["secretary"]: ["/", f"/meetings/{meeting.pk}/"],
    }
    with translation.override("vi"):
        for person, urls in pages.items():
            assert client.login(username=person.username, password=PASSWORD)
            # (logging out forgets the cookies, the language with them)
            client.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
            for url in urls:
                check(client.get(url), english_ids, f"{person.username} {url}")
            client.logout()
    # The issued PDF is listed first on the document page, with its links.
    client.login(username=clerk.username, password=PASSWORD)
    html = client.get(f"/documents/{doc.pk}/").content.decode()
    issued = SignedPdf.objects.get(document=doc, stage=PdfStage.ISSUED)
    assert html.index('id="signed-pdfs"') < html.index('id="info-title"')
    assert f"/signing/documents/{doc.pk}/pdfs/{issued.pk}/?download=1" in html
    assert f"/signing/documents/{doc.pk}/pdfs/{issued.pk}/verify/" in html
    response = client.get(f"/signing/documents/{doc.pk}/pdfs/{issued.pk}/?download=1")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_case_file_pages_in_vietnamese(client, org, english_ids,
                                       django_capture_on_commit_callbacks):
    """The pages of workflow/records (issue #22) with their history lists."""
    from tests.records_helpers import issued, registered_incoming
    from workflow.organisation.models import Role
    from workflow.records import services as records

    clerk, leader = org.person("district", Role.CLERK), org.person("district", Role.LEADER)
    unit = org.units["district"]
    plan = records.create_plan(clerk, unit, 2025)
    entry = records.add_plan_entry(clerk, plan.pk, code="01.VP", title="Hồ sơ hội nghị",
                                   retention=10, heading="I. Tổng hợp")
    records.approve_plan(leader, plan.pk)
    copy = records.copy_plan(clerk, unit, 2026)
    doc, incoming = issued(org), registered_incoming(org)
    case_file = records.open_case_file(clerk, unit, code="", title="", plan_entry_id=entry.pk)
    records.file_documents(clerk, case_file.pk, documents=[doc.pk], incoming=[incoming.pk])
    open_one = records.open_case_file(clerk, unit, code="02.VP", title="Hồ sơ đang lập")
    records.close_case_file(clerk, case_file.pk)
    with django_capture_on_commit_callbacks(execute=True):
        handover = records.hand_over(clerk, unit, [case_file.pk])
    urls = ["/records/", "/records/new/", f"/records/{case_file.pk}/", f"/records/{open_one.pk}/",
            "/records/plans/", f"/records/plans/{plan.pk}/", f"/records/plans/{copy.pk}/",
            "/records/handovers/", f"/records/handovers/{handover.pk}/", "/records/appraisal/",
            f"/documents/{doc.pk}/", f"/incoming/{incoming.pk}/"]
    with translation.override("vi"):
        assert client.login(username=clerk.username, password=PASSWORD)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
        for url in urls:
            check(client.get(url), english_ids, f"{clerk.username} {url}")
        page = page_text(client.get(f"/records/{case_file.pk}/"))
        assert "Đã đưa văn bản vào hồ sơ" in page and "Đã nộp lưu" in page
