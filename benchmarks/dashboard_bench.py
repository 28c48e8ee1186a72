"""Benchmark: the congress-targets dashboard for a whole province on PostgreSQL.

Builds (once) a database shaped like Nghệ An over five years: 1 + 21 + 460 units,
~200k outgoing documents (most issued and signed, with signed-PDF rows when the
signing app is installed), ~20k meetings, 3k critique/supervision cases, 50k
recommendations and the periodic report filings; then times the target
computation and the full dashboard page for the provincial chair.

    .venv/bin/python benchmarks/dashboard_bench.py [--rebuild] [--runs 30]

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/mttq_bench_dashboard.
Figures are printed; nothing is asserted (speed is a benchmark, not a test).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mttq_bench_dashboard"
DOCUMENTS = 200_000
CASES = 3_000
RECOMMENDATIONS = 50_000
MEETINGS = 20_000
YEARS = 5


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


def timed(label: str):
    class Timer:
        def __enter__(self):
            self.t = time.perf_counter()
            return self

        def __exit__(self, *exc):
            print(f"  {label}: {time.perf_counter() - self.t:.1f} s", flush=True)

    return Timer()


def build() -> None:
    from django.apps import apps
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from workflow.documents.document_types import ensure_document_types
    from workflow.documents.models import Document, DocumentType
    from workflow.organisation.models import Level, Membership, Role, Unit, User
    from workflow.oversight.models import (
        CritiqueCase,
        PeriodicReport,
        Recommendation,
        RecStatus,
        Source,
        SupervisionCase,
    )

    if Document.objects.count() >= DOCUMENTS:
        print("data already there (use --rebuild to start again)")
        return
    rng = random.Random(2024)
    this_year = timezone.localdate().year
    first_year = this_year - YEARS + 1
    print("building data…", flush=True)
    with transaction.atomic():
        with timed("units and people"):
            levels = {code: Level.objects.get_or_create(code=code, defaults={
                "name": name, "rank": rank})[0]
                for code, name, rank in [("tinh", "Cấp tỉnh", 0), ("huyen", "Cấp huyện", 1),
                                         ("xa", "Cấp xã", 2)]}
            province = Unit.objects.create(name="Ủy ban MTTQ tỉnh Nghệ An", code="b-na",
                                           abbreviation="MTTQ-BTT", level=levels["tinh"])
            province.path = f"/{province.pk}/"
            province.save()
            districts = []
            for i in range(21):
                d = Unit.objects.create(name=f"Ủy ban MTTQ huyện {i + 1:02d}", code=f"b-d{i}",
                                        abbreviation="MTTQ-BTT", level=levels["huyen"],
                                        parent=province)
                d.path = f"{province.path}{d.pk}/"
                d.save()
                districts.append(d)
            communes = Unit.objects.bulk_create([
                Unit(name=f"Ủy ban MTTQ xã {i + 1:03d}", code=f"b-c{i}", abbreviation="MTTQ-BTT",
                     level=levels["xa"], parent=districts[i % 21]) for i in range(460)])
            for c in communes:
                c.path = f"{c.parent.path}{c.pk}/"
            Unit.objects.bulk_update(communes, ["path"])
            units = [province, *districts, *communes]
            chair = User.objects.create(username="bench-chair", password=make_password("x"))
            Membership.objects.create(user=chair, unit=province, role=Role.LEADER)
            drafter = User.objects.create(username="bench-drafter", password="!")
        ensure_document_types()
        dtype = DocumentType.objects.get(code="cong-van")
        # Units issue in proportion to their level: the province most.
        weights = [60] + [10] * 21 + [1] * 460

        def when(year: int) -> dt.datetime:
            day = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))
            return timezone.make_aware(dt.datetime.combine(day, dt.time(9)))

        with timed(f"{DOCUMENTS} documents"):
            batch = []
            for i in range(DOCUMENTS):
                unit = rng.choices(units, weights)[0]
                at = when(rng.randrange(first_year, this_year + 1))
                state = "issued" if rng.random() < 0.85 else rng.choice(
                    ["draft", "submitted", "archived"])
                issued = state in ("issued", "archived")
                signed = issued and rng.random() < 0.93
                batch.append(Document(unit=unit, document_type=dtype, subject=f"Văn bản {i}",
                                      drafter=drafter, state=state,
                                      issued_at=at if issued else None,
                                      signed_at=at if signed else None))
                if len(batch) == 5000:
                    Document.objects.bulk_create(batch)
                    batch = []
            Document.objects.bulk_create(batch)
        if apps.is_installed("signing"):
            SignedPdf = apps.get_model("signing", "SignedPdf")
            with timed("signed PDFs"):
                ids = list(Document.objects.filter(signed_at__isnull=False).values_list(
                    "pk", flat=True))
                for start in range(0, len(ids), 5000):
                    SignedPdf.objects.bulk_create([
                        SignedPdf(document_id=pk, stage="issued", blob=f"b/{pk}.pdf",
                                  sha256="0" * 64, size=1, page_count=1, content_hash="0" * 64)
                        for pk in ids[start:start + 5000] if rng.random() < 0.97])
        try:
            Meeting = apps.get_model("meetings", "Meeting")
        except LookupError:
            Meeting = None
        if Meeting is not None:
            with timed(f"{MEETINGS} meetings"):
                Meeting.objects.bulk_create([
                    Meeting(unit=rng.choices(units, weights)[0], title="Họp",
                            starts_at=when(rng.randrange(first_year, this_year + 1)),
                            chair=chair, secretary=chair, created_by=chair,
                            state=rng.choice(["closed", "concluded", "concluded", "cancelled"]),
                            paperless=rng.random() < 0.85) for _ in range(MEETINGS)],
                    batch_size=5000)
        with timed(f"{CASES} cases"):
            sups, crits = [], []
            for i in range(CASES):
                unit = rng.choice(units)
                held = when(rng.randrange(first_year, this_year + 1)).date()
                if i % 2:
                    sups.append(SupervisionCase(unit=unit, title=f"GS {i}", supervised_body="X",
                                                state="closed", held_on=held))
                else:
                    crits.append(CritiqueCase(unit=unit, title=f"PB {i}", agency="X",
                                              state="closed", held_on=held))
            SupervisionCase.objects.bulk_create(sups)
            CritiqueCase.objects.bulk_create(crits)
        with timed(f"{RECOMMENDATIONS} recommendations"):
            batch = []
            for i in range(RECOMMENDATIONS):
                raised = when(rng.randrange(first_year, this_year + 1)).date()
                forward_due = raised + dt.timedelta(days=15)
                forwarded = raised + dt.timedelta(days=rng.choice([3, 8, 12, 20]))
                due = raised + dt.timedelta(days=60)
                resolved = raised + dt.timedelta(days=rng.choice([20, 45, 58, 80]))
                batch.append(Recommendation(
                    unit=rng.choice(units), source=rng.choice(
                        [Source.VOTER_MEETING, Source.VOTER_MEETING, Source.DIALOGUE,
                         Source.SUPERVISION]),
                    topic=f"Kiến nghị {i}", addressee="UBND", raised_on=raised,
                    forward_due=forward_due, forwarded_on=forwarded, due_date=due,
                    resolved_on=resolved, status=RecStatus.RESOLVED,
                    legitimate=rng.random() < 0.9))
                if len(batch) == 5000:
                    Recommendation.objects.bulk_create(batch)
                    batch = []
            Recommendation.objects.bulk_create(batch)
        with timed("periodic reports"):
            PeriodicReport.objects.bulk_create([
                PeriodicReport(unit=u, year=y, period=p, filed_on=dt.date(y, 6, 1))
                for u in units for y in range(first_year, this_year + 1) for p in ("H1", "Y")
                if rng.random() < 0.9])
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def measure(runs: int) -> None:
    from django.conf import settings
    from django.db import connection, reset_queries
    from django.test import Client
    from django.utils import timezone

    from workflow.organisation.models import Unit, User
    from workflow.oversight import targets

    settings.ALLOWED_HOSTS = ["*"]
    year = timezone.localdate().year
    province = Unit.objects.get(code="b-na")
    print(f"units: {Unit.objects.count()}, year: {year}")

    def run(label: str, fn) -> None:
        fn()  # warm caches and connections
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
        print(f"{label:<44} p50 {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms   "
              f"max {times[-1]:7.1f} ms   (n={runs})")

    run("targets.compute (whole province)", lambda: targets.compute(year, province))
    run("targets.compute (a previous year)", lambda: targets.compute(year - 2, province))
    client = Client()
    client.force_login(User.objects.get(username="bench-chair"))

    def page():
        response = client.get(f"/oversight/?unit={province.pk}&year={year}")
        assert response.status_code == 200

    run("GET /oversight/ (dashboard page)", page)
    run("GET /oversight/export.xlsx", lambda: client.get(
        f"/oversight/export.xlsx?unit={province.pk}&year={year}"))
    run("GET drill-down (signed, missing, subtree)", lambda: client.get(
        f"/oversight/drill/signed/?unit={province.pk}&year={year}&subtree=1&part=missing"))
    settings.DEBUG = True
    reset_queries()
    targets.compute(year, province)
    print(f"queries per computation: {len(connection.queries)}")
    settings.DEBUG = False


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    url = os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgres"):
        sys.exit("This benchmark needs PostgreSQL (DATABASE_URL=postgres://…).")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    ensure_database(url, args.rebuild)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    build()
    measure(args.runs)


if __name__ == "__main__":
    main()
