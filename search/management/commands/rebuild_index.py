"""Rebuild the search index from the database, with progress."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from search import indexer
from search.service import get_backend
from search.tasks import index_ids
from workflow.documents.models import Document


class Command(BaseCommand):
    help = "Rebuild the full-text search index from the database."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=200)
        parser.add_argument(
            "--stale-only", action="store_true",
            help="Only (re)index documents missing from the index or at an old version.",
        )

    def handle(self, *args, batch_size: int = 200, stale_only: bool = False, **options):
        backend = get_backend()
        started = time.monotonic()
        if stale_only:
            db = indexer.db_versions()
            indexed = backend.versions()
            stale = sorted(int(k.split(":")[1]) for k, v in db.items() if indexed.get(k) != v)
            extra = [k for k in indexed if k.startswith("document:") and k not in db]
            if extra:
                backend.delete(extra)
            for start in range(0, len(stale), batch_size):
                index_ids(stale[start:start + batch_size])
                self._progress(min(start + batch_size, len(stale)), len(stale), started)
            self.stdout.write(_("%(n)d stale documents re-indexed, %(m)d removed.")
                              % {"n": len(stale), "m": len(extra)})
            return
        total = Document.objects.count()
        done = 0

        def batches():
            nonlocal done
            for batch in indexer.iter_batches(batch_size):
                indexer.remember_acl(batch)  # reconcile_index compares ACLs with these
                done += len(batch)
                self._progress(done, total, started)
                yield batch

        count = backend.rebuild(batches())
        backend.refresh()
        elapsed = time.monotonic() - started
        self.stdout.write(
            _("Indexed %(n)d documents in %(s).1f s (%(rate).0f documents/s).")
            % {"n": count, "s": elapsed, "rate": count / elapsed if elapsed else 0}
        )

    def _progress(self, done: int, total: int, started: float) -> None:
        elapsed = time.monotonic() - started
        rate = done / elapsed if elapsed else 0.0
        self.stdout.write(
            _("%(done)d/%(total)d documents (%(rate).0f/s)")
            % {"done": done, "total": total, "rate": rate}
        )
