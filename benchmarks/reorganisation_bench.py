"""Benchmark: applying the Nghệ An 1 July 2025 plan (482 → 131 active units).

Builds the demo's 2024 tree (levels, 482 units, departments, the demo people; no
documents) in a fresh SQLite database under a temporary directory (or the database of
``DATABASE_URL``, which must be empty), then times the dry run (validation plus the
whole application, rolled back) and the real application of the shipped plan
(``workflow/organisation/plans/nghe-an-2025-07-01.json``).

    .venv/bin/python benchmarks/reorganisation_bench.py

Figures are printed; nothing is asserted (speed is a benchmark, not a test).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    tmp = tempfile.mkdtemp(prefix="mttq-reorg-bench-")
    os.environ.setdefault("MTTQ_VAR_DIR", tmp)
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/db.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from workflow.organisation import demo
    from workflow.organisation.demo_reorg import PLAN_PATH
    from workflow.organisation.models import Unit
    from workflow.organisation.reorg import apply_plan, load_plan, report_lines

    data = demo.DemoData()
    started = time.perf_counter()
    demo._ensure_levels(data)
    demo._ensure_units(data)
    demo._ensure_departments(data)
    demo._ensure_people(data)
    print(f"2024 tree built: {Unit.objects.filter(is_active=True).count()} active units "
          f"in {time.perf_counter() - started:.2f} s")
    raw = PLAN_PATH.read_bytes()
    started = time.perf_counter()
    plan = load_plan(raw)
    print(f"parse + validate: {time.perf_counter() - started:.3f} s")
    started, cpu = time.perf_counter(), time.process_time()
    report = apply_plan(plan, dry_run=True)
    print(f"dry run: {time.perf_counter() - started:.2f} s "
          f"(CPU {time.process_time() - cpu:.2f} s) "
          f"({len(report['units']['merged'])} merges, {len(report['units']['created'])} new)")
    for line in report_lines(report, detail=3):
        print("   ", line)
    started, cpu = time.perf_counter(), time.process_time()
    apply_plan(load_plan(raw))
    print(f"apply: {time.perf_counter() - started:.2f} s (CPU "
          f"{time.process_time() - cpu:.2f} s, after-commit re-indexing included); "
          f"active units now "
          f"{Unit.objects.filter(is_active=True).count()} "
          f"({Unit.objects.filter(is_active=True, parent__isnull=False).count()} communes)")


if __name__ == "__main__":
    main()
