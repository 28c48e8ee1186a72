"""Fault soak: a bounded mixed workload on the production topology while parts fail.

Starts its own PostgreSQL cluster (port 5433, data in var/soak/pg, run as the
``postgres`` user) and its own Redis (port 6380, append-only file in var/soak/redis), so
restarting them disturbs nobody else on the machine; then the topology of
scripts/run-production.sh on loopback (nginx :8480 → gunicorn :8481 and :8482, a worker
for the indexing queue, one for signing/deliveries, beat) against them. For
``--duration`` seconds (default 600) it runs, all over HTTP through nginx:

* drafting and the flow: 3 drivers (2 in the province, 1 in a district) create drafts
  through the API with 40 recipient units each, submit, forward, approve, sign and issue
  (step-up with TOTP codes), then download the issued PDF (X-Accel-Redirect);
* searches through the API (2 clients);
* one meeting room with 150 delegates polling its state every second;
* /healthz every second;

and at 15 %, 35 %, 55 % and 75 % of the time: kill -9 the signing/delivery worker right
after an issue (its delivery task in flight), restart Redis, restart PostgreSQL (fast
shutdown), kill -9 one gunicorn node. Afterwards it waits for the system to settle (beat's
reconcile tasks included; no manual repair) and checks: index equals database, every
delivery present exactly once, no duplicate or skipped register number, every issued PDF
verifies; it prints the 5xx and connection-error counts and the longest unavailability
window after each fault. Figures are printed; nothing is asserted.

    .venv/bin/python benchmarks/fault_soak.py [--duration 600] [--keep]

Needs root (the PostgreSQL cluster runs as ``postgres``), nginx, supervisor,
redis-server and PostgreSQL 15 binaries. Everything is under var/soak (removed first).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import topology  # noqa: E402
from benchmarks.soak_servers import (  # noqa: E402
    PG_PORT,
    REDIS_PORT,
    SOAK,
    kill_program,
    pg_restart,
    pg_start,
    pg_stop,
    redis_start,
    redis_stop,
    restarted,
    routing_key,
    task_name,
)

PORT, WEB = 8480, (8481, 8482)
RECIPIENTS, UNITS, DELEGATES = 40, 200, 150


# --- data ----------------------------------------------------------------------------------------


@dataclass
class Cast:
    tokens: dict[str, str] = field(default_factory=dict)      # username → API token
    otp_keys: dict[str, bytes] = field(default_factory=dict)  # username → TOTP key
    units: list[int] = field(default_factory=list)
    type_id: int = 0
    province: int = 0
    district: int = 0
    meeting: int = 0
    delegate_sessions: list[str] = field(default_factory=list)
    sessions: dict[str, str] = field(default_factory=dict)    # username → session key


def build() -> Cast:
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile
    from knox.models import AuthToken

    from benchmarks.incoming_delivery_bench import make_units
    from signing import pki
    from signing.demo import attach_key, attach_seal
    from tests.factories import advance, make_org
    from workflow.accounts import twofactor
    from workflow.documents import services as documents
    from workflow.meetings.pdfs import paper_pdf
    from workflow.meetings.services.agenda import add_agenda_item
    from workflow.meetings.services.papers import attach_paper
    from workflow.meetings.services.schedule import publish_meeting, schedule_meeting
    from workflow.meetings.services.session import start_meeting
    from workflow.organisation.models import Membership, Role, User

    started = time.perf_counter()
    org = make_org()
    cast = Cast(units=make_units(org, UNITS, "soak"), type_id=org.types["cong-van"].pk,
                province=org.units["province"].pk, district=org.units["district"].pk)
    entities = []
    for unit in ("province", "district"):
        leader = org.person(unit, Role.LEADER)
        entities += [pki.EndEntity(f"leader-{unit}", leader.full_name),
                     pki.EndEntity(f"seal-{unit}", org.units[unit].name,
                                   organisation=org.units[unit].name, kind="seal")]
    demo = pki.build(Path(settings.VAR_DIR) / "signing-pki", entities)
    for unit in ("province", "district"):
        attach_key(org.person(unit, Role.LEADER), demo, f"leader-{unit}", image=True)
        attach_seal(org.units[unit], demo, f"seal-{unit}")
        for role in (Role.SPECIALIST, Role.HEAD, Role.LEADER, Role.CLERK):
            user = org.person(unit, role)
            cast.tokens[user.username] = AuthToken.objects.create(user)[1]
            cast.sessions[user.username] = topology.session_for(user)
            if role in (Role.LEADER, Role.CLERK):
                key = os.urandom(20)
                twofactor.enrol_with_secret(user, key)
                cast.otp_keys[user.username] = key
    # The meeting: 150 participants (148 members, the chair and the secretary).
    province = org.units["province"]
    members = User.objects.bulk_create([User(username=f"soak-delegate-{n:03d}",
                                             full_name=f"Đại biểu {n:03d}", password="!")
                                        for n in range(DELEGATES - 2)])
    Membership.objects.bulk_create([Membership(user=u, unit=province, role=Role.MEMBER)
                                    for u in members])
    secretary, chair = org.person("province", Role.SPECIALIST), org.person("province",
                                                                            Role.LEADER)
    meeting = schedule_meeting(
        secretary, unit=province,
        data={"title": "Soak: hội nghị 150 đại biểu", "starts_at": "2030-01-01T08:00",
              "chair": chair, "secretary": secretary, "place": "Hội trường"},
        participant_ids=[u.pk for u in members])
    items = [add_agenda_item(secretary, meeting.pk, data={"title": f"Nội dung {i}"})
             for i in range(1, 4)]
    for n, item in enumerate(items):
        doc = documents.create_document(secretary, unit=province, data={
            "subject": f"Tài liệu họp {n + 1}", "document_type": org.types["bao-cao"],
            "body": "<p>Tài liệu.</p>"})
        documents.add_file(secretary, doc.pk, kind="main", upload=SimpleUploadedFile(
            f"tai-lieu-{n + 1}.pdf", paper_pdf(f"Tài liệu họp {n + 1}", 3)))
        advance(org, doc, "approved")
        attach_paper(secretary, item.pk, document=doc)
    publish_meeting(chair, meeting.pk)
    start_meeting(secretary, meeting.pk)
    cast.meeting = meeting.pk
    cast.delegate_sessions = [topology.session_for(u) for u in [*members, chair]]
    print(f"  data built in {time.perf_counter() - started:.0f} s: {UNITS} recipient units, "
          f"meeting with {DELEGATES} participants", flush=True)
    return cast


# --- the workload --------------------------------------------------------------------------------


@dataclass
class Log:
    rows: list[tuple[float, float, str, int]] = field(default_factory=list)
    faults: list[tuple[str, float, float, str]] = field(default_factory=list)
    issued: list[int] = field(default_factory=list)
    unhealthy: dict[str, int] = field(default_factory=dict)  # /healthz 503s by failing check
    stop: threading.Event = field(default_factory=threading.Event)
    issued_event: threading.Event = field(default_factory=threading.Event)

    def add(self, start: float, kind: str, status: int) -> None:
        self.rows.append((start, time.monotonic(), kind, status))


def totp(key: bytes) -> str:
    from django_otp.oath import totp as oath_totp

    return f"{oath_totp(key):06d}"


class Driver(threading.Thread):
    """One clerk-office pipeline: draft → submit → forward → approve → sign → issue → read."""

    def __init__(self, cast: Cast, log: Log, unit: str, seed: int):
        super().__init__(daemon=True)
        import requests

        self.cast, self.log, self.unit = cast, log, unit
        self.unit_id = cast.province if unit == "province" else cast.district
        self.http = requests.Session()
        self.rng = random.Random(seed)
        self.proved: dict[str, float] = {}
        self.cookie = cast.sessions[f"{unit}-clerk"]
        self.last_step: dict[str, int] = {}

    def call(self, method: str, path: str, who: str, kind: str, **kwargs):
        """One request, retried (after 1 s) on a 5xx or a refused connection, as a person would."""
        import requests

        while not self.log.stop.is_set():
            start = time.monotonic()
            try:
                answer = self.http.request(method, f"http://127.0.0.1:{PORT}{path}", timeout=120,
                                           headers={"Authorization": f"Token "
                                                                     f"{self.cast.tokens[who]}"},
                                           **kwargs)
                self.log.add(start, kind, answer.status_code)
                if answer.status_code < 500:
                    return answer
            except requests.RequestException:
                self.log.add(start, kind, 0)
            time.sleep(1)
        return None

    def prove(self, who: str) -> None:
        if time.monotonic() - self.proved.get(who, -1e9) < 200:
            return
        key = self.cast.otp_keys[who]
        step = int(time.time() // 30)
        while self.last_step.get(who) == step:  # a code is accepted once
            time.sleep(1)
            step = int(time.time() // 30)
        answer = self.call("POST", "/api/auth/second-factor/", who, "flow",
                           json={"otp": totp(key)})
        self.last_step[who] = step
        if answer is not None and answer.status_code == 204:
            self.proved[who] = time.monotonic()

    def step(self, pk: int, action: str, who: str, expected: str) -> bool:
        if action in ("sign", "issue"):
            self.prove(who)
        answer = self.call("POST", f"/api/documents/{pk}/transitions/{action}/", who, "flow",
                           json={"expected_state": expected})
        if answer is None:
            return False
        if answer.status_code == 409:
            # A retried request that had been applied already: read where it stands.
            state = self.call("GET", f"/api/documents/{pk}/", who, "flow")
            return state is not None and state.json().get("state") != expected
        return answer.status_code == 200

    def run(self) -> None:
        u = self.unit
        while not self.log.stop.is_set():
            created = self.call("POST", "/api/documents/", f"{u}-specialist", "flow", json={
                "unit": self.unit_id, "document_type": self.cast.type_id,
                "subject": f"Soak {u} {self.rng.randrange(10**6)}: triển khai kế hoạch",
                "body": "<p>Đề nghị các đơn vị triển khai thực hiện.</p>" * 5,
                "recipients": self.rng.sample(self.cast.units, RECIPIENTS)})
            if created is None or created.status_code != 201:
                continue
            pk = created.json()["id"]
            for action, who, expected in [("submit", "specialist", "draft"),
                                          ("forward", "head", "submitted"),
                                          ("approve", "leader", "reviewed"),
                                          ("sign", "leader", "approved"),
                                          ("issue", "clerk", "signed")]:
                if not self.step(pk, action, f"{u}-{who}", expected):
                    break
            else:
                self.log.issued.append(pk)
                self.log.issued_event.set()
                self.download(pk)

    def download(self, pk: int) -> None:
        """The issued PDF, as the clerk's browser fetches it (session; sent by nginx)."""
        import requests
        from django.db import close_old_connections
        from django.urls import reverse

        from signing.models import PdfStage, SignedPdf

        try:
            close_old_connections()
            pdf = SignedPdf.objects.filter(document_id=pk, stage=PdfStage.ISSUED).first()
        except Exception:  # noqa: BLE001 - the soak's own database read during a fault
            return
        if pdf is None:
            return
        start = time.monotonic()
        try:
            answer = requests.get(
                f"http://127.0.0.1:{PORT}" + reverse("signing:pdf_version", args=[pk, pdf.pk]),
                cookies={"sessionid": self.cookie}, timeout=60)
            ok = answer.status_code == 200 and answer.content.startswith(b"%PDF")
            self.log.add(start, "download", answer.status_code if ok or answer.status_code >= 500
                         else 599)
        except requests.RequestException:
            self.log.add(start, "download", 0)


