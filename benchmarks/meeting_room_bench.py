"""Benchmark: the meeting room under 150 delegates on PostgreSQL, over loopback.

Builds (once) a meeting in session with 30 papers (one of 20 pages) and 150
participants, starts the WSGI server on loopback (gunicorn gthread, or Granian with
``--server granian`` after ``.venv/bin/pip install granian``; the same worker and
thread budget), then measures time to first byte:

* join   — all delegates open the meeting room page at the same moment;
* poll   — every delegate polls the room state once a second (as the page does)
           while the secretary moves to the next agenda item every 5 s, so each
           move makes all 150 fetch the full state at once; meanwhile the room
           page itself is opened twice a second (its time to first byte under
           that load);
* paper  — all delegates open the same 20-page PDF at the same moment, from the
           links their room state gave them, then again through the full check.

With Redis on loopback it is the shared cache (sessions, the room's shared
state), as in production; CACHE_URL overrides.

The load generator is bounded: one asyncio event loop, one request in flight per
delegate, a fixed poll period. Figures are printed; nothing is asserted.

    .venv/bin/python benchmarks/meeting_room_bench.py [--rebuild] [--duration 30]
        [--server gunicorn|granian] [--workers 3] [--threads 8]

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/mttq_bench_meetings.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mttq_bench_meetings"
PARTICIPANTS = 150
PAPERS = 30
BIG_PAPER_PAGES = 20
TITLE = "Benchmark: Hội nghị Ủy ban MTTQ tỉnh (150 đại biểu)"


def ensure_database(url: str, rebuild: bool) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and rebuild:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def build():
    """The meeting, its papers and people; returns (meeting, secretary, delegates)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.factories import advance, make_org
    from workflow.documents import services as documents
    from workflow.meetings.models import Meeting
    from workflow.meetings.pdfs import paper_pdf
    from workflow.meetings.services.agenda import add_agenda_item
    from workflow.meetings.services.papers import attach_paper
    from workflow.meetings.services.schedule import publish_meeting, schedule_meeting
    from workflow.meetings.services.session import start_meeting
    from workflow.organisation.models import Membership, Role, User

    meeting = Meeting.objects.filter(title=TITLE).first()
    if meeting is None:
        t0 = time.perf_counter()
        org = make_org()
        province = org.units["province"]
        chair = org.person("province", Role.LEADER)
        secretary = org.person("province", Role.SPECIALIST)
        delegates = []
        for n in range(PARTICIPANTS - 2):
            user = User.objects.create_user(username=f"bench-delegate-{n:03d}",
                                            password="bench-Pass-2024",  # noqa: S106
                                            full_name=f"Đại biểu {n:03d}")
            Membership.objects.create(user=user, unit=province, role=Role.MEMBER)
            delegates.append(user)
        meeting = schedule_meeting(
            secretary, unit=province,
            data={"title": TITLE, "starts_at": "2030-01-01T08:00", "chair": chair,
                  "secretary": secretary, "place": "Hội trường"},
            participant_ids=[u.pk for u in delegates])
        items = [add_agenda_item(secretary, meeting.pk,
                                 data={"title": f"Nội dung {i + 1}"})
                 for i in range(10)]
        for n in range(PAPERS):
            pages = BIG_PAPER_PAGES if n == 0 else 2
            doc = documents.create_document(
                secretary, unit=province,
                data={"subject": f"Tài liệu họp số {n + 1}", "document_type": org.types["bao-cao"],
                      "body": "<p>Tài liệu.</p>"})
            documents.add_file(secretary, doc.pk, kind="main", upload=SimpleUploadedFile(
                f"tai-lieu-{n + 1}.pdf", paper_pdf(f"Tài liệu họp số {n + 1}", pages)))
            advance(org, doc, "approved")
            attach_paper(secretary, items[n % len(items)].pk, document=doc)
        publish_meeting(chair, meeting.pk)
        start_meeting(secretary, meeting.pk)
        print(f"  built in {time.perf_counter() - t0:.1f} s", flush=True)
    meeting = Meeting.objects.get(title=TITLE)
    delegates = [p.user for p in meeting.participants.select_related("user")
                 if p.user_id and p.user_id != meeting.secretary_id]
    return meeting, meeting.secretary, delegates


def session_cookie(user) -> str:
    """A session key for ``user`` as after logging in (and the second factor if required)."""
    from topology import session_for

    return session_for(user)


@dataclass
class Stats:
    ttfb: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, label: str, seconds: float) -> None:
        with self.lock:
            self.ttfb.setdefault(label, []).append(seconds)

    def error(self, label: str, what: str) -> None:
        with self.lock:
            self.errors[label] = self.errors.get(label, 0) + 1
            if len(self.error_samples) < 5:
                self.error_samples.append(f"{label}: {what}")


