"""Search benchmark: synthetic Vietnamese-like corpus, indexing, extraction, query latency.

Usage (from the repository root):

    .venv/bin/python benchmarks/search_bench.py                 # 2,000 docs, quick
    .venv/bin/python benchmarks/search_bench.py --docs 10000
    .venv/bin/python benchmarks/search_bench.py --docs 100000 --pages 10   # ~1M pages
    .venv/bin/python benchmarks/search_bench.py --no-http   # skip the web server part

Prints: indexing throughput (docs/s, pages/s), PDF text extraction (pages/s,
pypdf vs pdftotext), query latency p50/p95 over 200 queries (1–3 words,
phrases, with and without accents)

* through the engine pipeline with a random unit's ACL per query (query
  normalisation → engine search with the permission filter, facets and top 20
  → snippet and page for every hit);
* through ``search.service.search`` as a real user (a leader of the root unit,
  who sees every issued document), i.e. ACL tokens from the database, facet
  labels, result assembly;
* over HTTP: time to first byte of ``/search/?q=…`` from gunicorn (2 sync
  workers) on 127.0.0.1, logged in as that user, one request at a time.

Also index size on disk, peak memory and the load average (the machine is
shared: read latencies with it). The corpus is built from the words of the in-repo
search quality corpus (``tests/search_quality/corpus.jsonl``: Decree 30/2020 text;
``--vocabulary FILE`` for another JSONL or .txt file) so the vocabulary and accent
distribution are Vietnamese;
documents are spread over 500 units and the ACL tokens follow
``search/acl.py``. The service and HTTP parts run against a throw-away SQLite
database in a temporary directory (migrated here), never the project's own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
if __name__ == "__main__":
    # A private database and var dir: the benchmark creates a user and a session.
    _VAR = Path(tempfile.mkdtemp(prefix="search-bench-var-"))
    os.environ["MTTQ_VAR_DIR"] = str(_VAR)
    os.environ["DATABASE_URL"] = f"sqlite:///{_VAR / 'bench.sqlite3'}"
    for _name in ("CELERY_BROKER_URL", "BROKER_URL", "SEARCH_URL", "ES_URL"):
        os.environ.pop(_name, None)

import django  # noqa: E402

django.setup()

from search import service, snippets  # noqa: E402
from search.backends.base import PageRef, SearchDocument, SearchRequest  # noqa: E402
from search.backends.embedded import EmbeddedBackend  # noqa: E402
from search.normalize import fold, normalize  # noqa: E402
from search.service import parse_query  # noqa: E402

VOCABULARY = ROOT / "tests" / "search_quality" / "corpus.jsonl"
TYPES = ["ke-hoach", "bao-cao", "thong-bao", "cong-van", "nghi-quyet", "to-trinh"]
STATES = ["draft", "submitted", "reviewed", "approved", "signed", "issued", "archived"]


def vocabulary(path: Path | None = None) -> tuple[list[str], list[str]]:
    """Words and sentences of real Vietnamese text; exits with a clear message without it."""
    import json

    path = Path(path or VOCABULARY)
    if not path.is_file():
        sys.exit(f"search_bench: vocabulary file not found: {path} "
                 "(expected tests/search_quality/corpus.jsonl or --vocabulary FILE)")
    raw = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        rows = [json.loads(line) for line in raw.splitlines() if line.strip()]
        raw = "\n".join(f"{r.get('title', '')}\n{r.get('text', '')}" for r in rows)
    text = normalize(raw)
    words = re.findall(r"[^\W\d_]+", text)
    sentences = [s.strip() for s in re.split(r"[.\n]", text) if len(s.split()) > 5]
    if len(words) < 100 or len(sentences) < 10:
        sys.exit(f"search_bench: {path} holds too little text for a vocabulary "
                 f"({len(words)} words, {len(sentences)} sentences)")
    return words, sentences


def make_doc(i: int, rng: random.Random, words: list[str], sentences: list[str],
             pages: int, page_chars: int) -> SearchDocument:
    unit = rng.randrange(1, 501)
    parent = (unit - 1) // 25 + 1000
    state = rng.choice(STATES)
    body = []
    for _ in range(pages):
        parts, size = [], 0
        while size < page_chars:
            chunk = rng.choice(sentences) if rng.random() < 0.5 else " ".join(
                rng.choice(words) for _ in range(12))
            parts.append(chunk)
            size += len(chunk) + 2
        body.append(". ".join(parts))
    acl = [f"drafter:{rng.randrange(1, 5000)}"]
    if state != "draft":
        acl += [f"submitted:{unit}"]
    if state in ("issued", "archived"):
        acl += [f"published:{unit}", f"published-below:{parent}", "published-below:1"]
    year = rng.choice([2021, 2022, 2023, 2024, 2025])
    return SearchDocument(
        id=i, version=1, unit_id=unit, unit_path=f"/1/{parent}/{unit}/", unit_name=f"Đơn vị {unit}",
        state=state, type=rng.choice(TYPES), type_name="Kế hoạch", year=year,
        date=dt.datetime(year, rng.randrange(1, 13), rng.randrange(1, 28), tzinfo=dt.UTC),
        number=i % 900 + 1, symbol=f"{i % 900 + 1:02d}/KH-MTTQ-BTT",
        subject=" ".join(rng.choice(words) for _ in range(rng.randrange(6, 16))),
        metadata=f"Ủy ban MTTQ đơn vị {unit}", pages=body,
        page_refs=[PageRef(i * 10 + 1, n + 1, "vb.pdf") for n in range(pages)],
        comments=[], acl=acl,
    )


def queries(rng: random.Random, words: list[str], sentences: list[str], n: int = 200) -> list[str]:
    out = []
    common = [w for w in words if len(w) > 2]
    for k in range(n):
        kind = k % 4
        if kind == 0:
            q = " ".join(rng.choice(common) for _ in range(rng.randrange(1, 4)))
        elif kind == 1:
            q = fold(" ".join(rng.choice(common) for _ in range(rng.randrange(1, 4))))
        elif kind == 2:
            s = rng.choice(sentences).split()
            start = rng.randrange(0, max(1, len(s) - 3))
            q = '"' + " ".join(s[start:start + rng.randrange(2, 4)]) + '"'
        else:
            s = rng.choice(sentences).split()
            q = fold(" ".join(s[:3]))
        out.append(q)
    return out


# queries() cycles through these kinds; latencies are also reported per kind.
QUERY_CLASSES = ("1-3 words", "1-3 words, no accents", "quoted phrase",
                 "sentence start, no accents")


def user_acl(rng: random.Random) -> list[str]:
    unit = rng.randrange(1, 501)
    return [f"drafter:{rng.randrange(1, 5000)}", f"submitted:{unit}", f"published:{unit}",
            f"published-below:{unit}", f"published-to:{unit}"]


def bench_extraction(pages: int = 20, sentences: list[str] | None = None) -> dict:
    from tests.test_search_quality import make_pdf

    sentences = sentences or vocabulary()[1]
    text = [". ".join(sentences[(p * 7 + k) % len(sentences)] for k in range(20))
            for p in range(pages)]
    data = make_pdf(text)
    results = {}
    from search.extract import pdf_pages_pdftotext, pdf_pages_pypdf

    with tempfile.NamedTemporaryFile(suffix=".pdf") as tmp:
        tmp.write(data)
        tmp.flush()
        for name, fn in [("pypdf", lambda: pdf_pages_pypdf(data)),
                         ("pdftotext", lambda: pdf_pages_pdftotext(tmp.name))]:
            if name == "pdftotext" and not shutil.which("pdftotext"):
                continue
            started = time.perf_counter()
            rounds = 5
            for _ in range(rounds):
                got = fn()
            elapsed = time.perf_counter() - started
            results[name] = rounds * len(got) / elapsed
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--pages", type=int, default=10, help="pages per document")
    parser.add_argument("--page-chars", type=int, default=1200)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--index-dir", default="")
    parser.add_argument("--reuse", action="store_true",
                        help="keep an index already in --index-dir (same --docs and --seed) "
                             "instead of rebuilding it: to measure queries again")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--vocabulary", default=str(VOCABULARY),
                        help="JSONL (title/text) or .txt file of Vietnamese text for the corpus")
    parser.add_argument("--no-service", action="store_true",
                        help="skip the service and HTTP parts (no database needed)")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP part")
    parser.add_argument("--http-workers", type=int, default=2)
    parser.add_argument("--writer-threads", type=int, default=0,
                        help="tantivy indexing threads for the rebuild (0: the backend's choice)")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    words, sentences = vocabulary(Path(args.vocabulary))
    index_dir = Path(args.index_dir or tempfile.mkdtemp(prefix="search-bench-"))
    reuse = args.reuse and args.index_dir and index_dir.exists()
    if index_dir.exists() and not reuse:
        shutil.rmtree(index_dir)
    backend = EmbeddedBackend(index_dir, lock_timeout=60)
    if reuse and backend.count() != args.docs:
        raise SystemExit(f"--reuse: {index_dir} holds {backend.count()} documents, not {args.docs}")
    if args.writer_threads:
        backend.rebuild_threads = args.writer_threads

    print(f"corpus: {args.docs} documents × {args.pages} pages × ~{args.page_chars} chars; "
          f"load average {_load()}")
    if reuse:
        print(f"indexing: reused the index in {index_dir} ({backend.count()} documents)")
        count = backend.count()
    else:
        count = _build(args, backend, rng, words, sentences)
    # Queries and ACLs have their own random stream: the same with a reused index.
    _after_build(args, backend, index_dir, count, random.Random(args.seed + 1), words, sentences)


def _build(args, backend, rng, words, sentences) -> int:
    generated = 0

    def batches():
        nonlocal generated
        batch = []
        for i in range(1, args.docs + 1):
            batch.append(make_doc(i, rng, words, sentences, args.pages, args.page_chars))
            if len(batch) == 500:
                generated += len(batch)
                yield batch
                batch = []
        if batch:
            generated += len(batch)
            yield batch

    # Generation is timed separately so the figure is the engine's, not the generator's.
    gen_started = time.perf_counter()
    corpus = [b for b in batches()] if args.docs <= 20000 else None
    gen_time = time.perf_counter() - gen_started if corpus is not None else 0.0
    started, cpu_started = time.perf_counter(), time.process_time()
    count = backend.rebuild(iter(corpus) if corpus is not None else batches())
    elapsed = time.perf_counter() - started
    cpu_used = time.process_time() - cpu_started
    if corpus is None:
        note = " (includes corpus generation)"
    else:
        note = f" (corpus generated beforehand in {gen_time:.1f} s)"
    print(f"indexing: {count} docs in {elapsed:.1f} s = {count / elapsed:.0f} docs/s, "
          f"{count * args.pages / elapsed:.0f} pages/s{note}")
    # All threads of this process (Python building documents, tantivy's indexing and
    # merging threads): on an otherwise idle 2-core machine the wall time is at least
    # half of this.
    print(f"  CPU time: {cpu_used:.1f} s ({count / max(cpu_used, 1e-9):.0f} docs per CPU-second); "
          f"load average {_load()}")
    del corpus
    return count


def _after_build(args, backend, index_dir: Path, count: int, rng, words, sentences) -> None:
    size = sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file())
    print(f"index size: {size / 1e6:.1f} MB ({size / max(1, count):.0f} bytes/doc)")

    extraction = bench_extraction(sentences=sentences)
    for name, rate in extraction.items():
        print(f"extraction {name}: {rate:.0f} pages/s")

    qs = queries(rng, words, sentences, args.queries)
    timings, totals = [], []
    for q in qs[:10]:  # warm-up
        parsed = parse_query(q)
        backend.search(SearchRequest(terms=parsed.terms, phrases=parsed.phrases,
                                     acl=user_acl(rng)))
    cpu = []
    for q in qs:
        acl = user_acl(rng)
        t0, c0 = time.perf_counter(), time.thread_time()
        parsed = parse_query(q)
        raw = backend.search(SearchRequest(terms=parsed.terms, phrases=parsed.phrases, acl=acl,
                                           limit=20, facets=True))
        if raw.total == 0 and len(parsed.terms) > 1:
            raw = backend.search(SearchRequest(terms=parsed.terms, phrases=parsed.phrases,
                                               acl=acl, limit=20, facets=True,
                                               match_all_terms=False))
        for hit in raw.hits:
            snippets.build(hit.pages, parsed.folded_terms, [p.folded for p in parsed.phrases],
                           parsed.exact_terms, extra={"subject": hit.fields["subject"]})
        timings.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
        totals.append(raw.total)
    print(f"queries, engine pipeline (random unit ACL): {len(qs)} queries, "
          f"{_percentiles(timings)}; median visible hits {statistics.median(totals):.0f}")
    print(f"  CPU time per query (this thread): {_percentiles(cpu)}")
    _print_classes(timings, cpu)
    print(f"  load average: {_load()}")

    if not args.no_service:
        user = _bench_user(index_dir)
        service_timings, service_cpu, service_totals = [], [], []
        for q in qs[:10]:
            service.search(user, q)
        for q in qs:
            t0, c0 = time.perf_counter(), time.thread_time()
            outcome = service.search(user, q, per_page=20)
            service_timings.append((time.perf_counter() - t0) * 1000)
            service_cpu.append((time.thread_time() - c0) * 1000)
            service_totals.append(outcome.total)
        print(f"queries, search.service.search as a root-unit leader: "
              f"{_percentiles(service_timings)}; median visible hits "
              f"{statistics.median(service_totals):.0f}")
        # CPU time of the query thread: what the latency would be without other
        # processes competing for the two cores (tantivy searches in the calling thread).
        print(f"  CPU time per query (this thread): {_percentiles(service_cpu)}")
        _print_classes(service_timings, service_cpu)
        print(f"  load average: {_load()}")
        if not args.no_http:
            bench_http(user, index_dir, qs, args.http_workers)

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS) of the benchmark process: {peak:.0f} MB")
    if not args.index_dir:
        shutil.rmtree(index_dir, ignore_errors=True)


def _percentiles(timings: list[float]) -> str:
    timings = sorted(timings)
    p50 = statistics.median(timings)
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
    return f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {timings[-1]:.1f} ms"


def _print_classes(timings: list[float], cpu: list[float]) -> None:
    for k, name in enumerate(QUERY_CLASSES):
        print(f"    {name}: {_percentiles(timings[k::len(QUERY_CLASSES)])}; "
              f"CPU {_percentiles(cpu[k::len(QUERY_CLASSES)])}")


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min, {os.cpu_count()} cores)"


def _bench_user(index_dir: Path):
    """A leader of the root unit (pk 1) in the private database; the index is the corpus."""
    from django.conf import settings
    from django.core.management import call_command

    from search.service import reset_backend
    from workflow.documents.document_types import ensure_document_types
    from workflow.organisation.models import Level, Membership, Role, Unit, User
    from workflow.organisation.services import create_unit

    settings.SEARCH_INDEX_DIR = index_dir
    reset_backend()
    call_command("migrate", verbosity=0, interactive=False)
    level = Level.objects.create(code="tinh", name="Tỉnh", rank=0)
    root = create_unit(name="Ủy ban MTTQ Việt Nam tỉnh", code="bench-root", level=level,
                       abbreviation="MTTQ")
    if root.pk != 1:
        raise SystemExit("the private benchmark database should be empty")
    # The corpus's other units (ids 2-500) and the document types, so facet labels are
    # looked up as in a real deployment, where every indexed unit and type exists.
    ensure_document_types()
    Unit.objects.bulk_create([
        Unit(pk=i, name=f"Đơn vị {i}", code=f"bench-{i}", level=level, parent=root,
             path=f"{root.path}{i}/") for i in range(2, 501)
    ])
    user = User.objects.create_user(username="bench-leader", password="bench-Pass-2024",
                                    full_name="Bench Leader")
    Membership.objects.create(user=user, unit=root, role=Role.LEADER)
    return user


def _session_cookie(user) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, path: str, cookie: str, timeout: float = 30) -> tuple[int, float, float]:
    """Status, time to first byte and total time (ms) of one GET on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    t0 = time.perf_counter()
    conn.request("GET", path, headers={"Cookie": cookie, "Host": "127.0.0.1"})
    response = conn.getresponse()  # returns once the status line and headers arrived
    ttfb = (time.perf_counter() - t0) * 1000
    response.read()
    total = (time.perf_counter() - t0) * 1000
    conn.close()
    return response.status, ttfb, total