def searcher(cast: Cast, log: Log, seed: int) -> None:
    import requests

    rng = random.Random(seed)
    http = requests.Session()
    words = ["kế hoạch", "triển khai", "soak", "đơn vị", "hội nghị", "báo cáo", "tài liệu"]
    while not log.stop.is_set():
        start = time.monotonic()
        try:
            answer = http.get(f"http://127.0.0.1:{PORT}/api/search/",
                              params={"q": rng.choice(words)}, timeout=60,
                              headers={"Authorization": f"Token {cast.tokens['province-head']}"})
            log.add(start, "search", answer.status_code)
        except requests.RequestException:
            log.add(start, "search", 0)
        time.sleep(0.5)


def room(cast: Cast, log: Log) -> None:
    """150 delegates poll the room state once a second (one event loop, one request each)."""
    from benchmarks.meeting_room_bench import afetch

    path = f"/meetings/{cast.meeting}/room/state/"

    async def delegate(cookie: str, offset: float) -> None:
        await asyncio.sleep(offset)
        while not log.stop.is_set():
            start = time.monotonic()
            try:
                status, _ttfb, _body = await asyncio.wait_for(afetch(PORT, path, cookie), 30)
            except (TimeoutError, OSError, IndexError, ValueError):
                status = 0
            log.add(start, "room", status)
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - start)))

    async def everyone() -> None:
        await asyncio.gather(*(delegate(c, i / len(cast.delegate_sessions))
                               for i, c in enumerate(cast.delegate_sessions)))

    asyncio.run(everyone())


