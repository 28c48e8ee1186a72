"""Batch issue: a clerk issues many signed documents at once and watches the progress.

``start_batch_issue`` records a :class:`BatchRun` with one item per document
and, once that commits, hands it to the ``signing.tasks.run_batch_issue``
Celery task. The task issues the documents one by one (each in its own
transaction, through :func:`signing.services.issue_many`) and writes each
item's result as soon as it is known, so the progress page reads it from the
database whichever process runs the task.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connections, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow import access
from workflow.documents.errors import InvalidInput, NotFound

from .models import BatchItem, BatchItemStatus, BatchKind, BatchRun, BatchStatus

logger = logging.getLogger(__name__)

MAX_BATCH = 500


def start_batch_issue(user, pks) -> BatchRun:
    """Record a batch of the chosen documents and queue it after commit."""
    return start_batch(user, pks, kind=BatchKind.ISSUE)


def start_batch_sign(user, pks) -> BatchRun:
    """A leader signs several approved documents at once, with the same progress page."""
    return start_batch(user, pks, kind=BatchKind.SIGN)


def start_batch(user, pks, *, kind: str) -> BatchRun:
    """Record a batch of the chosen documents and queue it after commit."""
    chosen: list[int] = []
    for value in pks:
        try:
            pk = int(value)
        except (TypeError, ValueError):
            continue
        if pk not in chosen:
            chosen.append(pk)
    if not chosen:
        raise InvalidInput(_("Choose at least one document to issue.") if kind == BatchKind.ISSUE
                           else _("Choose at least one document to sign."))
    if len(chosen) > MAX_BATCH:
        raise InvalidInput(_("At most %(count)s documents can be issued at once.")
                           % {"count": MAX_BATCH})
    with transaction.atomic():
        # Documents the user cannot see are left out silently (their existence is not
        # revealed); whether each may be issued is decided, and reported, per document.
        visible = set(access.visible_documents(user).filter(pk__in=chosen)
                      .values_list("pk", flat=True))
        order = [pk for pk in chosen if pk in visible]
        if not order:
            raise InvalidInput(_("None of the chosen documents can be found."))
        run = BatchRun.objects.create(created_by=user, kind=kind)
        BatchItem.objects.bulk_create(
            BatchItem(run=run, document_id=pk, position=index)
            for index, pk in enumerate(order, 1))
        run_id = run.pk
        transaction.on_commit(lambda: dispatch(run_id))
    return run


def dispatch(run_id: int) -> None:
    """Send the batch to a worker; without a broker, run it beside the request.

    An eager task would finish before the clerk's request returned, so the page
    could only ever show the end. Without a broker (development, small
    installations) the task therefore runs in a background thread of this
    process; it only touches committed rows and the batch's own records.
    """
    from .tasks import run_batch_issue

    if not settings.CELERY_TASK_ALWAYS_EAGER:
        run_batch_issue.delay(run_id)
    elif getattr(settings, "SIGNING_BATCH_BACKGROUND", True):
        _start_thread(run_id)
    else:
        run_batch_issue.apply(args=[run_id])


def _start_thread(run_id: int) -> threading.Thread:
    from .tasks import run_batch_issue

    def target() -> None:
        try:
            # A fresh thread may inherit nothing usable; Celery workers do this themselves.
            close_old_connections()
            run_batch_issue.apply(args=[run_id])
        except Exception:  # noqa: BLE001 - a thread has no caller to report to
            logger.exception("batch %s failed", run_id)
        finally:
            # The thread's own database connection is not closed by any request cycle.
            connections.close_all()

    thread = threading.Thread(target=target, name=f"batch-issue-{run_id}", daemon=True)
    thread.start()
    return thread


def process_batch(run_id: int) -> dict[str, int]:
    """Issue (or sign) the batch's waiting documents; resumable if a worker died half-way."""
    from .services import issue_many, sign_many

    with transaction.atomic():
        run = BatchRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status == BatchStatus.DONE:
            return {"issued": 0, "failed": 0}
        run.status = BatchStatus.RUNNING
        run.started_at = run.started_at or timezone.now()
        run.save(update_fields=["status", "started_at"])
    items = list(run.items.filter(status=BatchItemStatus.PENDING).order_by("position"))
    counts = {"issued": 0, "failed": 0}

    def progress(index: int, total: int, result: dict) -> None:
        item = items[index - 1]
        done = BatchItemStatus.SIGNED if run.kind == BatchKind.SIGN else BatchItemStatus.ISSUED
        status = done if result["ok"] else BatchItemStatus.FAILED
        counts["issued" if result["ok"] else "failed"] += 1
        BatchItem.objects.filter(pk=item.pk).update(
            status=status, symbol=result["symbol"] or "", message=result["message"] or "",
            finished_at=timezone.now())

    try:
        work = sign_many if run.kind == BatchKind.SIGN else issue_many
        work(run.created_by, [item.document_id for item in items], progress=progress)
    finally:
        # Per-document errors are results; only a crash of the batch itself (database
        # gone…) lands here with items left, and the clerk must see them as not issued.
        left = BatchItem.objects.filter(run_id=run_id, status=BatchItemStatus.PENDING)
        counts["failed"] += left.update(
            status=BatchItemStatus.FAILED, finished_at=timezone.now(),
            message=_("The batch stopped before this document was processed; "
                      "nothing was issued for it."))
        BatchRun.objects.filter(pk=run_id).update(status=BatchStatus.DONE,
                                                  finished_at=timezone.now())
    return counts


def get_run(user, token) -> BatchRun:
    """A batch, for the clerk who started it only."""
    run = BatchRun.objects.filter(token=token, created_by=user).first() if user.is_authenticated \
        else None
    if run is None:
        raise NotFound(_("This batch does not exist."))
    return run


def progress_of(run: BatchRun) -> dict:
    """What the progress page shows: counts, and each document's result."""
    counts = run.items.aggregate(
        total=Count("pk"),
        issued=Count("pk", filter=Q(status__in=[BatchItemStatus.ISSUED,
                                                 BatchItemStatus.SIGNED])),
        failed=Count("pk", filter=Q(status=BatchItemStatus.FAILED)),
    )
    done = counts["issued"] + counts["failed"]
    items = []
    for item in run.items.select_related("document", "document__document_type"):
        document = item.document
        items.append({
            "document": document.pk,
            "title": f"{document.document_type} — {document.subject}",
            "url": reverse("documents:detail", args=[document.pk]),
            "status": item.status,
            "status_display": item.get_status_display(),
            "symbol": item.symbol,
            "message": item.message,
            "pdf_url": reverse("signing:pdf", args=[document.pk, item.status])
            if item.status in (BatchItemStatus.ISSUED, BatchItemStatus.SIGNED) else "",
        })
    finished = run.status == BatchStatus.DONE
    return {
        "token": str(run.token),
        "status": run.status,
        "status_display": run.get_status_display(),
        "finished": finished,
        "total": counts["total"],
        "done": done,
        "issued": counts["issued"],
        "failed": counts["failed"],
        "kind": run.kind,
        "summary": (_("%(done)s of %(total)s processed: %(issued)s signed, %(failed)s failed.")
                    if run.kind == BatchKind.SIGN else
                    _("%(done)s of %(total)s processed: %(issued)s issued, %(failed)s failed."))
        % {"done": done, "total": counts["total"], "issued": counts["issued"],
           "failed": counts["failed"]},
        "items": items,
    }
