"""Benchmark: writing and safely reading edXML packages of growing size (no database).

    .venv/bin/python benchmarks/edxml_bench.py [--sizes 1,10,50]

For each size (MB of attachment bytes, random so base64 cannot shrink it) builds a
document package with one main PDF-sized attachment, writes it
(``edxml.write_document``) and parses it back with every check on
(``edxml.parse``: DTD refusal, strict base64, SHA-256 and size per attachment).
Prints the package size, write and read time and the peak memory of this process.
Nothing is asserted; figures are only meaningful on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    import django

    django.setup()
    from workflow.exchange import edxml

    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,10,50")
    args = parser.parse_args()
    for mb in (int(s) for s in args.sizes.split(",")):
        data = os.urandom(mb * 1024 * 1024)
        package = edxml.DocumentPackage(
            package_id="bench", document_id="000.00.00.H41,2026/01/01,1/KH-MTTQ",
            sender=edxml.Organ("000.00.00.H41", "Ủy ban MTTQ tỉnh"),
            to=[edxml.Organ("000.12.34.H41", "Ủy ban MTTQ xã")], code_number="1",
            code_notation="1/KH-MTTQ", place="Nghệ An", promulgation_date=dt.date(2026, 1, 1),
            type_code="2", type_detail="ke-hoach", type_name="Kế hoạch", subject="Benchmark",
            attachments=[edxml.Attachment("kh.pdf", "application/pdf", data, main=True)])
        start = time.perf_counter()
        xml = edxml.write_document(package)
        wrote = time.perf_counter() - start
        start = time.perf_counter()
        parsed = edxml.parse(xml, max_bytes=len(xml) + 1)
        read = time.perf_counter() - start
        assert parsed.attachments[0].data == data
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{mb:>4} MB attachment: package {len(xml) / 1e6:7.1f} MB, write {wrote:6.2f} s, "
              f"read+check {read:6.2f} s, peak RSS {peak:7.0f} MB")


if __name__ == "__main__":
    main()