def health_poller(log: Log) -> None:
    import requests

    while not log.stop.is_set():
        start = time.monotonic()
        try:
            answer = requests.get(f"http://127.0.0.1:{PORT}/healthz", timeout=10)
            status = answer.status_code
            if status == 503:
                failing = [k for k, v in answer.json()["checks"].items() if not v["ok"]]
                for name in failing:
                    log.unhealthy[name] = log.unhealthy.get(name, 0) + 1
        except (requests.RequestException, ValueError, KeyError):
            status = 0
        log.add(start, "healthz", status)
        time.sleep(max(0.0, 1.0 - (time.monotonic() - start)))


def inject(log: Log, duration: float, t0: float, gap: float = 20) -> None:
    """The four faults at 15/35/55/75 % of the run, at least ``gap`` seconds apart."""
    import redis

    last_end = [t0 - gap]

    def at(fraction: float) -> bool:
        while time.monotonic() < max(t0 + duration * fraction, last_end[0] + gap):
            if log.stop.wait(0.2):
                return False
        return True

    def record(name: str, start: float, note: str = "") -> None:
        last_end[0] = time.monotonic()
        log.faults.append((name, start, last_end[0], note))

    if at(0.15):
        # Right after an issue: its delivery task is in flight on this worker.
        log.issued_event.clear()
        log.issued_event.wait(duration * 0.15)
        broker = redis.Redis(port=REDIS_PORT, db=1)
        waited = time.monotonic()
        def mine() -> list[str]:  # tasks reserved from this worker's queue
            return [task_name(m) for m in broker.hvals("unacked") if routing_key(m) == "celery"]

        while not mine() and time.monotonic() - waited < 30:
            time.sleep(0.05)
        time.sleep(0.2)
        running = sorted(set(mine()))
        in_flight = f"{len(running)} task kind(s) in flight: {', '.join(running) or '-'}"
        start = time.monotonic()
        old = kill_program("worker-default")
        back = restarted("worker-default", old)
        record("kill -9 worker (signing/delivery)", start,
               f"{in_flight}; worker back in {back:.1f} s")
    if at(0.35):
        start = time.monotonic()
        redis_stop()
        redis_start()
        record("restart Redis", start)
    if at(0.55):
        start = time.monotonic()
        pg_restart()
        record("restart PostgreSQL", start)
    if at(0.75):
        start = time.monotonic()
        old = kill_program("web1")
        back = restarted("web1", old)
        record("kill -9 gunicorn node web1", start, f"node back in {back:.1f} s")