def bench_http(user, index_dir: Path, qs: list[str], workers: int) -> None:
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or \
        shutil.which("gunicorn")
    if not gunicorn:
        print("http: gunicorn not installed, skipped")
        return
    cookie = _session_cookie(user)
    port = _free_port()
    env = {**os.environ, "SEARCH_INDEX_DIR": str(index_dir), "DEBUG": "0"}
    server = subprocess.Popen(
        [gunicorn, "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--worker-class", "sync", "--timeout", "60",
         "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                status, _t, _total = _get(port, "/search/?q=a", cookie, timeout=5)
                if status == 200:
                    break
                raise SystemExit(f"http: /search/ answered {status}")
            except (ConnectionError, OSError):
                if time.monotonic() > deadline or server.poll() is not None:
                    err = server.stderr.read().decode()[-2000:] if server.poll() else ""
                    print(f"http: the server did not come up, skipped {err}")
                    return
                time.sleep(0.5)
        for q in qs[:20]:  # warm every worker
            _get(port, "/search/?" + urllib.parse.urlencode({"q": q}), cookie)
        ttfbs, totals, failures = [], [], 0
        for q in qs:
            status, ttfb, total = _get(port, "/search/?" + urllib.parse.urlencode({"q": q}),
                                       cookie)
            if status != 200:
                failures += 1
            ttfbs.append(ttfb)
            totals.append(total)
        print(f"http GET /search/ (gunicorn, {workers} sync workers, 127.0.0.1, results page "
              f"with facets and snippets): time to first byte {_percentiles(ttfbs)}; "
              f"full page {_percentiles(totals)}; non-200: {failures}")
        print(f"  load average: {_load()}")
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
