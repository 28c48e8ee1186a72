"""Re-index documents whose readers change without the document itself changing.

Documents changed through ``workflow.documents.services`` announce themselves
(``document_changed``). Two other things change who may read a document, and so
its ACL tokens (see :mod:`search.acl`):

* the organisation tree: a moved unit changes the ``published-below`` tokens of
  every document in its subtree (``unit_tree_changed``, sent by
  ``workflow.organisation.services`` after commit);
* meetings: publishing, cancelling or postponing a meeting, seating or unseating
  a participant, attaching or detaching a paper and restricting a paper change
  who reads the paper's document as a participant. These are plain model saves in
  the meetings app, so model signals are the hook, and the work waits for commit.

Ids collected during one transaction are sent as one batch when it commits.
The batch is idempotent, so a rolled-back transaction leaving ids behind only
causes one extra re-index on the next commit.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager

from django.apps import apps
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_init, post_save

log = logging.getLogger(__name__)

# Per thread, like Django's connections and their transactions: a commit in one
# request thread must not take (and index early) ids of another's open transaction.
_local = threading.local()


def _pending() -> set[int]:
    if not hasattr(_local, "ids"):
        _local.ids = set()
    return _local.ids


def deferring() -> bool:
    """Inside :func:`deferred_indexing` in this thread."""
    return getattr(_local, "deferred", 0) > 0


@contextmanager
def deferred_indexing():
    """Collect the re-indexing asked for in this block and do it once, at its end.

    For bulk work in one process (``seed_demo``): every change of a document otherwise
    re-indexes it on its own, and each write commits the index (a segment, a reload).
    If the block fails, nothing is indexed: the periodic reconcile repairs what did commit.
    """
    _local.deferred = getattr(_local, "deferred", 0) + 1
    failed = False
    try:
        yield
    except BaseException:
        failed = True
        raise
    finally:
        _local.deferred -= 1
        if not deferring():
            if failed:
                _pending().clear()
                _pending_keys().clear()
            else:
                _flush()
                _flush_keys()


def defer_document(document_id: int) -> None:
    _pending().add(int(document_id))


def _flush() -> None:
    if deferring():
        return
    pending = _pending()
    ids = sorted(pending)
    pending.clear()
    if not ids:
        return
    from .tasks import BATCH, index_batch

    for start in range(0, len(ids), BATCH):
        try:
            index_batch.delay(ids[start:start + BATCH])
        except Exception:  # committed already; the periodic reconcile catches up
            log.exception("could not queue re-indexing of %d documents", len(ids))


def reindex_on_commit(document_ids) -> None:
    """Queue the given documents for re-indexing once the current transaction commits."""
    ids = {int(i) for i in document_ids if i}
    if not ids:
        return
    _pending().update(ids)
    transaction.on_commit(_flush)


# --- oversight: recommendations and critique replies ---------------------------------------

_local_keys = threading.local()


def _pending_keys() -> set[str]:
    if not hasattr(_local_keys, "keys"):
        _local_keys.keys = set()
    return _local_keys.keys


def _flush_keys() -> None:
    if deferring():
        return
    pending = _pending_keys()
    keys = sorted(pending)
    pending.clear()
    if not keys:
        return
    from .tasks import index_oversight

    try:
        index_oversight.delay(keys)
    except Exception:  # committed already; the periodic reconcile catches up
        log.exception("could not queue re-indexing of %d oversight items", len(keys))


def reindex_keys_on_commit(keys) -> None:
    """Queue ``kind:id`` items (recommendations, critique replies) for after commit."""
    keys = {str(k) for k in keys if k}
    if keys:
        _pending_keys().update(keys)
        transaction.on_commit(_flush_keys)


def on_recommendation_changed(sender, instance, **kwargs) -> None:
    reindex_keys_on_commit([f"recommendation:{instance.pk}"])


def on_critique_changed(sender, instance, **kwargs) -> None:
    # A reply taken back or a deleted case is removed by the same task.
    reindex_keys_on_commit([f"critique_reply:{instance.pk}"])


# --- organisation tree ------------------------------------------------------------------------


def on_unit_tree_changed(sender, unit_ids, **kwargs) -> None:
    from django.db.models import Q

    from workflow.documents.models import Document
    from workflow.organisation.models import Unit

    paths = list(Unit.objects.filter(pk__in=unit_ids).values_list("path", flat=True))
    if not paths:
        return
    where = Q(unit_id__in=unit_ids)
    for path in paths:
        where |= Q(unit__path__startswith=path)
    # Sent after commit already: queue directly (on_commit runs at once outside atomic).
    reindex_on_commit(Document.objects.filter(where).values_list("pk", flat=True))
    if apps.is_installed("workflow.oversight"):
        # The leaders above a moved unit change: so do its oversight items' tokens.
        from workflow.oversight.models import CritiqueCase, Recommendation

        where = Q(unit_id__in=unit_ids)
        for path in paths:
            where |= Q(unit__path__startswith=path)
        reindex_keys_on_commit(
            [f"recommendation:{pk}" for pk in
             Recommendation.objects.filter(where).values_list("pk", flat=True)]
            + [f"critique_reply:{pk}" for pk in
               CritiqueCase.objects.filter(where).values_list("pk", flat=True)])


# --- meetings ---------------------------------------------------------------------------------


def _meeting_documents(meeting_id: int) -> list[int]:
    from workflow.meetings.models import Paper

    return list(Paper.objects.filter(meeting_id=meeting_id).values_list("document_id", flat=True))


def _remember(sender, instance, **kwargs) -> None:
    # What the row held when loaded, to re-index only when it matters: a meeting is
    # saved many times while in session, a seat on every check-in.
    instance._search_seen = (getattr(instance, "state", None), getattr(instance, "user_id", None))


def _seen(instance) -> tuple:
    return getattr(instance, "_search_seen", (None, None))


def on_meeting_saved(sender, instance, created, **kwargs) -> None:
    if created or _seen(instance)[0] != instance.state:
        reindex_on_commit(_meeting_documents(instance.pk))
    _remember(sender, instance)


def on_participant_saved(sender, instance, created, **kwargs) -> None:
    if created or _seen(instance)[1] != instance.user_id:
        reindex_on_commit(_meeting_documents(instance.meeting_id))
    _remember(sender, instance)


def on_participant_deleted(sender, instance, **kwargs) -> None:
    reindex_on_commit(_meeting_documents(instance.meeting_id))


def on_paper_changed(sender, instance, **kwargs) -> None:
    reindex_on_commit([instance.document_id])


def on_paper_restricted(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    from workflow.meetings.models import Paper

    if not reverse:  # instance is the paper
        if action in ("post_add", "post_remove", "post_clear"):
            reindex_on_commit([instance.document_id])
    elif action in ("post_add", "post_remove") and pk_set:  # instance is a user
        reindex_on_commit(Paper.objects.filter(pk__in=pk_set)
                          .values_list("document_id", flat=True))
    elif action == "pre_clear":  # afterwards nobody knows which papers they were
        reindex_on_commit(Paper.objects.filter(restricted_to=instance)
                          .values_list("document_id", flat=True))


def connect() -> None:
    from workflow.documents.models import DocumentType
    from workflow.organisation.models import Unit

    from .service import forget_names

    for model in (Unit, DocumentType):
        for signal in (post_save, post_delete):
            signal.connect(forget_names, sender=model,
                           dispatch_uid=f"search-names-{model.__name__}-{signal is post_save}")
    from workflow.organisation.services import unit_tree_changed

    unit_tree_changed.connect(on_unit_tree_changed, dispatch_uid="search-unit-tree")
    if apps.is_installed("workflow.oversight"):
        from workflow.oversight.models import CritiqueCase, Recommendation

        for signal in (post_save, post_delete):
            signal.connect(on_recommendation_changed, sender=Recommendation,
                           dispatch_uid=f"search-rec-{signal is post_save}")
            signal.connect(on_critique_changed, sender=CritiqueCase,
                           dispatch_uid=f"search-critique-{signal is post_save}")
    if not apps.is_installed("workflow.meetings"):
        return
    from workflow.meetings.models import Meeting, Paper, Participant

    for model in (Meeting, Participant):
        post_init.connect(_remember, sender=model, dispatch_uid=f"search-seen-{model.__name__}")
    post_save.connect(on_meeting_saved, sender=Meeting, dispatch_uid="search-meeting-saved")
    post_save.connect(on_participant_saved, sender=Participant,
                      dispatch_uid="search-participant-saved")
    post_delete.connect(on_participant_deleted, sender=Participant,
                        dispatch_uid="search-participant-deleted")
    post_save.connect(on_paper_changed, sender=Paper, dispatch_uid="search-paper-saved")
    post_delete.connect(on_paper_changed, sender=Paper, dispatch_uid="search-paper-deleted")
    m2m_changed.connect(on_paper_restricted, sender=Paper.restricted_to.through,
                        dispatch_uid="search-paper-restricted")
