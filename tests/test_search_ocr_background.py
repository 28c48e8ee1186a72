"""The quick start's OCR path, for real: a file-queue broker and a Celery worker process.

``scripts/run.sh`` sets ``CELERY_BROKER_URL=filesystem://`` and starts a worker. Here a
script uploads a scanned picture the way a request does; the upload only queues work
(no text extracted, no OCR in the "request"), then a worker reads the scan with
tesseract and the document becomes findable by its words.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.test_search_ocr import LINES, scanned_image

pytestmark = [pytest.mark.celery, pytest.mark.skipif(
    not shutil.which("tesseract"), reason="tesseract-ocr (with tesseract-ocr-vie) is needed")]

REPO = Path(settings.BASE_DIR)

UPLOAD = r"""
import base64, json, sys, django
django.setup()
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from search.models import ExtractedText
from tests.factories import make_org, draft
from workflow.documents import services
org = make_org()
document = draft(org, "province", subject="Ảnh chụp công văn")
data = base64.b64decode(sys.stdin.read())
with transaction.atomic():
    services.add_file(document.drafter, document.pk,
                      upload=SimpleUploadedFile("scan.png", data), kind="attachment")
print(json.dumps({"id": document.pk, "user": document.drafter.pk,
                  "extracted": ExtractedText.objects.count()}))
"""

CHECK = r"""
import json, sys, django
django.setup()
from search import service
from search.models import ExtractedText
from workflow.organisation.models import User
record = ExtractedText.objects.first()
user = User.objects.get(pk=int(sys.argv[1]))
hits = [h.id for h in service.search(user, "phan bien xa hoi").hits] if record else []
print(json.dumps({"method": record.method if record else None, "hits": hits,
                  "pending": record.ocr_pending if record else None}))
"""


@pytest.fixture
def env(tmp_path):
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CELERY_BROKER_URL": "filesystem://",
        "SEARCH_INDEX_DIR": str(tmp_path / "index"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "MTTQ_VAR_DIR": str(tmp_path),
        "PYTHONPATH": str(REPO),
        "SEARCH_URL": "",
        "ES_URL": "",
        "SEARCH_OCR_SYNC": "",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=REPO,
                   env=environment, check=True, timeout=300)
    return environment


def test_the_upload_only_queues_and_the_worker_reads_the_scan(env, tmp_path):
    image = base64.b64encode(scanned_image(LINES, "PNG")).decode()
    out = subprocess.run([sys.executable, "-c", UPLOAD], cwd=REPO, env=env, input=image,
                         capture_output=True, text=True, check=True, timeout=300)
    uploaded = json.loads(out.stdout.strip().splitlines()[-1])
    # Nothing was read in the upload: the index task (and the OCR after it) are queued.
    assert uploaded["extracted"] == 0
    assert any((tmp_path / "celery-queue").glob("*.msg"))

    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo",
         "-Q", "celery,indexing",
         "--without-gossip", "--without-mingle", "-l", "WARNING"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True)
    try:
        state: dict = {}
        deadline = time.monotonic() + 240  # a polling deadline, not a timing assertion
        while time.monotonic() < deadline:
            check = subprocess.run([sys.executable, "-c", CHECK, str(uploaded["user"])],
                                   cwd=REPO, env=env, capture_output=True, text=True,
                                   check=True, timeout=120)
            state = json.loads(check.stdout.strip().splitlines()[-1])
            if state["hits"]:
                break
            time.sleep(1)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    assert state.get("method") == "image+ocr", state
    assert state["hits"] == [uploaded["id"]]
