"""Smoke of the production topology (scripts/run-production.sh), run on demand.

Starts nginx, two gunicorn nodes, two workers and beat under supervisord against
PostgreSQL and Redis, waits for /healthz (workers included), downloads a document
through nginx (X-Accel-Redirect: nginx sends the bytes Django allowed), and stops.
About a minute on a first run (migrations), so it runs only with RUN_TOPOLOGY_SMOKE=1
and a PostgreSQL DATABASE_URL (its database is ``<name>_topology``, kept between runs).
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys

import pytest

from benchmarks import topology

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("RUN_TOPOLOGY_SMOKE") != "1",
                       reason="on demand: RUN_TOPOLOGY_SMOKE=1 (starts nginx, gunicorn, Celery)"),
    pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                       reason="needs DATABASE_URL=postgres://..."),
]

PORT, WEB = 8490, (8491, 8492)

MAKE = r"""
import json, sys
from pathlib import Path
from benchmarks import topology
topology.setup_django(Path(sys.argv[1]))
from django.core.files.uploadedfile import SimpleUploadedFile
from tests.factories import draft, make_org, pdf_bytes
from workflow.documents import services
from workflow.documents.models import FileVersion
from workflow.organisation.models import Unit
if not Unit.objects.filter(code="t-province").exists():
    make_org()
from workflow.organisation.models import User
drafter = User.objects.get(username="province-specialist")
from workflow.documents.models import DocumentType
types = {t.code: t for t in DocumentType.objects.all()}
doc = services.create_document(drafter, unit=Unit.objects.get(code="t-province"), data={
    "subject": "Smoke", "document_type": types.get("cong-van") or next(iter(types.values())),
    "body": "<p>x</p>"})
data = pdf_bytes("smoke", pages=3)
services.add_file(drafter, doc.pk, upload=SimpleUploadedFile("bien ban.pdf", data), kind="main")
version = FileVersion.objects.get(file__document=doc)
print(json.dumps({"doc": doc.pk, "version": version.pk, "size": len(data),
                  "cookie": topology.session_for(drafter),
                  "other": topology.session_for(User.objects.get(username="commune-specialist"))}))
"""


def _get(port: int, path: str, cookie: str = "") -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Cookie": f"sessionid={cookie}"})
        answer = conn.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        conn.close()


def test_topology_starts_serves_a_download_through_nginx_and_stops(tmp_path):
    from tests.celery_worker import redis_up

    if not redis_up():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    base = os.environ["DATABASE_URL"].rsplit("/", 1)
    redis_db = os.environ.get("SEARCH_TEST_REDIS_DB", "6")
    import redis

    redis.Redis.from_url(f"redis://127.0.0.1:6379/{redis_db}").flushdb()
    prod = tmp_path / "production"
    try:
        topology.start(prod, port=PORT, web_ports=WEB,
                       database_url=f"{base[0]}/{base[1].split('?')[0]}_topology",
                       cache_url=f"redis://127.0.0.1:6379/{redis_db}",
                       broker_url=f"redis://127.0.0.1:6379/{redis_db}",
                       extra_env={"MTTQ_HEARTBEAT_SECONDS": "2", "MTTQ_PRODUCTION": "0"})
        health = topology.wait_healthy(PORT, timeout=90)
        assert health["status"] == "ok"
        assert set(health["checks"]["workers"]["heartbeat_age_seconds"]) == {"celery", "indexing"}

        made = json.loads(subprocess.run(
            [sys.executable, "-c", MAKE, str(prod)], cwd=topology.ROOT, check=True,
            capture_output=True, timeout=120).stdout.decode().strip().splitlines()[-1])
        from django.urls import reverse

        path = reverse("documents:download", args=[made["doc"], made["version"]])
        status, headers, body = _get(PORT, path, made["cookie"])
        assert status == 200
        assert body.startswith(b"%PDF") and len(body) == made["size"]
        # nginx sent it: the redirect header is consumed, Django's headers are kept.
        assert "X-Accel-Redirect" not in headers
        assert headers["Content-Type"] == "application/pdf"
        assert headers["Content-Disposition"].startswith("inline")
        assert headers["Cache-Control"] == "private"
        assert "frame-ancestors 'self'" in headers["Content-Security-Policy"]
        # Straight to a node: Django answered with the redirect only.
        status, headers, body = _get(WEB[0], path, made["cookie"])
        assert status == 200 and body == b""
        assert headers["X-Accel-Redirect"].startswith("/_protected/")
        # Refused in Django, so nginx never looks at the file; the internal location is closed.
        assert _get(PORT, path, made["other"])[0] == 404
        assert _get(PORT, headers["X-Accel-Redirect"])[0] == 404
        assert _get(PORT, "/metrics")[0] == 200
    finally:
        topology.stop(prod)
    with pytest.raises(OSError):
        _get(PORT, "/healthz")
