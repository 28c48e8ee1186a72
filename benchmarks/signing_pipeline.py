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

Runs in a throw-away directory (SQLite database, media, PKI), removed at the
end. Figures are printed; nothing is asserted. Wall-clock figures are only
meaningful on an otherwise idle machine; the CPU seconds shown beside them are
not inflated by other processes.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import shutil
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
    # Bare pyHanko's default text stamp does not quite fit the seal field and says so
    # on every document.
    logging.getLogger("pyhanko.pdf_utils.layout").setLevel(logging.ERROR)
    call_command("migrate", verbosity=0)
    # Full-text indexing runs in the Celery worker in production; without a broker it would
    # run inline here and be counted as signing time.
    from workflow.documents.services import document_changed

    document_changed.disconnect(dispatch_uid="search-index-document")


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


def pipeline_once(org, doc) -> tuple[float, float, bytes]:
    from signing.models import PdfStage, SignedPdf
    from workflow.documents import services

    started, cpu = time.perf_counter(), time.process_time()
    services.perform(org.person("province", "leader"), doc.pk, "sign")
    services.perform(org.person("province", "clerk"), doc.pk, "issue")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    rendered = SignedPdf.objects.get(document=doc, stage=PdfStage.RENDERED).read()
    return elapsed, cpu, rendered


_bare_tsa = None


def bare_once(pdf: bytes, person_key, seal_key) -> tuple[float, float]:
    """Plain pyHanko: the same two signatures on the same PDF and keys, default appearances.

    Its own SimpleSigner (PKCS#12 loaded per document, as the pipeline does outside a
    batch) and its own HTTPTimeStamper: nothing of the pipeline's signer code is used.
    """
    global _bare_tsa
    from django.conf import settings
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.timestamps import HTTPTimeStamper

    from signing.signers import decrypt_secret
    from signing.trust import validation_context

    if _bare_tsa is None:
        _bare_tsa = HTTPTimeStamper(settings.SIGNING_TSA_URL, timeout=10)

    def load(key):
        with key.pkcs12_file.open("rb") as handle:
            return signers.SimpleSigner.load_pkcs12_data(
                handle.read(), other_certs=None,
                passphrase=decrypt_secret(key.secret_encrypted).encode())

    started, cpu = time.perf_counter(), time.process_time()
    person, seal = load(person_key), load(seal_key)
    meta = signers.PdfSignatureMetadata(
        field_name="NguoiKy", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=True, validation_context=validation_context(fetch=True))
    out = signers.PdfSigner(meta, signer=person, timestamper=_bare_tsa).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False))
    meta = signers.PdfSignatureMetadata(
        field_name="DauCoQuan", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=True, use_pades_lta=True,
        validation_context=validation_context(fetch=True))
    signers.PdfSigner(meta, signer=seal, timestamper=_bare_tsa).sign_pdf(
        IncrementalPdfFileWriter(out, strict=False))
    return time.perf_counter() - started, time.process_time() - cpu


