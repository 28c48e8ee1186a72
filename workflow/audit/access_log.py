"""Access history (Decree 30, Appendix VI: the system keeps the history of access).

Every download of a document's file and every opening of its page is
recorded in the audit log. Page views are recorded at most once per person,
document and hour, so reading a document back and forth does not flood the
log; downloads are always recorded.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.contenttypes.models import ContentType
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


def timeline(user, document) -> QuerySet[AuditEntry]:
    """The history ``user`` is shown: downloads only for those who may see access history;
    page views are kept for the log, never listed on the page."""
    hidden = [VIEW] if access.can_see_access_history(user, document) else list(ACCESS_ACTIONS)
    return history(document).exclude(action__in=hidden)
