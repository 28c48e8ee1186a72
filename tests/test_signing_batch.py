"""Batch issue with progress: BatchRun/BatchItem, the Celery task, the pages and JSON endpoint."""

from __future__ import annotations

import pytest
from django.db import transaction

from signing import batch
from signing import services as signing_services
from signing.models import BatchItem, BatchItemStatus, BatchRun, BatchStatus, PdfStage, SignedPdf
from signing.validation import verify_pdf
from tests.factories import advance, draft
from workflow.documents import services
from workflow.documents.errors import InvalidInput
from workflow.documents.models import Document

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=False)]


@pytest.fixture
def env(signing_env, settings):
    # Run the task synchronously in the on-commit callback (no thread in tests).
    settings.SIGNING_BATCH_BACKGROUND = False
    return signing_env


def signed(env, subject: str = "Tổ chức Ngày hội Đại đoàn kết") -> Document:
    org = env["org"]
    doc = advance(org, draft(org, type_code="ke-hoach", subject=subject), "approved")
    return services.perform(env["leader"], doc.pk, "sign")


def approved(env) -> Document:
    org = env["org"]
    return advance(org, draft(org, type_code="ke-hoach", subject="Chưa ký"), "approved")


def test_batch_goes_on_after_a_failure_and_reports_it(env, client,
                                                      django_capture_on_commit_callbacks):
    clerk = env["clerk"]
    first, second = signed(env, "Văn bản một"), signed(env, "Văn bản hai")
    unsigned = approved(env)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = batch.start_batch_issue(clerk, [first.pk, unsigned.pk, second.pk, first.pk])
    # Ours first; issuing adds its own (search reindexing) as it goes.
    assert callbacks[0].__qualname__.startswith("start_batch")
    run.refresh_from_db()
    assert run.status == BatchStatus.DONE and run.started_at and run.finished_at
    items = list(run.items.order_by("position"))
    assert [i.document_id for i in items] == [first.pk, unsigned.pk, second.pk]
    assert [i.status for i in items] == ["issued", "failed", "issued"]
    assert items[1].message and not items[1].symbol
    assert items[0].symbol.startswith("01/KH-") and items[2].symbol.startswith("02/KH-")
    for doc in (first, second):
        pdf = SignedPdf.objects.get(document=doc, stage=PdfStage.ISSUED)
        assert verify_pdf(pdf.read()).ok
    assert Document.objects.get(pk=unsigned.pk).state == "approved"

    client.force_login(clerk)
    data = client.get(f"/signing/batch-issue/{run.token}/status/").json()
    assert data["finished"] and data["status"] == "done"
    assert (data["total"], data["done"], data["issued"], data["failed"]) == (3, 3, 2, 1)
    assert data["summary"] == "3 of 3 processed: 2 issued, 1 failed."
    failed = data["items"][1]
    assert failed["status"] == "failed" and failed["message"] == items[1].message
    assert failed["pdf_url"] == ""
    ok = data["items"][0]
    assert ok["symbol"] == items[0].symbol
    assert ok["pdf_url"] == f"/signing/documents/{first.pk}/pdf/issued/"
    assert client.get(ok["pdf_url"]).status_code == 200
    page = client.get(f"/signing/batch-issue/{run.token}/").content.decode()
    assert "js/batch-progress.js" in page and items[1].message in page
    assert items[0].symbol in page and "Issued PDF" in page


