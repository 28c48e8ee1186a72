"""Backup and restore round trip of an existing installation; prints time and size.

    DATABASE_URL=postgres://…/mttq_demo MTTQ_VAR_DIR=/tmp/demo \\
        .venv/bin/python benchmarks/backup_bench.py --pad-files 8000 --pad-kb 240

It runs ``manage.py backup`` against the installation named by the environment, then
``manage.py restore`` into a NEW installation: a new PostgreSQL database (or SQLite file)
named after the source plus ``_bench_restore`` and a temporary var/ folder, both removed
afterwards. ``--pad-files`` first adds that many random (incompressible, like PDFs)
files under MEDIA_ROOT/bench-padding/ to measure throughput on a larger media folder;
they are not referenced by the database, so only the archive's own SHA-256 checks cover
them. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent


def manage(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds (child's user+sys) of one manage.py command, and its stdout."""
    started = time.monotonic()
    before = os.times()
    done = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env,  # noqa: S603
                          cwd=ROOT, capture_output=True, text=True, check=False)
    after = os.times()
    if done.returncode != 0:
        sys.exit(f"{args[0]} failed:\n{done.stdout}\n{done.stderr}")
    cpu = (after.children_user - before.children_user) + (after.children_system
                                                          - before.children_system)
    return time.monotonic() - started, cpu, done.stdout


def pad(media: Path, files: int, kb: int) -> None:
    folder = media / "bench-padding"
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(files):
        path = folder / f"{n:06d}.pdf"
        if not path.exists():
            path.write_bytes(b"%PDF-1.7\n" + os.urandom(kb * 1024))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pad-files", type=int, default=0)
    parser.add_argument("--pad-kb", type=int, default=240)
    parser.add_argument("--pdf-sample", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the archive and the copy")
    opts = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    var = Path(os.environ.get("MTTQ_VAR_DIR", ROOT / "var"))
    media = Path(os.environ.get("MEDIA_ROOT", var / "media"))
    if opts.pad_files:
        pad(media, opts.pad_files, opts.pad_kb)
    work = Path(tempfile.mkdtemp(prefix="mttq-backup-bench-"))
    target_var = work / "var"
    target_var.mkdir()
    env = {**os.environ}
    print(f"load average before: {os.getloadavg()}")
    wall, cpu, out = manage(["backup", str(work / "backup.tar"), "--json"], env)
    made = json.loads(out.strip().splitlines()[-1])
    print(f"backup: {wall:.1f} s wall ({cpu:.1f} s CPU, pg_dump included), "
          f"{made['size'] / 2 ** 20:.1f} MB, {made['media_files']} stored files, "
          f"{made['tables']} tables, {made['rows']} rows; in-process {made['seconds']} s")
    if url.startswith("postgres"):
        parsed = urlparse(url)
        name = f"{parsed.path.lstrip('/')}_bench_restore"
        admin = ["psql", "-h", parsed.hostname or "127.0.0.1", "-p", str(parsed.port or 5432),
                 "-U", parsed.username or "postgres", "-d", "postgres", "-qc"]
        subprocess.run([*admin, f'DROP DATABASE IF EXISTS "{name}"'], check=True)  # noqa: S603
        subprocess.run([*admin, f'CREATE DATABASE "{name}"'], check=True)  # noqa: S603
        target_url = parsed._replace(path=f"/{name}").geturl()
    else:
        target_url = f"sqlite:///{target_var / 'db.sqlite3'}"
    pki = var / "signing-pki"
    if pki.is_dir():  # the new installation trusts the same DEMO root, as a real one would
        shutil.copytree(pki, target_var / "signing-pki")
    target_env = {k: v for k, v in env.items() if k not in ("MEDIA_ROOT", "SEARCH_INDEX_DIR")}
    target_env.update(DATABASE_URL=target_url, MTTQ_VAR_DIR=str(target_var))
    args = ["restore", str(work / "backup.tar"), "--json"]
    if opts.pdf_sample is not None:
        args += ["--pdf-sample", str(opts.pdf_sample)]
    wall, cpu, out = manage(args, target_env)
    report = json.loads(out.strip().splitlines()[-1])
    pdfs, index, files = report["issued_pdfs"], report["search_index"], report["stored_files"]
    print(f"restore: {wall:.1f} s wall ({cpu:.1f} s CPU, pg_restore included); "
          f"in-process {report['seconds']} s, ok={report['ok']}")
    print(f"  rows {report['rows']} in {report['tables']} tables, count mismatches "
          f"{len(report['count_mismatches'])}; media files {report['media_files']}")
    print(f"  stored files hashed {files['checked']}: mismatched {files['mismatched']}, "
          f"missing {files['missing']}")
    print(f"  issued PDFs verified {pdfs['checked']} of {pdfs['total']} in {pdfs['seconds']} s: "
          f"PASSED {pdfs['PASSED']}, FAILED {pdfs['FAILED']}, "
          f"INDETERMINATE {pdfs['INDETERMINATE']}")
    print(f"  search index rebuilt in {index['seconds']} s: {index['indexed']} entries, "
          f"missing {index['missing']}, extra {index['extra']}")
    print(f"load average after: {os.getloadavg()}")
    if not opts.keep:
        shutil.rmtree(work)
        if url.startswith("postgres"):
            subprocess.run([*admin, f'DROP DATABASE IF EXISTS "{name}"'], check=True)  # noqa: S603


if __name__ == "__main__":
    main()
