"""A real Celery worker on the Redis broker, killed in the middle of a batch.

Everything runs in subprocesses sharing one file-based SQLite database and one
index directory: a script creates documents (each change queues an index task
on the broker), a worker starts, is SIGKILLed while it works through the
queue, and a second worker finishes. Late acknowledgement plus idempotent
tasks must leave every document indexed exactly once, at its latest version.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.celery_worker import REPO, start_worker, worker_environment

pytestmark = pytest.mark.celery

REDIS_DB = int(os.environ.get("SEARCH_TEST_REDIS_DB", "13"))

CREATE = r"""
import django, json
django.setup()
from tests.factories import make_org, draft, advance
from workflow.documents import services
from workflow.organisation.models import Role
org = make_org()
ids = []
for i in range(40):
    unit = ["province", "district", "commune", "commune2"][i % 4]
    d = draft(org, unit, subject=f"Kế hoạch giám sát số {i} về an sinh xã hội")
    if i % 3 == 0:
        d = advance(org, d, "submitted")
    if i % 5 == 0:
        services.add_comment(d.drafter, d.pk, text=f"Bình luận lần {i}")
    ids.append(d.pk)
print(json.dumps(ids))
"""

CHECK = r"""
import django, json
django.setup()
from search import indexer
from search.service import get_backend
from tantivy import Query
b = get_backend()
b.refresh()
searcher = b.index_obj.searcher()
res = searcher.search(Query.all_query(), limit=100000, count=True)
keys = [searcher.doc(a).get_first("key") for _s, a in res.hits]
print(json.dumps({"db": indexer.db_versions(), "index": b.versions(), "keys": keys}))
"""


@pytest.fixture
def env(tmp_path):
    with worker_environment(tmp_path, REDIS_DB) as environment:
        yield environment


def _state(env) -> dict:
    out = subprocess.run([sys.executable, "-c", CHECK], cwd=REPO, env=env, check=True,
                         capture_output=True, timeout=120)
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def _queue_length(env) -> int:
    import redis

    client = redis.Redis.from_url(env["CELERY_BROKER_URL"])
    # Index tasks are routed to the indexing queue (settings.CELERY_TASK_ROUTES).
    return client.llen("celery") + client.llen("indexing")


def test_worker_killed_mid_batch_leaves_every_document_indexed_once(env):
    created = subprocess.run([sys.executable, "-c", CREATE], cwd=REPO, env=env, check=True,
                             capture_output=True, timeout=300)
    ids = json.loads(created.stdout.decode().strip().splitlines()[-1])
    queued = _queue_length(env)
    assert queued >= len(ids)  # every change queued a task; nothing indexed in-process

    first = start_worker(env)
    index_dir = Path(env["SEARCH_INDEX_DIR"])
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            # Killed a few tasks in: a fast machine may drain the queue in under a second.
            if _queue_length(env) <= queued - 3:
                break
            time.sleep(0.01)
        assert _queue_length(env) > 0, "the worker finished before it could be killed"
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    assert index_dir.exists()

    second = start_worker(env)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            state = _state(env)
            if _queue_length(env) == 0 and state["db"] == state["index"]:
                break
            time.sleep(1)
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        try:
            second.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(second.pid, signal.SIGKILL)
    state = _state(env)
    assert set(state["db"]) == {f"document:{i}" for i in ids}
    assert state["index"] == state["db"]  # every document, at its latest version
    assert sorted(state["keys"]) == sorted(set(state["keys"]))  # exactly once
    assert len(state["keys"]) == len(ids)
