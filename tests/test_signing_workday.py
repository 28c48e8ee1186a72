"""A leader's signing day: approve and sign in one step, sign several at once, and the
messages that say who acts next."""

from __future__ import annotations

import pytest

from signing.models import BatchItemStatus, BatchKind, BatchRun, PdfStage, SignedPdf
from signing.validation import verify_pdf
from tests.factories import advance, draft
from workflow.audit.models import AuditEntry
from workflow.documents.models import Document

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=False)]


@pytest.fixture
def env(signing_env, settings):
    settings.SIGNING_BATCH_BACKGROUND = False
    return signing_env


def _doc(org, target, subject="Kế hoạch tổ chức Ngày hội"):
    return advance(org, draft(org, type_code="ke-hoach", subject=subject,
                              body="<p>Nội dung.</p>"), target)


def test_approve_and_sign_in_one_step(env, client):
    org, leader, clerk = env["org"], env["leader"], env["clerk"]
    doc = _doc(org, "reviewed")
    client.force_login(leader)
    page = client.get(f"/documents/{doc.pk}/").content.decode()
    assert 'data-action="approve_sign"' in page and 'id="sign-dialog"' in page
    response = client.post(f"/signing/documents/{doc.pk}/approve-sign/",
                           {"expected_state": "reviewed", "comment": "Đồng ý"}, follow=True)
    doc.refresh_from_db()
    assert doc.state == "signed" and doc.approver == leader
    assert SignedPdf.objects.filter(document=doc, stage=PdfStage.SIGNED).exists()
    text = response.content.decode()
    # The message names the clerk who numbers and issues it next.
    assert "approved and digitally signed" in text and str(clerk) in text


def test_refused_signature_leaves_the_approval_undone(env, client, settings):
    org, leader = env["org"], env["leader"]
    doc = _doc(org, "reviewed")
    settings.SIGNING_TSA_URL = "http://127.0.0.1:9/"  # nobody answers
    client.force_login(leader)
    client.post(f"/signing/documents/{doc.pk}/approve-sign/", {"expected_state": "reviewed"})
    doc.refresh_from_db()
    assert doc.state == "reviewed"
    assert AuditEntry.objects.filter(action="signing.sign.refused").exists()


def test_batch_sign_with_progress(env, client, django_capture_on_commit_callbacks):
    org, leader = env["org"], env["leader"]
    docs = [_doc(org, "approved", f"Kế hoạch số {i}") for i in range(3)]
    other = _doc(org, "reviewed", "Chưa phê duyệt")
    client.force_login(leader)
    inbox = client.get("/").content.decode()
    assert 'data-testid="open-batch-sign"' in inbox
    page = client.get("/signing/batch-sign/").content.decode()
    assert all(d.subject in page for d in docs) and other.subject not in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/signing/batch-sign/",
                               {"documents": [d.pk for d in docs] + [other.pk]})
    run = BatchRun.objects.get()
    assert run.kind == BatchKind.SIGN
    assert response.url.endswith(f"/signing/batch-issue/{run.token}/")
    status = client.get(f"/signing/batch-issue/{run.token}/status/").json()
    assert status["finished"] and status["total"] == 4 and status["issued"] == 3
    assert status["failed"] == 1
    assert [i["status"] for i in status["items"]].count(BatchItemStatus.SIGNED) == 3
    for doc in docs:
        assert Document.objects.get(pk=doc.pk).state == "signed"
        assert verify_pdf(SignedPdf.objects.get(document=doc, stage=PdfStage.SIGNED).read()).ok
    assert Document.objects.get(pk=other.pk).state == "reviewed"


def test_submit_message_names_the_reviewer(env, client):
    org = env["org"]
    doc = draft(org, type_code="ke-hoach", subject="Kế hoạch", body="<p>Nội dung.</p>")
    client.force_login(doc.drafter)
    response = client.post(f"/documents/{doc.pk}/actions/submit/", follow=True)
    head = org.person("province", "head")
    assert "Now waiting for review by" in response.content.decode()
    assert str(head) in response.content.decode()
