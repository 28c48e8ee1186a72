"""Benchmark: the outgoing register of a year printed (PDF), exported (XLSX) and listed.

A province register with N issued documents (default 500 and 2,000), each sent to 5
units inside the system and one outside, is built with bulk inserts in a throw-away
SQLite database (or ``--database-url``); then the register rows, the XLSX and the PDF
are made for the whole year, three times each, and the best time and the query count
of the rows are printed. Nothing is asserted.

    .venv/bin/python benchmarks/register_export_bench.py [--sizes 500,2000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup(workdir: Path, database_url: str | None) -> None:
    os.environ.update({
        "MTTQ_VAR_DIR": str(workdir),
        "DATABASE_URL": database_url or f"sqlite:///{workdir / 'bench.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "config.settings", "SEARCH_URL": "", "ES_URL": "",
        "CELERY_BROKER_URL": "memory://",
    })
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build(n: int, tag: str):
    from django.utils import timezone

    from tests.factories import make_org
    from workflow.documents.models import (
        Document,
        DocumentRecipient,
        OutgoingRegister,
        RegisterEntry,
    )
    from workflow.organisation.models import Role

    org = make_org() if tag == "a" else BUILD["org"]
    BUILD["org"] = org
    unit = org.units["province"]
    # The same unit for each size; a series of its own keeps the sizes apart.
    series = f"bench-{tag}"
    register = OutgoingRegister.objects.create(unit=unit, year=timezone.localdate().year,
                                               series=series, last_number=n)
    leader = org.person("province", Role.LEADER)
    now = timezone.now()
    docs = Document.objects.bulk_create([
        Document(unit=unit, document_type=org.types["ke-hoach"], drafter=leader,
                 drafting_department=org.departments["province"], signer=leader,
                 subject=f"Kế hoạch số {i} về công tác Mặt trận năm {now.year}",
                 state="issued", number=i + 1, symbol=f"{i + 1:02d}/KH-{tag}",
                 issued_at=now, external_recipients="Báo Nghệ An",
                 priority="urgent" if i % 7 == 0 else "normal")
        for i in range(n)])
    recipients = [org.units[k] for k in ("district", "district2", "commune", "commune2")]
    DocumentRecipient.objects.bulk_create([
        DocumentRecipient(document=d, unit=u) for d in docs for u in recipients])
    RegisterEntry.objects.bulk_create([
        RegisterEntry(register=register, number=d.number, symbol=d.symbol, unit=unit,
                      year=now.year, document=d, issued_at=now) for d in docs])
    return org, unit, series


BUILD: dict = {}


def best(fn, *args, rounds: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="500,2000")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mttq-register-bench-") as tmp:
        setup(Path(tmp), args.database_url)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext
        from django.utils import timezone

        from workflow.documents import register_exports
        from workflow.organisation.models import Role

        for index, n in enumerate(int(s) for s in args.sizes.split(",")):
            org, unit, series = build(n, "abcdefgh"[index])
            clerk = org.person("province", Role.CLERK)
            start, end = timezone.localdate().replace(month=1, day=1), timezone.localdate()
            with CaptureQueriesContext(connection) as queries:
                register_exports.rows(unit, series, start, end)
            t_rows, rows = best(register_exports.rows, unit, series, start, end)
            t_xlsx, xlsx = best(register_exports.xlsx, clerk, unit, series, start, end)
            t_pdf, pdf = best(register_exports.pdf, clerk, unit, series, start, end)
            print(f"{n} documents: rows {t_rows * 1000:.0f} ms ({len(queries)} queries), "
                  f"XLSX {t_xlsx * 1000:.0f} ms ({len(xlsx) // 1024} KB), "
                  f"PDF {t_pdf * 1000:.0f} ms ({len(pdf) // 1024} KB); {len(rows)} rows")


if __name__ == "__main__":
    main()
