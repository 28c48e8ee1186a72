"""The database half of a backup: PostgreSQL through pg_dump/pg_restore, SQLite's backup API.

PostgreSQL: the row counts written to the manifest and the dump come from one snapshot
(``pg_export_snapshot`` in a REPEATABLE READ transaction, ``pg_dump --snapshot``), so a
restore compares like with like even while people keep working during the backup.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess  # noqa: S404 - pg_dump/pg_restore with argument lists, no shell
from pathlib import Path

from django.apps import apps
from django.db import connection
from django.utils.translation import gettext as _

from .archive import BackupError

# Rows in these mean people have worked here: restoring over them needs --force.
_MARKERS = ("organisation.User", "organisation.Unit", "documents.Document")


def engine() -> str:
    vendor = connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise BackupError(_("Backups support PostgreSQL and SQLite, not %(v)s.") % {"v": vendor})
    return vendor


def _tables() -> list[str]:
    existing = set(connection.introspection.table_names())
    return sorted({m._meta.db_table for m in apps.get_models(include_auto_created=True)
                   if m._meta.managed and not m._meta.proxy} & existing)


def count_rows(cursor, tables: list[str]) -> dict[str, int]:
    quote = connection.ops.quote_name
    counts = {}
    for table in tables:
        cursor.execute(f"SELECT COUNT(*) FROM {quote(table)}")  # noqa: S608 - model tables
        counts[table] = cursor.fetchone()[0]
    return counts


def _pg_env() -> tuple[dict[str, str], list[str]]:
    params = connection.settings_dict
    env = {**os.environ}
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"),
                     ("PASSWORD", "PGPASSWORD")):
        if params.get(key):
            env[var] = str(params[key])
    return env, ["--dbname", params["NAME"]]


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    tool = shutil.which(args[0])
    if tool is None:
        raise BackupError(_("%(tool)s is not installed (Debian package postgresql-client).")
                          % {"tool": args[0]})
    done = subprocess.run([tool, *args[1:]], env=env, capture_output=True,  # noqa: S603
                          text=True, check=False)
    if done.returncode != 0:
        raise BackupError(_("%(what)s failed: %(error)s")
                          % {"what": what, "error": done.stderr.strip()[-2000:]})


def dump(target: Path) -> dict[str, int]:
    """Write the database to ``target``; return the row count of every table in it."""
    if connection.in_atomic_block:
        # The dump must see committed data only, from its own snapshot.
        raise BackupError(_("A backup cannot run inside a database transaction."))
    if engine() == "sqlite":
        connection.ensure_connection()
        destination = sqlite3.connect(target)
        try:
            connection.connection.backup(destination)
            # A copy in rollback-journal mode opens read-only without -wal/-shm files.
            destination.execute("PRAGMA journal_mode=DELETE")
            return count_rows(destination.cursor(), _tables())
        finally:
            destination.close()
    env, db = _pg_env()
    connection.ensure_connection()
    raw = connection.connection
    previous = raw.autocommit
    raw.autocommit = False
    try:
        with raw.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            counts = count_rows(cursor, _tables())
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                  f"--snapshot={snapshot}", "--file", str(target), *db], env, "pg_dump")
        raw.rollback()
    finally:
        raw.autocommit = previous
    return counts


def is_empty() -> bool:
    """No person, unit or document yet (a new database, migrated or not)."""
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for label in _MARKERS:
            table = apps.get_model(label)._meta.db_table
            if table in existing:
                cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")  # noqa: S608
                if cursor.fetchone():
                    return False
    return True


def _drop_all_tables() -> None:
    """An emptied database for pg_restore: a migrated empty one has every table already."""
    names = connection.introspection.table_names()
    if not names:
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS " + ", ".join(quote(n) for n in names)
                       + " CASCADE")


def load(source: Path) -> None:
    """Replace the database's content with the dump at ``source``."""
    if engine() == "sqlite":
        connection.ensure_connection()
        origin = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            # Page by page into the live connection: the copy replaces every table at once.
            origin.backup(connection.connection)
        finally:
            origin.close()
        return
    _drop_all_tables()
    connection.close()
    env, db = _pg_env()
    _run(["pg_restore", "--no-owner", "--no-privileges", "--single-transaction",
          "--exit-on-error", *db, str(source)], env, "pg_restore")


def current_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        return count_rows(cursor, _tables())


def applied_migrations() -> list[str]:
    from django.db.migrations.recorder import MigrationRecorder

    recorder = MigrationRecorder(connection)
    if not recorder.has_table():
        return []
    return sorted(f"{app}.{name}" for app, name in recorder.applied_migrations())


def unknown_migrations(applied: list[str]) -> list[str]:
    """Migrations the backup's database has that this program does not know (newer code)."""
    from django.db.migrations.loader import MigrationLoader

    known = {f"{app}.{name}" for app, name in MigrationLoader(None, ignore_no_migrations=True)
             .disk_migrations}
    ours = {m.split(".")[0] for m in known}
    return sorted(m for m in applied if m.split(".")[0] in ours and m not in known)
