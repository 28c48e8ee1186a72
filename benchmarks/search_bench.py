"""Search benchmark: synthetic Vietnamese-like corpus, indexing, extraction, query latency.

Usage (from the repository root):

    .venv/bin/python benchmarks/search_bench.py                 # 2,000 docs, quick
    .venv/bin/python benchmarks/search_bench.py --docs 10000
    .venv/bin/python benchmarks/search_bench.py --docs 100000 --pages 10   # ~1M pages

Prints: indexing throughput (docs/s, pages/s), PDF text extraction (pages/s,
pypdf vs pdftotext), query latency p50/p95 over 200 queries (1–3 words,
phrases, with and without accents) through the search pipeline the service
uses (query normalisation → engine search with the permission filter, facets
and top 20 → snippet and page for every hit), index size on disk and peak
memory. The corpus is built from the words of ``../shared/seeds`` so the
vocabulary and accent distribution are Vietnamese; documents are spread over
500 units and the ACL tokens follow ``search/acl.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from search import snippets  # noqa: E402
from search.backends.base import PageRef, SearchDocument, SearchRequest  # noqa: E402
from search.backends.embedded import EmbeddedBackend  # noqa: E402
from search.normalize import fold, normalize  # noqa: E402
from search.service import parse_query  # noqa: E402

SEEDS = ROOT.parent / "shared" / "seeds"
TYPES = ["ke-hoach", "bao-cao", "thong-bao", "cong-van", "nghi-quyet", "to-trinh"]
STATES = ["draft", "submitted", "reviewed", "approved", "signed", "issued", "archived"]


def vocabulary() -> tuple[list[str], list[str]]:
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt")))
    words = re.findall(r"[^\W\d_]+", normalize(text))
    sentences = [s.strip() for s in re.split(r"[.\n]", normalize(text)) if len(s.split()) > 5]
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


def user_acl(rng: random.Random) -> list[str]:
    unit = rng.randrange(1, 501)
    return [f"drafter:{rng.randrange(1, 5000)}", f"submitted:{unit}", f"published:{unit}",
            f"published-below:{unit}", f"published-to:{unit}"]


def bench_extraction(pages: int = 20) -> dict:
    from tests.test_search_quality import make_pdf

    _words, sentences = vocabulary()
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
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    words, sentences = vocabulary()
    index_dir = Path(args.index_dir or tempfile.mkdtemp(prefix="search-bench-"))
    if index_dir.exists():
        shutil.rmtree(index_dir)
    backend = EmbeddedBackend(index_dir, lock_timeout=60)

    print(f"corpus: {args.docs} documents × {args.pages} pages × ~{args.page_chars} chars")
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
    started = time.perf_counter()
    count = backend.rebuild(iter(corpus) if corpus is not None else batches())
    elapsed = time.perf_counter() - started
    if corpus is None:
        note = " (includes corpus generation)"
    else:
        note = f" (corpus generated beforehand in {gen_time:.1f} s)"
    print(f"indexing: {count} docs in {elapsed:.1f} s = {count / elapsed:.0f} docs/s, "
          f"{count * args.pages / elapsed:.0f} pages/s{note}")
    del corpus

    size = sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file())
    print(f"index size: {size / 1e6:.1f} MB ({size / max(1, count):.0f} bytes/doc)")

    extraction = bench_extraction()
    for name, rate in extraction.items():
        print(f"extraction {name}: {rate:.0f} pages/s")

    qs = queries(rng, words, sentences, args.queries)
    timings, totals = [], []
    for q in qs[:10]:  # warm-up
        parsed = parse_query(q)
        backend.search(SearchRequest(terms=parsed.terms, phrases=parsed.phrases,
                                     acl=user_acl(rng)))
    for q in qs:
        acl = user_acl(rng)
        t0 = time.perf_counter()
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
        totals.append(raw.total)
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(f"queries: {len(qs)} (words, unaccented, phrases), permission filter + facets + "
          f"top 20 + snippets: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {timings[-1]:.1f} ms; "
          f"median visible hits {statistics.median(totals):.0f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS): {peak:.0f} MB")
    if not args.index_dir:
        shutil.rmtree(index_dir, ignore_errors=True)
    subprocess.run(["true"], check=False)


if __name__ == "__main__":
    main()