def _serve_apart(demo):
    """The TSA/OCSP/CRL server in a child process, as a real one would be on another machine:
    in a thread of this process it would take the GIL from the signer and put its own CPU
    time into the figures of both sides."""
    import multiprocessing
    import urllib.request

    from signing import pki

    def serve():
        pki.PkiServer(demo).start()._thread.join()

    process = multiprocessing.get_context("fork").Process(target=serve, daemon=True)
    process.start()
    for _ in range(100):
        try:
            urllib.request.urlopen(demo.url_prefix, timeout=1)  # noqa: S310 - loopback
            break
        except urllib.error.HTTPError:
            break
        except OSError:
            time.sleep(0.05)
    return process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="documents per size (median)")
    parser.add_argument("--batch", type=int, default=100, help="documents in the batch")
    parser.add_argument("--sizes", default="10,100",
                        help="page counts, comma separated (empty: batch only)")
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
    server = _serve_apart(demo)
    settings.SIGNING_PKI_DIR = str(demo.directory)
    settings.SIGNING_DEMO_PKI = True
    settings.SIGNING_TRUST_ROOTS = []
    settings.SIGNING_TSA_URL = demo.tsa_url
    attach_key(leader, demo, "leader", image=True)
    attach_seal(org.units["province"], demo, "seal")
    person_key = SignatureProfile.objects.get(user=leader).key
    seal_key = SealProfile.objects.get(unit=org.units["province"]).key

    print(f"Signing pipeline benchmark ({os.cpu_count()} CPUs, DEMO PKI, TSA/OCSP/CRL on "
          "loopback in another process, SQLite, search indexing left to the worker), median of "
          f"{args.runs} documents per size; load average {os.getloadavg()[0]:.1f}\n")
    print("Wall-clock seconds per document (CPU seconds of this process in brackets: they do "
          "not count time lost to other processes on a busy machine).")
    print(f"{'pages':>5}  {'pipeline':>14}  {'bare pyHanko':>14}  {'overhead':>15}  "
          f"{'render':>6}  {'overhead w/o render':>19}")
    per_page = {}
    try:
        for pages in [int(p) for p in args.sizes.split(",") if p.strip()]:
            per_page[pages] = calibrate(org, pages)
            # One warm-up of each (imports, fonts, TSA certificate caches).
            warm = approved(org, pages, per_page[pages])[0]
            _t, _c, pdf = pipeline_once(org, warm)
            bare_once(pdf, person_key, seal_key)
            pipeline_times, bare_times, render_times = [], [], []
            pipeline_cpu, bare_cpu = [], []
            from signing import render

            for doc in approved(org, pages, per_page[pages], args.runs):
                started = time.perf_counter()
                render.render_document(doc)
                render_times.append(time.perf_counter() - started)
                elapsed, cpu, pdf = pipeline_once(org, doc)
                pipeline_times.append(elapsed)
                pipeline_cpu.append(cpu)
                elapsed, cpu = bare_once(pdf, person_key, seal_key)
                bare_times.append(elapsed)
                bare_cpu.append(cpu)
            p, b, r, pc, bc = (statistics.median(x) for x in (
                pipeline_times, bare_times, render_times, pipeline_cpu, bare_cpu))
            print(f"{render.page_count_of(pdf):>5}  {p:>6.2f} [{pc:>5.2f}]  "
                  f"{b:>6.2f} [{bc:>5.2f}]  "
                  f"{(p - b) / b:>6.0%} [{(pc - bc) / bc:>5.0%}]  {r:>6.2f}  "
                  f"{(p - r - b) / b:>19.0%}", flush=True)
            # Verifying the issued PDF (three signatures: leader, seal, document timestamp).
            from signing.models import PdfStage, SignedPdf
            from signing.validation import verify_pdf

            issued = SignedPdf.objects.filter(stage=PdfStage.ISSUED).latest("pk").read()
            verify_times = []
            for _ in range(3):
                started, cpu = time.perf_counter(), time.process_time()
                report = verify_pdf(issued)
                verify_times.append((time.perf_counter() - started, time.process_time() - cpu))
            v, vc = (statistics.median(x) for x in zip(*verify_times, strict=True))
            print(f"{'':>5}  verify_pdf of the issued PDF {v:>6.2f} [{vc:>5.2f}]  "
                  f"{report.verdict}", flush=True)

        if args.batch:
            from signing.services import issue_many
            from workflow.documents import services

            pages = 10
            if pages not in per_page:
                per_page[pages] = calibrate(org, pages)
            docs = approved(org, pages, per_page[pages], args.batch)
            started, cpu = time.perf_counter(), time.process_time()
            for doc in docs:
                services.perform(leader, doc.pk, "sign")
            signed, signed_cpu = time.perf_counter() - started, time.process_time() - cpu
            started, cpu = time.perf_counter(), time.process_time()
            results = issue_many(org.person("province", "clerk"), [d.pk for d in docs])
            issued, issued_cpu = time.perf_counter() - started, time.process_time() - cpu
            ok = sum(r["ok"] for r in results)
            print(f"\nBatch of {args.batch} {pages}-page documents, one process:\n"
                  f"  leader signs all       {signed:6.1f} s [{signed_cpu:6.1f} s CPU]\n"
                  f"  clerk's batch issue    {issued:6.1f} s [{issued_cpu:6.1f} s CPU] "
                  f"({ok}/{args.batch} issued, number + seal B-LTA)\n"
                  f"  sign + issue           {signed + issued:6.1f} s "
                  f"[{signed_cpu + issued_cpu:6.1f} s CPU]")
    finally:
        server.terminate()
        server.join()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
