"""CPU per request of the meeting room endpoints, in-process (no HTTP server, no network).

Wall-clock figures of ``meeting_room_bench.py`` move with whatever else runs on the
machine; CPU time per request (``time.process_time``) moves much less, so this is the
figure to compare before and after a change. Uses the benchmark's meeting (built on
first use) and Django's test client, through the whole middleware stack.

    .venv/bin/python benchmarks/meeting_room_cpu.py [-n 200] [--profile poll200]

Kinds: ``poll304`` (unchanged), ``poll200`` (full state, shared part already cached,
as for the 149 delegates after the first one), ``poll200-cold`` (the first poll after a
move: builds the shared part), ``page`` (the room page), ``paper`` (the 20-page PDF
from a room link). ``--profile KIND`` prints the top of a cProfile of that kind.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=200, help="requests per kind")
    parser.add_argument("--profile", default="", help="kind to profile")
    parser.add_argument("--kinds", default="poll304,poll200,poll200-cold,page,paper")
    args = parser.parse_args()

    import meeting_room_bench as bench

    url = os.environ.setdefault("DATABASE_URL", bench.DEFAULT_URL)
    if "CACHE_URL" not in os.environ and bench._reachable("127.0.0.1", 6379):
        os.environ["CACHE_URL"] = "redis://127.0.0.1:6379/5"
    os.environ.setdefault("MEDIA_ROOT", str(ROOT / "var" / "bench-meetings-media"))
    os.environ.setdefault("SEARCH_INDEX_DIR", tempfile.mkdtemp(prefix="mttq-bench-idx-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("DB_CONN_MAX_AGE", "60")  # as under gunicorn in the benchmark
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
    if url.startswith("postgres"):
        bench.ensure_database(url, False)
    Path(os.environ["MEDIA_ROOT"]).mkdir(parents=True, exist_ok=True)

    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from workflow.meetings.models import Meeting
    from workflow.meetings.services.common import bump_room_version

    call_command("migrate", verbosity=0)
    meeting, secretary, delegates = bench.build()
    pk = meeting.pk
    client = Client()
    client.cookies["sessionid"] = bench.session_cookie(delegates[5])
    state_url = f"/meetings/{pk}/room/state/"
    big = meeting.papers.order_by("pk").first()

    def bump() -> None:
        bump_room_version(pk)

    def version() -> int:
        return Meeting.objects.values_list("room_version", flat=True).get(pk=pk)

    state = json.loads(client.get(state_url).content)
    link = next(p["view_url"] for item in state["items"] for p in item["papers"]
                if p["id"] == big.pk)
    other = Client()
    other.cookies["sessionid"] = bench.session_cookie(delegates[6])

    def run(kind: str):
        """Returns a callable doing one request of that kind, and a preparation step."""
        v = json.loads(client.get(state_url).content)["v"]
        if kind == "poll304":
            return (lambda: client.get(f"{state_url}?v={v}")), None
        if kind == "poll200":
            # The shared part was built by someone else's poll at this version.
            return (lambda: client.get(f"{state_url}?v=0")), None
        if kind == "poll200-cold":
            def prepare():
                bump()
            return (lambda: other.get(f"{state_url}?v=0")), prepare
        if kind == "page":
            return (lambda: client.get(f"/meetings/{pk}/room/")), None
        if kind == "paper":
            return (lambda: b"".join(client.get(link).streaming_content)), None
        raise SystemExit(f"unknown kind {kind}")

    print(f"load average {os.getloadavg()}; cache "
          f"{os.environ.get('CACHE_URL') or 'locmem'}; {url.split('@')[-1]}")
    for kind in args.kinds.split(","):
        client.get(f"{state_url}?v=0")  # warm: shared part at the current version
        call, prepare = run(kind)
        for _ in range(5):
            if prepare:
                prepare()
            call()
        cpu: list[float] = []
        for _ in range(args.n):
            if prepare:
                prepare()
            t0 = time.process_time()
            response = call()
            cpu.append((time.process_time() - t0) * 1000)
        status = getattr(response, "status_code", 200)
        cpu.sort()
        print(f"  {kind:<13} status {status}  CPU per request: p50 {statistics.median(cpu):5.2f}"
              f" ms  mean {statistics.mean(cpu):5.2f} ms  p90 {cpu[int(len(cpu) * .9)]:5.2f} ms")
        if kind == args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.n):
                if prepare:
                    prepare()
                call()
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    bump()


if __name__ == "__main__":
    main()
