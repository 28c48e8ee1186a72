"""Does one document at the text cap slow searches? p95 with and without it, same queries.

Usage (from the repository root):

    .venv/bin/python benchmarks/search_cap_bench.py                # 2,000 demo documents
    .venv/bin/python benchmarks/search_cap_bench.py --docs 5000 --rounds 5

Builds two embedded indexes from the same synthetic corpus (vocabulary: the in-repo
quality corpus, tests/search_quality/corpus.jsonl): one as is, one with an extra
document holding as much text as ``SEARCH_MAX_FILE_CHARS`` lets through (pages of
``SEARCH_MAX_PAGE_CHARS``), the most one file can now put in the index. Every query
uses words that document holds, so it is among the matches of every query; the engine
pipeline (query, permission filter, facets, top 20, snippets) runs for each query
against both indexes, interleaved, several rounds. Prints p50/p95 for both and the
ratio; the issue's target is p95 within 2x. Wall-clock figures on a shared machine move
with its load (printed); CPU time of the query thread is printed too.

Before the cap, a 155 KB DOCX put 40 MB of text in the index and searches matching it
took 3.0-3.6 s instead of ~10 ms: ``--uncapped-mb 40`` adds such a document to a third
index for comparison (slow: it reads and scans 40 MB per query).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from benchmarks.search_bench import VOCABULARY, make_doc, vocabulary  # noqa: E402
from search import extract, snippets  # noqa: E402
from search.backends.base import PageRef, SearchDocument, SearchRequest  # noqa: E402
from search.backends.embedded import EmbeddedBackend  # noqa: E402
from search.service import parse_query  # noqa: E402

ACL = ["published-below:1"]


def big_document(doc_id: int, words: list[str], sentences: list[str], total_chars: int,
                 page_chars: int, rng: random.Random) -> SearchDocument:
    pages, size = [], 0
    while size < total_chars:
        parts, length = [], 0
        while length < page_chars:
            chunk = rng.choice(sentences)
            parts.append(chunk)
            length += len(chunk) + 2
        page = ". ".join(parts)[:page_chars]
        pages.append(page)
        size += len(page)
    capped, dropped = extract.cap_pages(pages, page_chars=page_chars, file_chars=total_chars)
    return SearchDocument(
        id=doc_id, version=1, unit_id=1, unit_path="/1/", unit_name="Đơn vị 1", state="issued",
        type="bao-cao", type_name="Báo cáo", year=2025, symbol="99/BC-MTTQ", number=99,
        subject="Báo cáo tổng hợp rất dài", pages=capped,
        page_refs=[PageRef(doc_id * 10, n + 1, "dai.docx") for n in range(len(capped))],
        acl=ACL)


def build(path: Path, docs: list[SearchDocument]) -> EmbeddedBackend:
    if path.exists():
        shutil.rmtree(path)
    backend = EmbeddedBackend(path, lock_timeout=60)
    backend.rebuild(iter([docs]))
    backend.refresh()
    return backend


def run_query(backend: EmbeddedBackend, text: str,
              ids: list[int] | None = None) -> tuple[float, float, set[int]]:
    t0, c0 = time.perf_counter(), time.thread_time()
    parsed = parse_query(text)
    raw = backend.search(SearchRequest(terms=parsed.terms, phrases=parsed.phrases, acl=ACL,
                                       limit=20, facets=True, document_ids=ids))
    for hit in raw.hits:
        snippets.build(hit.pages, parsed.folded_terms, [p.folded for p in parsed.phrases],
                       parsed.exact_terms, extra={"subject": hit.fields["subject"]})
    return ((time.perf_counter() - t0) * 1000, (time.thread_time() - c0) * 1000,
            {hit.id for hit in raw.hits})


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--vocabulary", default=str(VOCABULARY))
    parser.add_argument("--uncapped-mb", type=float, default=0.0,
                        help="also measure a document of this many MB of text, not capped")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    words, sentences = vocabulary(Path(args.vocabulary))
    page_chars = int(settings.SEARCH_MAX_PAGE_CHARS)
    file_chars = int(settings.SEARCH_MAX_FILE_CHARS)
    corpus = []
    for i in range(1, args.docs + 1):
        doc = make_doc(i, rng, words, sentences, 3, 1200)
        doc.acl = ACL  # every document visible: the widest case
        corpus.append(doc)
    big = big_document(args.docs + 1, words, sentences, file_chars, page_chars, rng)
    common = [w for w in words if len(w) > 2]
    held = {w.lower() for page in big.pages[:1] for w in page.split()}
    pool = [w for w in common if w.lower() in held]
    queries = []
    for k in range(args.queries):
        n = 1 + k % 3
        queries.append(" ".join(rng.choice(pool) for _ in range(n)))

    workdir = Path(tempfile.mkdtemp(prefix="search-cap-bench-"))
    try:
        indexes = {
            "without": build(workdir / "without", corpus),
            "with capped document": build(workdir / "with", [*corpus, big]),
        }
        if args.uncapped_mb:
            huge = big_document(args.docs + 2, words, sentences,
                                int(args.uncapped_mb * 1_000_000), page_chars, rng)
            indexes["with uncapped document"] = build(workdir / "huge", [*corpus, huge])
        for backend in indexes.values():  # warm-up
            for q in queries[:10]:
                run_query(backend, q)
        # Two runs: plain queries (the big document competes for the top 20 like any
        # other), and queries restricted to it plus 19 others (a meeting's papers use the
        # same filter), so it is among the hits and its stored text is read and scanned
        # for a snippet every time: the worst case.
        restricted = [sorted(rng.sample(range(1, args.docs + 1), 19)) + [big.id]
                      for _q in queries]
        for label, id_lists in (("plain", [None] * len(queries)),
                                ("big document among the hits", restricted)):
            wall = {name: [] for name in indexes}
            cpu = {name: [] for name in indexes}
            shown = 0
            for _round in range(args.rounds):
                for q, ids in zip(queries, id_lists, strict=True):
                    for name, backend in indexes.items():  # interleaved: same load for all
                        w, c, hit_ids = run_query(backend, q, ids)
                        wall[name].append(w)
                        cpu[name].append(c)
                        shown += name == "with capped document" and big.id in hit_ids
            print(f"{label}: {args.docs} documents (+1 of {sum(len(p) for p in big.pages):,} "
                  f"characters in {len(big.pages)} pages: SEARCH_MAX_FILE_CHARS={file_chars:,},"
                  f" SEARCH_MAX_PAGE_CHARS={page_chars:,}); {len(queries)} queries x "
                  f"{args.rounds} rounds; the big document in the hits of {shown} of "
                  f"{len(queries) * args.rounds}; load average {os.getloadavg()[0]:.2f}")
            for name in indexes:
                print(f"  {name:24} wall p50 {statistics.median(wall[name]):6.1f} ms  "
                      f"p95 {pct(wall[name], 0.95):6.1f} ms   CPU p50 "
                      f"{statistics.median(cpu[name]):6.1f} ms  p95 {pct(cpu[name], 0.95):6.1f} ms")
            ratio = (pct(wall["with capped document"], 0.95)
                     / max(pct(wall["without"], 0.95), 1e-9))
            print(f"  p95 ratio with/without the capped document: {ratio:.2f} (target <= 2)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
