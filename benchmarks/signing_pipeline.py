"""Benchmark: the signing pipeline against bare pyHanko, on 10-page and 100-page documents.

For each size, on the same rendered PDFs and with the same keys, TSA and
revocation sources (the DEMO PKI served on loopback, as in the tests):

* pipeline — what "Ký số" then "Cấp số và ban hành" cost: render the Decree 30
  PDF, certificate checks, the person's PAdES signature (B-T + revocation data),
  register number, number/date form filling, the seal signature at B-LTA, the
  database rows and audit records;
* bare pyHanko — PdfSigner on the already rendered PDF: the person's signature
  with the same level, then the seal signature at B-LTA, nothing else.

Then a batch: 100 signed documents issued with ``issue_many`` (the clerk's
batch button), and the whole 100 signed + issued.

    .venv/bin/python benchmarks/signing_pipeline.py [--runs 5] [--batch 100]

Runs in a throw-away directory (SQLite database, media, PKI). Figures are
printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PARAGRAPH = (
    "Căn cứ Điều lệ Mặt trận Tổ quốc Việt Nam và Chương trình phối hợp thống nhất hành động "
    "nhiệm kỳ 2024 - 2029, Ban Thường trực Ủy ban Mặt trận Tổ quốc Việt Nam tỉnh đề nghị các "
    "tổ chức thành viên, Ủy ban Mặt trận Tổ quốc các huyện, thành phố, thị xã tập trung triển "
    "khai thực hiện tốt cuộc vận động “Toàn dân đoàn kết xây dựng nông thôn mới, đô thị văn "
    "minh”, giám sát và phản biện xã hội, tổng hợp kịp thời ý kiến, kiến nghị của cử tri."
)


def setup(workdir: Path) -> None:
    os.environ["MTTQ_VAR_DIR"] = str(workdir)
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)


def body_for(pages: int, per_page: float) -> str:
    return "".join(f"<p>{PARAGRAPH}</p>" for _ in range(max(1, round(pages * per_page))))


def calibrate(org, pages: int) -> float:
    """Paragraphs per page such that the rendered document has ``pages`` pages."""
    from signing import render
    from tests.factories import draft

    per_page = 4.0
    for _ in range(4):
        doc = draft(org, type_code="ke-hoach", subject="Hiệu chỉnh", body=body_for(pages,
                                                                                  per_page))
        got = render.render_document(doc).page_count
        doc.delete()
        if got == pages:
            break
        per_page *= pages / got
    return per_page


def approved(org, pages: int, per_page: float, n: int = 1):
    from tests.factories import advance, draft

    docs = []
    for i in range(n):
        doc = draft(org, type_code="ke-hoach", subject=f"Kế hoạch số {i} ({pages} trang)",
                    body=body_for(pages, per_page))
        docs.append(advance(org, doc, "approved"))
    return docs


def pipeline_once(org, doc) -> tuple[float, bytes]:
    from signing.models import PdfStage, SignedPdf
    from workflow.documents import services

    started = time.perf_counter()
    services.perform(org.person("province", "leader"), doc.pk, "sign")
    services.perform(org.person("province", "clerk"), doc.pk, "issue")
    elapsed = time.perf_counter() - started
    rendered = SignedPdf.objects.get(document=doc, stage=PdfStage.RENDERED).read()
    return elapsed, rendered


def bare_once(pdf: bytes, person_key, seal_key) -> float:
    """Plain pyHanko: the same two signatures on the same PDF, default appearances."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    from signing.services import timestamper
    from signing.signers import open_signer
    from signing.validation import validation_context

    started = time.perf_counter()
    with open_signer(person_key) as person, open_signer(seal_key) as seal:
        tsa = timestamper()
        meta = signers.PdfSignatureMetadata(
            field_name="NguoiKy", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
            embed_validation_info=True, validation_context=validation_context(fetch=True))
        out = signers.PdfSigner(meta, signer=person, timestamper=tsa).sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False))
        meta = signers.PdfSignatureMetadata(
            field_name="DauCoQuan", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
            embed_validation_info=True, use_pades_lta=True,
            validation_context=validation_context(fetch=True))
        signers.PdfSigner(meta, signer=seal, timestamper=tsa).sign_pdf(
            IncrementalPdfFileWriter(out, strict=False))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="documents per size (median)")
    parser.add_argument("--batch", type=int, default=100, help="documents in the batch")
    parser.add_argument("--sizes", default="10,100", help="page counts, comma separated")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="mttq-sign-bench-"))
    setup(workdir)

    from django.conf import settings

    from signing import pki
    from signing.demo import attach_key, attach_seal
    from signing.models import SealProfile, SignatureProfile
    from tests.factories import make_org

    org = make_org()
    leader = org.person("province", "leader")
    leader.full_name = "Nguyễn Thị Hằng"
    leader.save()
    demo = pki.build(workdir / "pki", [
        pki.EndEntity("leader", leader.full_name),
        pki.EndEntity("seal", org.units["province"].name, organisation=org.units["province"].name,
                      kind="seal")])
    server = pki.PkiServer(demo).start()
    settings.SIGNING_PKI_DIR = str(demo.directory)
    settings.SIGNING_DEMO_PKI = True
    settings.SIGNING_TRUST_ROOTS = []
    settings.SIGNING_TSA_URL = demo.tsa_url
    attach_key(leader, demo, "leader", image=True)
    attach_seal(org.units["province"], demo, "seal")
    person_key = SignatureProfile.objects.get(user=leader).key
    seal_key = SealProfile.objects.get(unit=org.units["province"]).key

    print(f"Signing pipeline benchmark ({os.cpu_count()} CPUs, DEMO PKI, TSA/OCSP/CRL on "
          f"loopback, SQLite), median of {args.runs} documents per size\n")
    print(f"{'pages':>5}  {'pipeline (s)':>12}  {'bare pyHanko (s)':>16}  {'overhead':>8}  "
          f"{'render (s)':>10}  {'overhead w/o render':>19}")
    per_page = {}
    try:
        for pages in [int(p) for p in args.sizes.split(",")]:
            per_page[pages] = calibrate(org, pages)
            # One warm-up of each (imports, fonts, TSA certificate caches).
            warm = approved(org, pages, per_page[pages])[0]
            _t, pdf = pipeline_once(org, warm)
            bare_once(pdf, person_key, seal_key)
            pipeline_times, bare_times, render_times = [], [], []
            from signing import render

            for doc in approved(org, pages, per_page[pages], args.runs):
                started = time.perf_counter()
                render.render_document(doc)
                render_times.append(time.perf_counter() - started)
                elapsed, pdf = pipeline_once(org, doc)
                pipeline_times.append(elapsed)
                bare_times.append(bare_once(pdf, person_key, seal_key))
            p, b, r = (statistics.median(x) for x in (pipeline_times, bare_times, render_times))
            print(f"{render.page_count_of(pdf):>5}  {p:>12.2f}  {b:>16.2f}  "
                  f"{(p - b) / b:>8.0%}  {r:>10.2f}  {(p - r - b) / b:>19.0%}", flush=True)

        if args.batch:
            from signing.services import issue_many
            from workflow.documents import services

            pages = 10
            if pages not in per_page:
                per_page[pages] = calibrate(org, pages)
            docs = approved(org, pages, per_page[pages], args.batch)
            started = time.perf_counter()
            for doc in docs:
                services.perform(leader, doc.pk, "sign")
            signed = time.perf_counter() - started
            started = time.perf_counter()
            results = issue_many(org.person("province", "clerk"), [d.pk for d in docs])
            issued = time.perf_counter() - started
            ok = sum(r["ok"] for r in results)
            print(f"\nBatch of {args.batch} {pages}-page documents: leader signs all in "
                  f"{signed:.1f} s; clerk's batch issue (number + seal B-LTA) {issued:.1f} s "
                  f"({ok}/{args.batch} issued, {args.batch / issued:.1f} documents/s); "
                  f"sign + issue {signed + issued:.1f} s")
    finally:
        server.stop()
    print(f"\n(work directory {workdir}; delete it when done)")


if __name__ == "__main__":
    main()
