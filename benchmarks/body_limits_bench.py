"""How long the HTML body checks take (issue 23 #7): the pre-scan, nh3, and the review's
attack (200,000 nested <div>, which took 190 s in nh3 before the limits). Prints figures.

    .venv/bin/python benchmarks/body_limits_bench.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from workflow.documents import html_limits, services  # noqa: E402
from workflow.documents.errors import InvalidInput  # noqa: E402


def timed(label: str, fn) -> None:
    start = time.perf_counter()
    try:
        fn()
        outcome = "accepted"
    except InvalidInput:
        outcome = "refused"
    print(f"{label:<60} {outcome:>9} {(time.perf_counter() - start) * 1000:9.1f} ms")


def main() -> None:
    nested = "<div>" * 200_000 + "x" + "</div>" * 200_000
    group = "<div>" * 99 + "x" + "</div>" * 99
    deepest = group * 470  # just under the default size and tag limits
    styled = '<p style="text-align:center;font-weight:bold">Căn cứ Điều lệ Mặt trận</p>' * 5000
    timed("attack: 200,000 nested <div> (2.2 MB)", lambda: services.clean_html(nested))
    timed(f"worst accepted: 470 x depth 99 ({len(deepest) // 1024} KB)",
          lambda: services.clean_html(deepest))
    timed("pre-scan only, same body", lambda: html_limits.check_body(deepest))
    timed(f"5,000 styled paragraphs ({len(styled.encode()) // 1024} KB)",
          lambda: services.clean_html(styled))
    timed("pre-scan only, same body", lambda: html_limits.check_body(styled))


if __name__ == "__main__":
    main()
