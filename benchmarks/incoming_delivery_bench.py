"""Benchmark: one issued document delivered to 130 and to 3,321 units, one Celery worker.

For each size: a province document with a 2-page body is signed by the leader and
issued by the clerk through the real signing pipeline (DEMO PKI, PAdES B-LTA seal),
with N commune units as recipients. The issue commits and queues the delivery on
the Redis broker; ONE worker (solo pool, as on a 2-core machine) runs it. Measured
from the commit of the issue until every delivery exists (with its incoming record
and file link) and the delivered PDF's signature check is stored; the search
indexing the same worker does afterwards is reported separately.

    .venv/bin/python benchmarks/incoming_delivery_bench.py [--sizes 130,3321] [--redis-db 9]

Runs in a throw-away directory (SQLite database, media, PKI; or ``--database-url``
for PostgreSQL) and needs Redis on 127.0.0.1:6379. Figures are printed; nothing is
asserted. Wall-clock figures are only meaningful on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup(workdir: Path, broker: str, database_url: str | None) -> dict:
    env = {
        "MTTQ_VAR_DIR": str(workdir),
        "DATABASE_URL": database_url or f"sqlite:///{workdir / 'bench.sqlite3'}",
        "CELERY_BROKER_URL": broker,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SEARCH_URL": "", "ES_URL": "",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    return {**os.environ, **env, "PYTHONPATH": str(ROOT)}


def make_units(org, n: int, tag: str) -> list[int]:
    from workflow.organisation.models import Unit

    parent = org.units["province"]
    units = Unit.objects.bulk_create([
        Unit(name=f"Ủy ban MTTQ Việt Nam xã {tag} {i:04d}", code=f"bench-{tag}-{i}",
             abbreviation="MTTQ-BTT", level=org.levels["xa"], parent=parent)
        for i in range(n)])
    for unit in units:
        unit.path = f"{parent.path}{unit.pk}/"
    Unit.objects.bulk_update(units, ["path"], batch_size=1000)
    return [u.pk for u in units]


def issued_document(org, recipients: list[int], tag: str):
    from tests.factories import advance, draft
    from workflow.documents import services
    from workflow.organisation.models import Role

    body = "".join("<p>Đề nghị Ủy ban Mặt trận Tổ quốc các xã triển khai thực hiện kế hoạch, "
                   "báo cáo kết quả về Ban Thường trực đúng thời hạn.</p>" for _ in range(30))
    from workflow.documents.models import DocumentRecipient

    document = draft(org, "province", subject=f"Kế hoạch gửi {tag} đơn vị", body=body,
                     external_recipients="Ủy ban MTTQ các xã, phường (theo danh sách)")
    document = advance(org, document, "approved")
    services.perform(org.person("province", Role.LEADER), document.pk, "sign")
    # Named after signing: the renderer's "Nơi nhận" block cannot split over pages and
    # fails with a hundred unit names or more (a limitation of signing/render.py found
    # here); recipients are not part of the approved content, so issuing is unaffected.
    DocumentRecipient.objects.bulk_create([DocumentRecipient(document=document, unit_id=u)
                                           for u in recipients], batch_size=1000)
    started = time.perf_counter()
    document = services.perform(org.person("province", Role.CLERK), document.pk, "issue")
    return document, started


def worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo",
         "-Q", "celery,indexing",
         "--prefetch-multiplier", "1", "--without-gossip", "--without-mingle", "-l", "WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="130,3321")
    parser.add_argument("--redis-db", type=int, default=int(os.environ.get(
        "SEARCH_TEST_REDIS_DB", "9")))
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="mttq-incoming-bench-"))
    broker = f"redis://127.0.0.1:6379/{args.redis_db}"
    import redis

    queue = redis.Redis.from_url(broker)
    queue.flushdb()
    env = setup(workdir, broker, args.database_url)

    from signing import pki
    from signing.demo import attach_key, attach_seal
    from tests.factories import make_org
    from workflow.incoming.models import Delivery, IncomingDocument, IncomingFile, Verdict

    org = make_org()
    leader = org.person("province", "leader")
    demo = pki.build(workdir / "signing-pki", [
        pki.EndEntity("leader", str(leader)),
        pki.EndEntity("seal", org.units["province"].name,
                      organisation=org.units["province"].name, kind="seal")])
    attach_key(leader, demo, "leader", image=True)
    attach_seal(org.units["province"], demo, "seal")
    print(f"Incoming delivery benchmark ({os.cpu_count()} CPUs, one Celery worker, solo pool, "
          f"{'PostgreSQL' if args.database_url else 'SQLite'}, Redis broker; load average "
          f"{os.getloadavg()[0]:.1f})")
    print(f"{'units':>6}  {'delivered':>9}  {'verified':>8}  {'both':>6}  {'indexed':>8}  "
          f"{'per unit':>9}  verdict")
    proc = worker(env)
    try:
        for n in [int(s) for s in args.sizes.split(",") if s.strip()]:
            recipients = make_units(org, n, str(n))
            document, started = issued_document(org, recipients, str(n))
            delivered = verified = None
            while True:
                now = time.perf_counter()
                if delivered is None and Delivery.objects.filter(document=document).count() == n \
                        and IncomingDocument.objects.filter(
                            delivery__document=document).count() == n:
                    delivered = now - started
                files = IncomingFile.objects.filter(uses__incoming__delivery__document=document
                                                    ).distinct()
                if verified is None and files.exists() and not files.filter(
                        verdict=Verdict.PENDING).exists():
                    verified = now - started
                if delivered is not None and verified is not None:
                    break
                if now - started > 1800:
                    raise SystemExit("gave up after 30 minutes")
                time.sleep(0.05)
            while queue.llen("celery") + queue.llen("indexing") > 0:
                time.sleep(0.2)
            indexed = time.perf_counter() - started
            verdicts = sorted(set(files.values_list("verdict", flat=True)))
            both = max(delivered, verified)
            print(f"{n:>6}  {delivered:>8.2f}s  {verified:>7.2f}s  {both:>5.2f}s  "
                  f"{indexed:>7.1f}s  {both / n * 1000:>7.2f}ms  {','.join(verdicts)}",
                  flush=True)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=60)
        queue.flushdb()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
