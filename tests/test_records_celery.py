"""The archive package is built by a real Celery worker after the handover commits.

A script hands a closed file over (the request's transaction only queues the task: the
package is still "waiting" when it returns); a worker on the Redis broker builds it; the
same task sent again leaves the built package as it is (idempotent).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.celery_worker import REPO, start_worker, worker_environment

pytestmark = pytest.mark.celery

REDIS_DB = int(os.environ.get("RECORDS_TEST_REDIS_DB", "11"))

CREATE = r"""
import django, json
django.setup()
from tests.factories import make_org
from tests.records_helpers import issued, open_file
from workflow.organisation.models import Role
from workflow.records import services
org = make_org()
clerk = org.person("district", Role.CLERK)
case_file = open_file(org)
services.file_documents(clerk, case_file.pk, documents=[issued(org).pk, issued(org).pk])
services.close_case_file(clerk, case_file.pk)
handover = services.hand_over(clerk, org.units["district"], [case_file.pk])
handover.refresh_from_db()
print(json.dumps({"handover": handover.pk, "status": handover.status}))
"""

CHECK = r"""
import django, hashlib, json, sys
django.setup()
from workflow.records.models import Handover
h = Handover.objects.get(pk=int(sys.argv[1]))
digest = ""
if h.package:
    with h.package.open("rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
print(json.dumps({"status": h.status, "sha256": h.package_sha256, "file_sha256": digest,
                  "attempts": h.attempts, "error": h.error}))
"""


def _state(env, pk: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHECK, str(pk)], cwd=REPO, env=env, check=True,
                         capture_output=True, timeout=120)
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def _wait(env, pk: int, predicate, seconds: float = 180) -> dict:
    deadline = time.monotonic() + seconds
    state = _state(env, pk)
    while time.monotonic() < deadline and not predicate(state):
        time.sleep(1)
        state = _state(env, pk)
    return state


def test_package_built_by_the_worker_after_commit_and_only_once(tmp_path):
    with worker_environment(tmp_path, REDIS_DB) as env:
        created = subprocess.run([sys.executable, "-c", CREATE], cwd=REPO, env=env, check=True,
                                 capture_output=True, timeout=300)
        info = json.loads(created.stdout.decode().strip().splitlines()[-1])
        assert info["status"] == "pending"  # not built in the request
        worker = start_worker(env)
        try:
            state = _wait(env, info["handover"], lambda s: s["status"] in ("ready", "failed"))
            assert state["status"] == "ready", state
            assert state["sha256"] == state["file_sha256"] and len(state["sha256"]) == 64
            assert state["attempts"] == 1
            subprocess.run([sys.executable, "-m", "celery", "-A", "config", "call",
                            "records.build_package", "--args", json.dumps([info["handover"]])],
                           cwd=REPO, env=env, check=True, capture_output=True, timeout=60)
            time.sleep(5)
            again = _state(env, info["handover"])
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
        assert again == state  # the second message found the package built and kept it