def fetch(port: int, path: str, cookie: str, headers: dict | None = None):
    """GET over a fresh loopback connection; returns (status, ttfb seconds, body, headers)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        start = time.perf_counter()
        conn.request("GET", path, headers={"Cookie": f"sessionid={cookie}", **(headers or {})})
        response = conn.getresponse()  # returns once the status line and headers are in
        ttfb = time.perf_counter() - start
        body = response.read()
        return response.status, ttfb, body, dict(response.getheaders())
    finally:
        conn.close()


async def afetch(port: int, path: str, cookie: str) -> tuple[int, float, bytes]:
    """GET on a fresh loopback connection from the event loop: (status, ttfb s, body).

    One event loop drives every simulated delegate, so the generator costs little CPU
    and no thread waits for the GIL after its answer arrived (which would count as
    server time).
    """
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      f"Cookie: sessionid={cookie}\r\nConnection: close\r\n\r\n").encode())
        await writer.drain()
        status_line = await reader.readline()
        ttfb = time.perf_counter() - start
        rest = await reader.read()
    finally:
        writer.close()
    status = int(status_line.split()[1])
    head, _sep, body = rest.partition(b"\r\n\r\n") if not rest.startswith(b"\r\n") \
        else (b"", b"", rest[2:])
    if b"transfer-encoding: chunked" in head.lower():
        body = _dechunk(body)
    return status, ttfb, body


def _dechunk(data: bytes) -> bytes:
    out, pos = bytearray(), 0
    while True:
        end = data.index(b"\r\n", pos)
        size = int(data[pos:end].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += data[end + 2:end + 2 + size]
        pos = end + 2 + size + 2


def burst(port: int, label: str, path: str | list[str], cookies: list[str], stats: Stats,
          ok=(200,), check=None) -> float:
    """Everyone requests ``path`` (or their own of a list) at the same moment."""
    paths = path if isinstance(path, list) else [path] * len(cookies)

    async def one(cookie: str, path: str) -> None:
        try:
            status, ttfb, body = await afetch(port, path, cookie)
        except Exception as exc:  # noqa: BLE001 - counted as an error
            stats.error(label, repr(exc))
            return
        if status not in ok or (check and not check(body)):
            stats.error(label, f"HTTP {status}")
            return
        stats.add(label, ttfb)

    async def everyone() -> float:
        start = time.perf_counter()
        await asyncio.gather(*(one(c, p) for c, p in zip(cookies, paths, strict=True)))
        return time.perf_counter() - start

    return asyncio.run(everyone())


def poll_phase(port: int, meeting_id: int, secretary, cookies: list[str], stats: Stats,
               duration: float, period: float = 1.0, move_every: float = 5.0) -> int:
    import json

    from workflow.meetings.services.session import set_current_item

    stop = threading.Event()
    path = f"/meetings/{meeting_id}/room/state/"

    async def poller(index: int, cookie: str) -> None:
        version = 0
        # Spread the pollers over the period, as browsers opened at different times are.
        next_at = time.perf_counter() + period * index / len(cookies)
        while not stop.is_set():
            delay = next_at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            next_at += period
            try:
                status, ttfb, body = await afetch(port, f"{path}?v={version}", cookie)
            except Exception as exc:  # noqa: BLE001
                stats.error("poll", repr(exc))
                continue
            if status == 304:
                stats.add("poll 304 (unchanged)", ttfb)
            elif status == 200:
                stats.add("poll 200 (full state)", ttfb)
                version = json.loads(body)["v"]
            else:
                stats.error("poll", f"HTTP {status}")

    async def reloader() -> None:
        # Someone (re)opens the room page every half second while everyone polls: the
        # page's time to first byte under the polling load.
        n = 0
        while not stop.is_set():
            await asyncio.sleep(0.5)
            try:
                status, ttfb, body = await afetch(port, f"/meetings/{meeting_id}/room/",
                                                  cookies[n % len(cookies)])
            except Exception as exc:  # noqa: BLE001
                stats.error("room page (while polling)", repr(exc))
                continue
            n += 1
            if status == 200 and b"room-state-data" in body:
                stats.add("room page (while polling)", ttfb)
            else:
                stats.error("room page (while polling)", f"HTTP {status}")

    async def everyone() -> None:
        await asyncio.gather(*(poller(i, c) for i, c in enumerate(cookies)), reloader())

    loop_thread = threading.Thread(target=lambda: asyncio.run(everyone()), daemon=True)
    loop_thread.start()
    from workflow.meetings.models import AgendaItem, Meeting

    item_ids = list(AgendaItem.objects.filter(meeting_id=meeting_id).order_by("order", "pk")
                    .values_list("pk", flat=True))
    moves = 0
    end = time.perf_counter() + duration
    while time.perf_counter() < end:
        time.sleep(move_every)
        # Always a real move (cycling through the agenda), so every poller refetches.
        current = Meeting.objects.values_list("current_item_id", flat=True).get(pk=meeting_id)
        following = item_ids[(item_ids.index(current) + 1) % len(item_ids)
                             if current in item_ids else 0]
        set_current_item(secretary, meeting_id, following)
        moves += 1
    stop.set()
    loop_thread.join(timeout=60)
    return moves


def workers_cpu(master: int) -> float:
    """CPU seconds (user + system) used so far by the server: ``master`` and its workers.

    Both gunicorn and Granian start their workers from the master process, so the
    workers are the master's children; the master itself (which serves no request in
    either) is counted too, so nothing the server does is left out.

    Wall-clock figures on a shared machine move with everything else running; the
    server's own CPU per request moves much less.
    """
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # Field 4 of stat: the parent pid.
        if int(fields[1]) == master or stat.parent.name == str(master):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def report(stats: Stats, label: str) -> None:
    values = stats.ttfb.get(label, [])
    errors = stats.errors.get(label.split(" ")[0], 0) if label.startswith("poll") else \
        stats.errors.get(label, 0)
    if not values:
        print(f"  {label:<24} no successful requests, errors {errors}")
        return
    ms = [v * 1000 for v in values]
    print(f"  {label:<24} n={len(ms):>5}  p50 {pct(ms, .5):7.1f} ms  p95 {pct(ms, .95):7.1f} ms"
          f"  p99 {pct(ms, .99):7.1f} ms  max {max(ms):7.1f} ms  mean {statistics.mean(ms):6.1f} ms"
          f"  errors {errors}")


def server_command(server: str, port: int, workers: int, threads: int) -> list[str]:
    """The command line serving the app on loopback: ``workers`` processes of ``threads``
    threads each running the Django code, whichever the server."""
    bin_dir = ROOT / ".venv" / "bin"
    if server == "granian":
        if not (bin_dir / "granian").exists():
            raise SystemExit("granian is not a dependency: .venv/bin/pip install granian")
        # Rust I/O runtime (one thread per worker) in front of the blocking threads that
        # run the WSGI application: --blocking-threads is the counterpart of --threads.
        return [str(bin_dir / "granian"), "--interface", "wsgi", "config.wsgi:application",
                "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                "--blocking-threads", str(threads), "--backlog", "512",
                "--log-level", "error", "--no-access-log"]
    return [str(bin_dir / "gunicorn"), "config.wsgi:application",
            "-b", f"127.0.0.1:{port}", "-w", str(workers), "-k", "gthread",
            "--threads", str(threads), "--backlog", "512", "--log-level", "warning"]


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise SystemExit("the server exited; see its output above")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/accounts/login/")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the server did not start")


def _reachable(host: str, port: int) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--duration", type=float, default=30.0, help="poll phase, seconds")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8,
                        help="threads per worker (gunicorn --threads, granian --blocking-threads)")
    parser.add_argument("--server", choices=("gunicorn", "granian"), default="gunicorn",
                        help="WSGI server (default: gunicorn)")
    args = parser.parse_args()

    url = os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    # Production runs with Redis as the shared cache (sessions, the room's shared state);
    # so does the benchmark when Redis answers on loopback.
    if "CACHE_URL" not in os.environ and _reachable("127.0.0.1", 6379):
        os.environ["CACHE_URL"] = "redis://127.0.0.1:6379/5"
    print(f"cache: {os.environ.get('CACHE_URL') or 'memory of each process'}", flush=True)
    media = Path(os.environ.setdefault("MEDIA_ROOT", str(ROOT / "var" / "bench-meetings-media")))
    os.environ.setdefault("SEARCH_INDEX_DIR", tempfile.mkdtemp(prefix="mttq-bench-idx-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if not url.startswith("postgres"):
        print("note: DATABASE_URL is not PostgreSQL; figures will not be comparable", flush=True)
    else:
        ensure_database(url, args.rebuild)
    media.mkdir(parents=True, exist_ok=True)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(f"Building data… (load average {os.getloadavg()})", flush=True)
    meeting, secretary, delegates = build()
    papers = list(meeting.papers.select_related("document").order_by("pk"))
    big = next(p for p in papers if (p.document.files.first().current_version.page_count or 0)
               >= BIG_PAPER_PAGES)
    cookies = [session_cookie(u) for u in delegates[:PARTICIPANTS]]
    print(f"Meeting {meeting.pk}: {len(papers)} papers, "
          f"{meeting.participants.count()} participants, {len(cookies)} delegates polling",
          flush=True)

    env = {**os.environ, "DEBUG": "0", "DB_CONN_MAX_AGE": "60",
           "ALLOWED_HOSTS": "127.0.0.1,localhost", "LOG_LEVEL": "ERROR"}
    print(f"server: {args.server} {args.workers}×{args.threads}; "
          f"load average {os.getloadavg()}", flush=True)
    proc = subprocess.Popen(server_command(args.server, args.port, args.workers, args.threads),
                            cwd=ROOT, env=env)
    try:
        wait_ready(args.port, proc)
        stats = Stats()
        # Warm every worker (imports, connections) before measuring.
        burst(args.port, "warm-up", f"/meetings/{meeting.pk}/room/state/", cookies[:30], Stats())

        # One delegate alone: what a request costs without queueing behind others.
        single = cookies[0]
        state_path = f"/meetings/{meeting.pk}/room/state/"
        for _ in range(40):
            status, ttfb, body, _h = fetch(args.port, state_path, single)
            stats.add("alone: poll 200", ttfb)
            version = __import__("json").loads(body)["v"]
            status, ttfb, body, _h = fetch(args.port, f"{state_path}?v={version}", single)
            stats.add("alone: poll 304", ttfb)
            status, ttfb, body, _h = fetch(args.port, f"/meetings/{meeting.pk}/room/", single)
            stats.add("alone: room page", ttfb)

        wall = burst(args.port, "join (room page)", f"/meetings/{meeting.pk}/room/", cookies,
                     stats, check=lambda b: b"room-state-data" in b)
        print(f"join: {len(cookies)} delegates at once, all answered in {wall:.2f} s")
        cpu0 = workers_cpu(proc.pid)
        served0 = sum(len(v) for v in stats.ttfb.values())
        moves = poll_phase(args.port, meeting.pk, secretary, cookies, stats, args.duration)
        cpu_poll = workers_cpu(proc.pid) - cpu0
        served_poll = sum(len(v) for v in stats.ttfb.values()) - served0
        print(f"poll: {args.duration:.0f} s, 1 poll/s per delegate, {moves} item moves; "
              f"{args.server} (master and workers) used {cpu_poll:.1f} CPU s "
              f"for {served_poll} requests "
              f"({1000 * cpu_poll / max(1, served_poll):.2f} ms each, "
              f"{cpu_poll / args.duration:.2f} cores); load average {os.getloadavg()}")
        # As in the room: each delegate opens the link its own room state gave it (with
        # the signed token), then the same paper through the full permission check.
        links = []
        for cookie in cookies:
            _s, _t, body, _h = fetch(args.port, state_path, cookie)
            state = __import__("json").loads(body)
            links.append(next(p["view_url"] for item in state["items"] for p in item["papers"]
                              if p["id"] == big.pk))
        cpu0 = workers_cpu(proc.pid)
        wall = burst(args.port, f"paper ({BIG_PAPER_PAGES} pages)", links, cookies, stats,
                     check=lambda b: b.startswith(b"%PDF"))
        cpu_paper = workers_cpu(proc.pid) - cpu0
        print(f"paper: {len(cookies)} delegates open the same {BIG_PAPER_PAGES}-page PDF from "
              f"their room links, all done in {wall:.2f} s; server's CPU "
              f"{1000 * cpu_paper / len(cookies):.2f} ms each")
        wall = burst(args.port, "paper, full check", f"/meetings/papers/{big.pk}/file/", cookies,
                     stats, check=lambda b: b.startswith(b"%PDF"))
        print(f"paper, full check: the same without the room's token, all done in {wall:.2f} s")
        print()
        kind = "gthread" if args.server == "gunicorn" else "wsgi blocking threads"
        print(f"Time to first byte, {len(cookies)} concurrent delegates, {args.server} "
              f"{args.workers}×{args.threads} {kind}, {os.cpu_count()} CPUs, PostgreSQL:")
        for label in ("alone: poll 304", "alone: poll 200", "alone: room page",
                      "join (room page)", "room page (while polling)", "poll 304 (unchanged)",
                      "poll 200 (full state)",
                      f"paper ({BIG_PAPER_PAGES} pages)", "paper, full check"):
            report(stats, label)
        polls = stats.ttfb.get("poll 304 (unchanged)", []) + stats.ttfb.get(
            "poll 200 (full state)", [])
        if polls:
            ms = [v * 1000 for v in polls]
            print(f"  {'poll (all)':<24} n={len(ms):>5}  p95 {pct(ms, .95):7.1f} ms  "
                  f"throughput {len(ms) / args.duration:.0f} req/s")
        print(f"  load average at the end: {os.getloadavg()}")
        total_errors = sum(stats.errors.values())
        print(f"  errors: {total_errors}" + (f" e.g. {stats.error_samples}" if total_errors
                                             else ""))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