# --- afterwards ----------------------------------------------------------------------------------


def unavailable(rows, kinds: set[str], since: float, until: float) -> tuple[float, int, int]:
    """(longest stretch of failed answers with no good one between, 5xx, connection errors).

    By the time of the answer: under load a request waits in a queue for a while, and it
    fails because of what happened while it waited, not before it was sent.
    """
    window = [r for r in rows if since <= r[1] < until and r[2] in kinds]
    window.sort(key=lambda r: r[1])
    longest, run_start = 0.0, None
    for _start, end, _kind, status in window:
        failed = status == 0 or status >= 500
        if failed and run_start is None:
            run_start = end
        elif not failed and run_start is not None:
            longest = max(longest, end - run_start)
            run_start = None
    if run_start is not None:
        longest = max(longest, until - run_start)
    return (longest, sum(1 for r in window if r[3] >= 500),
            sum(1 for r in window if r[3] == 0))


def check(settle: float) -> dict:
    """Wait until queues are empty and the index and deliveries agree (or ``settle`` s)."""
    import redis
    from django.db import close_old_connections
    from django.db.models import Count

    from search import indexer
    from search.service import get_backend
    from signing.models import PdfStage, SignedPdf
    from signing.validation import PASSED, verify_pdf
    from workflow.documents.models import Document, DocumentRecipient, RegisterEntry, State
    from workflow.incoming.models import Delivery

    broker = redis.Redis(port=REDIS_PORT, db=1)
    started = time.monotonic()
    while True:
        close_old_connections()
        db = indexer.db_versions()
        indexed = {k: v for k, v in get_backend().versions().items() if k.startswith("document:")}
        lost = [k for k in db if k not in indexed]
        stale = [k for k in db if k in indexed and indexed[k] != db[k]]
        extra = [k for k in indexed if k not in db]
        issued = list(Document.objects.filter(state=State.ISSUED).values_list("pk", flat=True))
        wanted = set(DocumentRecipient.objects.filter(document_id__in=issued)
                     .values_list("document_id", "unit_id"))
        present = set(Delivery.objects.filter(document_id__in=issued)
                      .values_list("document_id", "unit_id"))
        queued = sum(broker.llen(q) for q in ("celery", "indexing")) + broker.hlen("unacked")
        done = not (lost or stale or extra or wanted - present or queued)
        if done or time.monotonic() - started > settle:
            break
        time.sleep(5)
    duplicates = Delivery.objects.values("document", "unit").annotate(n=Count("pk")).filter(
        n__gt=1).count()
    numbering = {"duplicate": 0, "skipped": 0}
    for register in {e.register_id for e in RegisterEntry.objects.all()}:
        numbers = sorted(RegisterEntry.objects.filter(register_id=register)
                         .values_list("number", flat=True))
        numbering["duplicate"] += len(numbers) - len(set(numbers))
        numbering["skipped"] += (max(numbers) - len(set(numbers))) if numbers else 0
    verdicts: dict[str, int] = {}
    for pdf in SignedPdf.objects.filter(stage=PdfStage.ISSUED, document_id__in=issued):
        verdict = verify_pdf(pdf.read()).verdict
        verdicts[verdict] = verdicts.get(verdict, 0) + 1
    unverified = len(issued) - verdicts.get(PASSED, 0)
    return {"settled_s": time.monotonic() - started, "settled": done, "documents": len(db),
            "lost": len(lost), "stale": len(stale), "extra": len(extra),
            "issued": len(issued), "deliveries": len(present), "missing": len(wanted - present),
            "duplicate_deliveries": duplicates, "numbering": numbering, "verdicts": verdicts,
            "unverified": unverified, "queued": queued}