def test_progress_is_visible_while_the_batch_runs(env, client, monkeypatch,
                                                  django_capture_on_commit_callbacks):
    clerk = env["clerk"]
    docs = [signed(env, f"Văn bản {n}") for n in range(3)]
    client.force_login(clerk)
    seen = []
    original = signing_services.issue_document

    def watching(user, pk, *args, **kwargs):
        # What the page's poll would get just before each document is issued.
        run = BatchRun.objects.get()
        seen.append(client.get(f"/signing/batch-issue/{run.token}/status/").json())
        return original(user, pk, *args, **kwargs)

    monkeypatch.setattr(signing_services, "issue_document", watching)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post("/signing/batch-issue/",
                               {"documents": [str(d.pk) for d in docs]})
    run = BatchRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/signing/batch-issue/{run.token}/"
    # Queued on commit, not before.
    assert run.status == BatchStatus.QUEUED and len(callbacks) == 1
    queued = client.get(f"/signing/batch-issue/{run.token}/status/").json()
    assert (queued["done"], queued["total"], queued["finished"]) == (0, 3, False)
    callbacks[0]()
    assert [s["done"] for s in seen] == [0, 1, 2]
    assert all(s["status"] == "running" and not s["finished"] for s in seen)
    assert seen[1]["items"][0]["status"] == "issued" and seen[1]["items"][1]["status"] \
        == "pending"
    final = client.get(f"/signing/batch-issue/{run.token}/status/").json()
    assert (final["done"], final["issued"], final["finished"]) == (3, 3, True)


def test_a_crashing_batch_reports_the_documents_left(env, monkeypatch):
    clerk = env["clerk"]
    docs = [signed(env, f"Văn bản {n}") for n in range(3)]
    run = batch.start_batch_issue(clerk, [d.pk for d in docs])

    def crash(user, pks, progress=None):
        progress(1, len(pks), {"pk": pks[0], "ok": True, "symbol": "01/KH-X", "message": ""})
        raise RuntimeError("database went away")

    monkeypatch.setattr(signing_services, "issue_many", crash)
    with pytest.raises(RuntimeError):
        batch.process_batch(run.pk)
    run.refresh_from_db()
    assert run.status == BatchStatus.DONE
    statuses = list(run.items.order_by("position").values_list("status", "message"))
    assert statuses[0] == ("issued", "")
    assert [s for s, _m in statuses[1:]] == ["failed", "failed"]
    assert all("nothing was issued" in m for _s, m in statuses[1:])
    # A finished batch is not run again (e.g. a redelivered task).
    assert batch.process_batch(run.pk) == {"issued": 0, "failed": 0}


def test_a_redelivered_task_resumes_with_the_waiting_documents(env):
    clerk = env["clerk"]
    first, second = signed(env, "Một"), signed(env, "Hai")
    run = batch.start_batch_issue(clerk, [first.pk, second.pk])
    # A worker died after the first document: its item is done, the run still "running".
    services.perform(clerk, first.pk, "issue")
    BatchItem.objects.filter(run=run, document=first).update(status=BatchItemStatus.ISSUED,
                                                            symbol="01/KH-MTTQ-BTT")
    BatchRun.objects.filter(pk=run.pk).update(status=BatchStatus.RUNNING)
    assert batch.process_batch(run.pk) == {"issued": 1, "failed": 0}
    assert list(run.items.values_list("status", flat=True)) == ["issued", "issued"]
    assert Document.objects.get(pk=second.pk).number == 2


def test_dispatch_uses_the_broker_or_a_background_thread(env, settings, monkeypatch):
    from signing import tasks

    sent, threads = [], []
    monkeypatch.setattr(tasks.run_batch_issue, "delay", lambda run_id: sent.append(run_id))
    monkeypatch.setattr(batch, "_start_thread", lambda run_id: threads.append(run_id))
    settings.CELERY_TASK_ALWAYS_EAGER = False
    batch.dispatch(41)
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.SIGNING_BATCH_BACKGROUND = True
    batch.dispatch(42)
    assert sent == [41] and threads == [42]


def test_nothing_is_queued_when_the_transaction_rolls_back(env,
                                                          django_capture_on_commit_callbacks):
    doc = signed(env)
    with (django_capture_on_commit_callbacks(execute=True) as callbacks,
          pytest.raises(RuntimeError), transaction.atomic()):
        batch.start_batch_issue(env["clerk"], [doc.pk])
        raise RuntimeError("rolled back")
    assert callbacks == [] and not BatchRun.objects.exists()
    assert Document.objects.get(pk=doc.pk).state == "signed"


