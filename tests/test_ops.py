"""Operations (issue 17): files served by nginx after Django decides, /healthz, /metrics."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from django.core.cache import caches
from django.urls import reverse

from tests.factories import PASSWORD, draft, pdf_bytes, upload
from tests.meeting_helpers import people, published
from workflow.documents import services as documents
from workflow.documents.models import FileVersion
from workflow.meetings.services import links as meetings
from workflow.ops import health, metrics

ROOT = Path(__file__).resolve().parent.parent


def _document_with_file(org):
    doc = draft(org)
    documents.add_file(doc.drafter, doc.pk, upload=upload("kế hoạch.pdf", pdf_bytes("x")),
                       kind="main")
    return doc, FileVersion.objects.get(file__document=doc)


# --- files: X-Accel-Redirect behind nginx, streamed by Django otherwise ----------------------


@pytest.mark.parametrize("behind_nginx", [False, True])
def test_document_download_in_both_modes(client, org, settings, behind_nginx):
    settings.MTTQ_X_ACCEL = behind_nginx
    doc, version = _document_with_file(org)
    client.force_login(doc.drafter)
    url = reverse("documents:download", args=[doc.pk, version.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert "filename*=utf-8''k%E1%BA%BF%20ho%E1%BA%A1ch.pdf" in response["Content-Disposition"]
    if behind_nginx:
        # Only headers: nginx reads the file from the internal location.
        assert response.content == b""
        target = response["X-Accel-Redirect"]
        assert target == "/_protected/" + quote(version.blob.name)
        assert (Path(settings.MEDIA_ROOT) / unquote(target[len("/_protected/"):])).is_file()
    else:
        assert "X-Accel-Redirect" not in response
        assert b"".join(response.streaming_content).startswith(b"%PDF")
    # The decision stays in Django: someone else's unit gets nothing, in both modes.
    client.force_login(org.person("commune", "specialist"))
    refused = client.get(url)
    assert refused.status_code == 404
    assert "X-Accel-Redirect" not in refused


@pytest.mark.parametrize("behind_nginx", [False, True])
def test_missing_file_is_the_same_error_in_both_modes(client, org, settings, behind_nginx):
    settings.MTTQ_X_ACCEL = behind_nginx
    doc, version = _document_with_file(org)
    version.blob.storage.delete(version.blob.name)
    client.force_login(doc.drafter)
    response = client.get(reverse("documents:download", args=[doc.pk, version.pk]))
    assert response.status_code == 404
    assert "X-Accel-Redirect" not in response


@pytest.mark.parametrize("behind_nginx", [False, True])
def test_meeting_paper_full_check_and_room_link_in_both_modes(client, org, settings,
                                                              behind_nginx):
    settings.MTTQ_X_ACCEL = behind_nginx
    cast = people(org)
    meeting = published(org)
    paper = meeting.papers.first()
    assert client.login(username=cast["delegate"].username, password=PASSWORD)
    url = reverse("meetings:paper_file", args=[paper.pk])
    full = client.get(url, {"download": "1"})
    assert full.status_code == 200
    assert full["Content-Disposition"].startswith("attachment")
    assert ("X-Accel-Redirect" in full) is behind_nginx
    # The room state's link (a token for this session) goes through the same helper.
    state = client.get(reverse("meetings:room_state", args=[meeting.pk])).json()
    link = next(p["view_url"] for item in state["items"] for p in item["papers"]
                if p.get("view_url"))
    token = re.search(r"t%3D([^&%]+)|[?&]t=([^&]+)", link)
    assert token
    fast = client.get(url, {"t": token.group(1) or token.group(2)})
    assert fast.status_code == 200
    assert ("X-Accel-Redirect" in fast) is behind_nginx
    assert fast["ETag"] == f'"{meetings.paper_file_version(paper).sha256}"'


@pytest.mark.parametrize("behind_nginx", [False, True])
def test_api_download_in_both_modes(org, settings, behind_nginx):
    from rest_framework.test import APIClient

    settings.MTTQ_X_ACCEL = behind_nginx
    doc, version = _document_with_file(org)
    api = APIClient()
    api.force_authenticate(doc.drafter)
    response = api.get(f"/api/documents/{doc.pk}/versions/{version.pk}/download/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert ("X-Accel-Redirect" in response) is behind_nginx


def test_every_file_serving_view_goes_through_the_one_helper():
    """No view builds a FileResponse itself: all stored files go through serve_file."""
    offenders = []
    for path in [*ROOT.glob("workflow/**/*.py"), *ROOT.glob("signing/**/*.py"),
                 *ROOT.glob("search/**/*.py")]:
        if path.name == "files.py" and path.parent.name == "ops":
            continue
        if "FileResponse(" in path.read_text(encoding="utf-8"):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


@pytest.mark.django_db
def test_a_path_outside_the_media_folder_is_never_redirected(settings, tmp_path):
    from django.core.files.storage import FileSystemStorage
    from django.db.models.fields.files import FieldFile

    from workflow.ops.files import serve_file

    settings.MTTQ_X_ACCEL = True
    outside = tmp_path / "outside.pdf"
    outside.write_bytes(b"%PDF-1.7")
    (tmp_path / "media").mkdir(exist_ok=True)
    # A link planted in the media folder must not make nginx serve what it points at.
    (tmp_path / "media" / "link.pdf").symlink_to(outside)
    storage = FileSystemStorage(location=tmp_path / "media")
    field = FieldFile(None, type("F", (), {"storage": storage})(), "link.pdf")
    response = serve_file(field, content_type="application/pdf")
    assert "X-Accel-Redirect" not in response
    response.close()


# --- /healthz --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_embedded_is_ok_and_says_nothing_sensitive(client, settings):
    settings.DATABASES["default"]["PASSWORD"] = "secret-pw"
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {"database", "cache", "broker", "search"} <= set(body["checks"])
    assert body["checks"]["broker"]["kind"] == "in-process"
    text = response.content.decode()
    for secret in ("secret-pw", "postgres://", "redis://", str(settings.MEDIA_ROOT),
                   str(settings.SEARCH_INDEX_DIR)):
        assert secret not in text
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_healthz_fails_with_503_when_the_database_does_not_answer(client, monkeypatch):
    def broken():
        raise RuntimeError("could not connect to server at 10.0.0.5 password=x")

    monkeypatch.setattr(health, "_check_database", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"]["ok"] is False
    assert "10.0.0.5" not in response.content.decode()


@pytest.fixture
def redis_broker(settings):
    from tests.celery_worker import redis_up

    if not redis_up():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    import os

    import redis

    url = f"redis://127.0.0.1:6379/{os.environ.get('SEARCH_TEST_REDIS_DB', '6')}"
    client = redis.Redis.from_url(url)
    for queue in settings.MTTQ_TASK_QUEUES:
        client.delete(queue)
    settings.CELERY_BROKER_URL = url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    yield client
    for queue in settings.MTTQ_TASK_QUEUES:
        client.delete(queue)


@pytest.mark.django_db
def test_healthz_reports_worker_heartbeats_and_queue_lengths(client, settings, redis_broker):
    caches["shared"].delete_many([health.HEARTBEAT_KEY % q for q in settings.MTTQ_TASK_QUEUES])
    redis_broker.rpush("indexing", b"m1", b"m2", b"m3")
    stale = client.get("/healthz")
    assert stale.status_code == 503
    body = stale.json()
    assert body["checks"]["broker"] == {"ok": True, "ms": body["checks"]["broker"]["ms"],
                                        "kind": "redis"}
    assert body["checks"]["workers"]["ok"] is False
    assert body["queues"] == {"celery": 0, "indexing": 3}
    # The proxy's question (can this node serve pages?) is not about workers.
    assert client.get("/healthz", {"scope": "web"}).status_code == 200
    # The beat's heartbeat task, run by a worker of each queue.
    from workflow.ops.tasks import heartbeat

    for queue in settings.MTTQ_TASK_QUEUES:
        heartbeat.run(queue)
    fresh = client.get("/healthz")
    assert fresh.status_code == 200, fresh.json()
    ages = fresh.json()["checks"]["workers"]["heartbeat_age_seconds"]
    assert set(ages) == {"celery", "indexing"}
    assert all(0 <= age < 5 for age in ages.values())


def test_beat_sends_a_heartbeat_to_each_queue_and_routes_indexing_apart(settings):
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "ops.heartbeat"]
    assert sorted(e["options"]["queue"] for e in entries) == ["celery", "indexing"]
    from config.celery import app

    router = app.amqp.router
    for name, queue in [("search.tasks.index_document", "indexing"),
                        ("search.tasks.ocr_file_version", "indexing"),
                        ("incoming.ocr", "indexing"), ("incoming.deliver", "celery"),
                        ("signing.tasks.run_batch_issue", "celery")]:
        route = router.route({}, name)
        assert route["queue"].name == queue, name


# --- /metrics --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_metrics_from_loopback_or_with_the_token_only(client, settings):
    settings.MTTQ_METRICS_TOKEN = "t0ken-for-tests"
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert "mttq_http_request_duration_seconds_bucket" in text
    assert 'view="healthz"' in text
    # Through a proxy the app was not told about, the address proves nothing.
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9",
                      HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9",
                      HTTP_AUTHORIZATION="Bearer t0ken-for-tests").status_code == 200
    settings.MTTQ_METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9",
                      HTTP_AUTHORIZATION="Bearer ").status_code == 403


@pytest.mark.django_db
def test_task_durations_and_failures_are_counted(client):
    from celery import shared_task

    @shared_task(name="tests.ops.boom")
    def boom():
        raise ValueError("boom")

    from workflow.ops.tasks import heartbeat

    heartbeat.apply(args=("celery",))
    assert boom.apply(throw=False).failed()
    text = metrics.exposition().decode()
    assert re.search(r'mttq_celery_task_duration_seconds_count\{state="SUCCESS",'
                     r'task="ops.heartbeat"\} [1-9]', text)
    assert re.search(r'mttq_celery_task_failures_total\{task="tests.ops.boom"\} [1-9]', text)


@pytest.mark.django_db
def test_queue_lengths_are_exported(settings, redis_broker):
    redis_broker.rpush("celery", b"a", b"b")
    text = metrics.exposition().decode()
    assert 'mttq_celery_queue_length{queue="celery"} 2.0' in text
    assert 'mttq_celery_queue_length{queue="indexing"} 0.0' in text
