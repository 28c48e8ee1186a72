"""Benchmark: ``manage.py seed_demo`` on the quick start's embedded defaults.

Migrates a fresh SQLite database and an embedded search index under a temporary
directory (as ``scripts/run.sh`` does in var/, without a Celery broker: background
tasks run in-process), then runs ``seed_demo`` and prints wall and CPU seconds per
phase, for the whole command, and the machine's load average (the machine may be
shared: CPU time is the figure that does not depend on the others' load). ``--again``
also times a second run, which must create nothing.

    .venv/bin/python benchmarks/seed_demo_bench.py [--again]

Figures are printed; nothing is asserted (speed is a benchmark, not a test).
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _run(label: str) -> None:
    from workflow.organisation import demo as core

    load = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), _cpu()
    demo = core.seed()
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    print(f"\n{label}: {wall:.1f} s wall, {cpu:.1f} s CPU (user+sys); load average "
          f"{load:.1f} before, {os.getloadavg()[0]:.1f} after")
    created = ", ".join(f"{k}: {v}" for k, v in sorted(demo.created.items()) if v)
    print(f"  created: {created or 'nothing'}")
    width = max((len(name) for name in demo.timings), default=0)
    for name, (phase_wall, phase_cpu) in demo.timings.items():
        print(f"  {name:<{width}}  {phase_wall:6.2f} s wall  {phase_cpu:6.2f} s CPU")


def main() -> None:
    tmp = tempfile.mkdtemp(prefix="mttq-seed-bench-")
    os.environ["MTTQ_VAR_DIR"] = tmp
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/db.sqlite3"
    for name in ("CELERY_BROKER_URL", "BROKER_URL", "SEARCH_URL", "ES_URL"):
        os.environ.pop(name, None)  # the embedded defaults, as the quick start seeds
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    started = time.perf_counter()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(f"setup and migrate: {time.perf_counter() - started:.1f} s wall (not counted); "
          f"data in {tmp}")
    _run("seed_demo")
    if "--again" in sys.argv:
        _run("seed_demo again")


if __name__ == "__main__":
    main()