def test_bad_choices_and_other_people_get_clear_answers(env, client):
    clerk, org = env["clerk"], env["org"]
    with pytest.raises(InvalidInput):
        batch.start_batch_issue(clerk, [])
    with pytest.raises(InvalidInput):
        batch.start_batch_issue(clerk, ["x", None])
    # A document the clerk cannot see is not revealed, nor put in the batch.
    other = draft(org, unit="district2", subject="Không thấy được")
    with pytest.raises(InvalidInput):
        batch.start_batch_issue(clerk, [other.pk])
    client.force_login(clerk)
    response = client.post("/signing/batch-issue/", {"documents": []}, follow=True)
    assert response.status_code == 200
    assert "Choose at least one document to issue." in response.content.decode()
    assert not BatchRun.objects.exists()
    # Only the clerk who started a batch sees it.
    run = batch.start_batch_issue(clerk, [signed(env).pk])
    client.force_login(env["leader"])
    assert client.get(f"/signing/batch-issue/{run.token}/status/").status_code == 404
    assert client.get(f"/signing/batch-issue/{run.token}/").status_code == 404
    client.logout()
    assert client.get(f"/signing/batch-issue/{run.token}/status/").status_code == 302


def test_someone_who_may_not_issue_gets_each_refusal_reported(env):
    doc = signed(env)
    run = batch.start_batch_issue(env["leader"], [doc.pk])
    batch.process_batch(run.pk)
    item = run.items.get()
    assert item.status == BatchItemStatus.FAILED and item.message
    assert Document.objects.get(pk=doc.pk).state == "signed"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_browser_shows_progress_of_a_background_batch(signing_env, live_server, monkeypatch,
                                                      settings):
    """No broker: the batch runs in a background thread and the page follows it live."""
    import time
    from pathlib import Path

    from tests.conftest import CHROMIUM
    from tests.test_signing_browser import session

    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.SIGNING_BATCH_BACKGROUND = True
    docs = [signed(signing_env, f"Văn bản số {n}") for n in range(3)]
    # The middle one's signed PDF was damaged on disk: refused, the others go on.
    damaged = SignedPdf.objects.get(document=docs[1], stage=PdfStage.SIGNED)
    Path(damaged.blob.path).write_bytes(b"%PDF-1.7 damaged")
    original = signing_services.issue_document

    def slow(*args, **kwargs):
        time.sleep(0.8)  # long enough for the page to poll while the batch runs
        return original(*args, **kwargs)

    monkeypatch.setattr(signing_services, "issue_document", slow)
    # Launched here, not by the shared ``browser`` fixture: Playwright's event loop must
    # not be running yet while the documents above are signed (pyHanko uses asyncio.run).
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            context, page = session(browser, live_server.url, signing_env["clerk"].username)
            page.goto(live_server.url + "/signing/batch-issue/")
            page.click("[data-testid=batch-issue]")
            page.wait_for_url("**/signing/batch-issue/*-*/")
            assert page.get_attribute("#batch-progress", "data-finished") == "0"
            page.wait_for_selector('#batch-progress[data-finished="1"]', timeout=60_000)
            rows = page.locator("[data-batch=items] tr")
            assert rows.count() == 3
            statuses = [rows.nth(i).get_attribute("data-status") for i in range(3)]
            assert statuses == ["issued", "failed", "issued"]
            failure = BatchItem.objects.get(document=docs[1]).message
            assert failure and failure in rows.nth(1).inner_text()
            assert page.locator("[data-batch=bar]").evaluate("e => [e.value, e.max]") == [3, 3]
            links = page.locator("[data-batch=items] a[href$='/pdf/issued/']")
            assert links.count() == 2
            context.close()
        finally:
            browser.close()
    run = BatchRun.objects.get()
    assert run.status == BatchStatus.DONE
    assert [d.state for d in Document.objects.filter(pk__in=[d.pk for d in docs])
            .order_by("pk")] == ["issued", "signed", "issued"]
