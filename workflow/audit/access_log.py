"""Access history (Decree 30, Appendix VI: the system keeps the history of access).

Every download of a document's file and every opening of its page is
recorded in the audit log. Page views are recorded at most once per person,
document and hour, so reading a document back and forth does not flood the
log; downloads are always recorded.
"""

from __future__ import annotations

import atexit
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone

from workflow import access

from .models import AuditEntry
from .services import history, record

VIEW = "document.view"
DOWNLOAD = "document.download"
ACCESS_ACTIONS = (VIEW, DOWNLOAD)
VIEW_WINDOW = timedelta(hours=1)


def record_download(document, user, *, name: str, version_hash: str = "",
                    via: str = "") -> AuditEntry:
    """``name``: the file as the person received it; ``via``: e.g. "API"."""
    comment = f"{name} ({via})" if via else name
    return record(document, DOWNLOAD, actor=user, from_state=document.state,
                  to_state=document.state, comment=comment[:2000], version_hash=version_hash)


def record_view(document, user, *, now: datetime | None = None) -> bool:
    """Record that ``user`` opened ``document``, unless they already did within the hour.

    The check is one indexed lookup (content type, object id, time). Returns
    whether a record was written.
    """
    if not getattr(user, "is_authenticated", False):
        return False
    now = now or timezone.now()
    recent = AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(document), object_id=str(document.pk),
        at__gte=now - VIEW_WINDOW, action=VIEW, actor=user,
    )
    if recent.exists():
        return False
    record(document, VIEW, actor=user, from_state=document.state, to_state=document.state)
    return True


def record_paper_read(user_id: int, document_id: int, *, name: str, paper_id=None,
                      download: bool = False, now: datetime | None = None) -> bool:
    """A meeting paper opened (in the room, from the meeting page, through the API).

    Cheap on purpose: 150 delegates open the same paper within seconds. Reads are kept
    once per person, document and hour; downloads always. Rows need no lookup of the
    document or the person. With ``ACCESS_LOG_BATCH_SECONDS`` (production) a read only
    joins this process's batch (no query, no cache round trip on the request); the
    batch is written within those seconds, off the request path: a cache ``add`` per
    read (the once-an-hour rule across processes) and one INSERT. Without it each read
    is decided by the same ``add`` and written at once.
    """
    from workflow.documents.models import Document

    if not user_id or not document_id:
        return False
    now = now or timezone.now()
    key = None
    if not download:
        bucket = int(now.timestamp() // VIEW_WINDOW.total_seconds())
        key = f"access-log:paper:{user_id}:{document_id}:{bucket}"
    comment = f"{name} (meeting paper {paper_id})" if paper_id else name
    entry = AuditEntry(
        content_type=ContentType.objects.get_for_model(Document), object_id=str(document_id),
        actor_id=user_id, action=DOWNLOAD if download else VIEW, comment=comment[:2000])
    delay = getattr(settings, "ACCESS_LOG_BATCH_SECONDS", 0)
    if delay <= 0:
        if key and not cache.add(key, 1, int(VIEW_WINDOW.total_seconds())):
            return False
        entry.save()
        return True
    global _TIMER
    with _BATCH_LOCK:
        if key:
            if key in _SEEN:
                return False
            if len(_SEEN) >= _SEEN_MAX:
                _SEEN.clear()
            _SEEN.add(key)
        _BATCH.append((key, entry))
        full = len(_BATCH) >= _BATCH_MAX
        if not full and _TIMER is None:
            # Whatever is left is written within ``delay`` seconds, on a thread of its own.
            _TIMER = threading.Timer(delay, _flush_in_thread)
            _TIMER.daemon = True
            _TIMER.start()
    if full:
        flush_paper_reads()
    return True


_BATCH: list[tuple[str | None, AuditEntry]] = []
_BATCH_MAX = 200
_BATCH_LOCK = threading.Lock()
_SEEN: set[str] = set()  # this process's reads of the current hours
_SEEN_MAX = 100_000
_TIMER: threading.Timer | None = None


def flush_paper_reads() -> int:
    """Write the batched paper reads now (also at process exit); returns rows written."""
    global _TIMER
    with _BATCH_LOCK:
        rows = _BATCH[:]
        _BATCH.clear()
        if _TIMER is not None:
            _TIMER.cancel()
            _TIMER = None
    if not rows:
        return 0
    # Another process may have logged the same read this hour: an atomic ``add`` per
    # read decides it (here, off the request path; a get_many/set_many pair would let
    # two processes flushing at once both write).
    ttl = int(VIEW_WINDOW.total_seconds())
    entries = [e for k, e in rows if not k or cache.add(k, 1, ttl)]
    # ``at`` (auto_now_add) becomes the write time: seconds after the read at most.
    AuditEntry.objects.bulk_create(entries)
    return len(entries)


def _flush_in_thread() -> None:
    from django.db import connections

    try:
        flush_paper_reads()
    finally:
        connections.close_all()  # this thread's own connections only


atexit.register(flush_paper_reads)


CASE_FILE_OPEN = "casefile.open"


def record_case_file(case, user, *, name: str) -> AuditEntry:
    """An oversight case file opened; recorded on the case (every opening: they are rare)."""
    return record(case, CASE_FILE_OPEN, actor=user, from_state=getattr(case, "state", ""),
                  to_state=getattr(case, "state", ""), comment=name[:2000])


def timeline(user, document) -> QuerySet[AuditEntry]:
    """The history ``user`` is shown: downloads only for those who may see access history;
    page views are kept for the log, never listed on the page."""
    hidden = [VIEW] if access.can_see_access_history(user, document) else list(ACCESS_ACTIONS)
    return history(document).exclude(action__in=hidden)
