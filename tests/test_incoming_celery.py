"""A real Celery worker killed in the middle of delivering one document to 130 units.

Like tests/test_search_celery.py: subprocesses share one file-based SQLite
database; a script issues a document to 130 communes (the delivery task goes to
the Redis broker), a worker starts and is SIGKILLed once some deliveries are
committed, then a second worker (the redelivered message, or the reconcile task
sent here as the beat would) finishes. Exactly 130 deliveries must remain, each
with its incoming record, and the file verified once.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.celery_worker import REPO, start_worker, worker_environment

pytestmark = pytest.mark.celery

REDIS_DB = int(os.environ.get("INCOMING_TEST_REDIS_DB", "12"))

CREATE = r"""
import django, json
django.setup()
from tests.factories import make_org, draft, advance, pdf_bytes, upload
from workflow.documents import services
from workflow.organisation.services import create_unit
org = make_org()
units = [create_unit(name=f"Ủy ban MTTQ xã {i:03d}", code=f"xa-{i:03d}", level=org.levels["xa"],
                     abbreviation="MTTQ-BTT", parent=org.units["province"]) for i in range(130)]
d = draft(org, "province", subject="Kế hoạch gửi 130 xã")
services.add_file(d.drafter, d.pk, upload=upload("kh.pdf", pdf_bytes("KH", pages=3)), kind="main")
services.update_document(d.drafter, d.pk, data={}, recipient_unit_ids=[u.pk for u in units])
d = advance(org, d, "issued")
print(json.dumps({"document": d.pk}))
"""

CHECK = r"""
import django, json, sys
django.setup()
from workflow.incoming.models import Delivery, IncomingDocument, IncomingFile
doc = int(sys.argv[1])
print(json.dumps({
    "deliveries": Delivery.objects.filter(document_id=doc).count(),
    "units": Delivery.objects.filter(document_id=doc).values("unit").distinct().count(),
    "incoming": IncomingDocument.objects.filter(delivery__document_id=doc).count(),
    "verdicts": list(IncomingFile.objects.values_list("verdict", flat=True)),
}))
"""


@pytest.fixture
def env(tmp_path):
    # One unit per transaction: the kill lands between committed chunks.
    with worker_environment(tmp_path, REDIS_DB, INCOMING_DELIVERY_CHUNK="1") as environment:
        yield environment


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2) as conn:
            return conn.execute("select count(*) from incoming_delivery").fetchone()[0]
    except sqlite3.OperationalError:
        return -1


def _state(env, doc: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHECK, str(doc)], cwd=REPO, env=env, check=True,
                         capture_output=True, timeout=120)
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def test_worker_killed_during_delivery_to_130_units_leaves_exactly_130(env, tmp_path):
    created = subprocess.run([sys.executable, "-c", CREATE], cwd=REPO, env=env, check=True,
                             capture_output=True, timeout=300)
    doc = json.loads(created.stdout.decode().strip().splitlines()[-1])["document"]
    db = tmp_path / "db.sqlite3"
    assert _count(db) == 0  # nothing delivered in-process: the task is on the broker

    first = start_worker(env)
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            if _count(db) > 0:
                break
            time.sleep(0.005)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    killed_at = _count(db)
    assert 0 < killed_at < 130, f"killed with {killed_at} deliveries: not mid-way"

    second = start_worker(env)
    try:
        # What the beat would do every few minutes; the redelivered message may win.
        subprocess.run([sys.executable, "-m", "celery", "-A", "config", "call",
                        "incoming.reconcile"], cwd=REPO, env=env, check=True,
                       capture_output=True, timeout=60)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            state = _state(env, doc)
            if state["deliveries"] == 130 and state["verdicts"] and "" not in state["verdicts"]:
                break
            time.sleep(1)
        time.sleep(4)  # let a late duplicate message run too: it must create nothing
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        try:
            second.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(second.pid, signal.SIGKILL)
    state = _state(env, doc)
    assert state["deliveries"] == 130
    assert state["units"] == 130
    assert state["incoming"] == 130
    assert len(state["verdicts"]) == 1 and state["verdicts"][0] != ""
