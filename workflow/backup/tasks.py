"""The scheduled backup (Celery beat, off by default): one archive, then old ones pruned.

A file lock in BACKUP_DIR keeps two runs from overlapping (a slow backup and the next
beat tick, or a message redelivered after a worker died); a run that died leaves only a
``.partial`` file, which the next run removes.
"""

from __future__ import annotations

import fcntl
import logging
from pathlib import Path

from celery import shared_task
from django.conf import settings

from . import secrets, service

log = logging.getLogger(__name__)


def prune(directory: Path, keep: int) -> list[Path]:
    """Remove all but the ``keep`` newest archives (by their dated names) and stale partials."""
    archives = sorted(directory.glob(f"{service.NAME_PREFIX}*{service.SUFFIX}"))
    removed = archives[:-keep] if keep > 0 else []
    removed += list(directory.glob(f"{service.NAME_PREFIX}*{service.SUFFIX}.partial"))
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


@shared_task(name="backup.scheduled", acks_late=True)
def scheduled_backup() -> dict:
    directory = Path(settings.BACKUP_DIR)
    if not settings.BACKUP_DIR:
        return {"skipped": "BACKUP_DIR is not set"}
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".backup.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return {"skipped": "another backup is running"}
        for stale in directory.glob(f"{service.NAME_PREFIX}*.partial"):
            stale.unlink(missing_ok=True)
        wants = settings.BACKUP_INCLUDE_SECRETS or settings.BACKUP_INCLUDE_KEYS
        passphrase = secrets.read_passphrase(settings.BACKUP_PASSPHRASE_FILE) if wants else None
        result = service.create_backup(directory, include_secrets=settings.BACKUP_INCLUDE_SECRETS,
                                       include_keys=settings.BACKUP_INCLUDE_KEYS,
                                       passphrase=passphrase)
        removed = prune(directory, settings.BACKUP_KEEP)
    log.info("backup written: %s (%d bytes, %.1f s)", result.path, result.size, result.seconds)
    return {**result.as_dict(), "removed": [str(p) for p in removed]}