def report(log: Log, result: dict, t_end: float) -> None:
    rows = log.rows
    print("\nRequests (through nginx):")
    print(f"  {'kind':<9} {'total':>7} {'5xx':>5} {'conn. errors':>12}")
    for kind in ("flow", "download", "search", "room", "healthz"):
        mine = [r for r in rows if r[2] == kind]
        print(f"  {kind:<9} {len(mine):>7} {sum(1 for r in mine if r[3] >= 500):>5} "
              f"{sum(1 for r in mine if r[3] == 0):>12}")
    print("\nFaults (each window runs to the next fault, by answer time; 'longest' = from a "
          "failed answer to the next good one):")
    print(f"  {'fault':<34} {'took':>6} {'longest (app)':>13} {'longest (healthz)':>17} "
          f"{'5xx':>5} {'conn.':>5}  note")
    users = {"flow", "download", "search", "room"}
    for index, (name, start, end, note) in enumerate(log.faults):
        until = log.faults[index + 1][1] if index + 1 < len(log.faults) else t_end
        app, fives, conns = unavailable(rows, users, start, until)
        health, _f, _c = unavailable(rows, {"healthz"}, start, until)
        print(f"  {name:<34} {end - start:>5.1f}s {app:>12.1f}s {health:>16.1f}s {fives:>5} "
              f"{conns:>5}  {note}")
    print(f"  /healthz 503 answers by failing check: {log.unhealthy or '-'}")
    r = result
    print(f"\nAfter the run ({'settled' if r['settled'] else 'NOT settled'} in "
          f"{r['settled_s']:.0f} s, messages left {r['queued']}):")
    print(f"  index vs database: {r['documents']} documents, lost {r['lost']}, stale "
          f"{r['stale']}, extra {r['extra']}")
    print(f"  deliveries: {r['issued']} issued documents, {r['deliveries']} deliveries, missing "
          f"{r['missing']}, duplicated {r['duplicate_deliveries']}")
    print(f"  register numbers: duplicated {r['numbering']['duplicate']}, skipped "
          f"{r['numbering']['skipped']}")
    print(f"  issued PDFs verified: {r['verdicts']} (not PASSED: {r['unverified']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600, help="seconds of workload")
    parser.add_argument("--settle", type=float, default=300,
                        help="seconds to wait for queues and reconcile tasks afterwards")
    parser.add_argument("--keep", action="store_true", help="leave everything running")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the PostgreSQL cluster is started as the postgres user")
    topology.stop(SOAK / "production")
    pg_stop()
    redis_stop()
    shutil.rmtree(SOAK, ignore_errors=True)
    print(f"Fault soak: {args.duration:.0f} s, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    pg_start()
    redis_start()
    try:
        topology.start(
            SOAK / "production", port=PORT, web_ports=WEB,
            database_url=f"postgres://postgres@127.0.0.1:{PG_PORT}/mttq_soak",
            cache_url=f"redis://127.0.0.1:{REDIS_PORT}/0",
            broker_url=f"redis://127.0.0.1:{REDIS_PORT}/1",
            extra_env={
                # The DEMO PKI signs and time-stamps (no real certificates here).
                "MTTQ_PRODUCTION": "0",
                # A killed worker's message comes back after a minute, not an hour.
                "CELERY_VISIBILITY_TIMEOUT": "60",
                "SEARCH_RECONCILE_SECONDS": "60", "INCOMING_RECONCILE_SECONDS": "30",
                "MTTQ_HEARTBEAT_SECONDS": "5", "MTTQ_HEARTBEAT_STALE_SECONDS": "30",
            })
        topology.setup_django(SOAK / "production")
        cast = build()
        topology.wait_healthy(PORT, timeout=120)
        log = Log()
        t0 = time.monotonic()
        threads = [Driver(cast, log, "province", 1), Driver(cast, log, "province", 2),
                   Driver(cast, log, "district", 3),
                   *(threading.Thread(target=searcher, args=(cast, log, s), daemon=True)
                     for s in (1, 2)),
                   threading.Thread(target=room, args=(cast, log), daemon=True),
                   threading.Thread(target=health_poller, args=(log,), daemon=True),
                   threading.Thread(target=inject, args=(log, args.duration, t0), daemon=True)]
        for thread in threads:
            thread.start()
        while time.monotonic() - t0 < args.duration:
            time.sleep(5)
            print(f"  {time.monotonic() - t0:>5.0f} s: {len(log.rows)} requests, "
                  f"{len(log.issued)} issued, faults so far: "
                  f"{', '.join(f[0] for f in log.faults) or '-'}", flush=True)
        log.stop.set()
        t_end = time.monotonic()
        for thread in threads:
            thread.join(timeout=150)
        print("  load stopped; waiting for the system to settle", flush=True)
        result = check(args.settle)
        (SOAK / "rows.json").write_text(json.dumps({"rows": log.rows, "faults": log.faults,
                                                    "t_end": t_end, "result": result}))
        report(log, result, t_end)
    finally:
        if not args.keep:
            topology.stop(SOAK / "production")
            pg_stop()
            redis_stop()


if __name__ == "__main__":
    main()
