"""Recommendations and critique replies in the search index, beside documents.

Critique conclusions and supervision reports are ordinary documents and are
indexed as such. What is not a document gets its own kind in the same index:

* ``recommendation:<pk>``: topic, content, field, addressee, source, status,
  unit and the reply text of a :class:`~workflow.oversight.models.Recommendation`;
* ``critique_reply:<pk>``: the agency's reply on a critique case (points
  accepted, points explained), only once there is one.

Both are read by exactly the people ``access.visible_cases_q`` lets read the
case (see :func:`search.acl.case_tokens`). Their state is stored with a kind
prefix (``rec:forwarded``, ``critique:closed``) so the state facet never mixes a
document's "approved" with a critique's "conclusion approved".

Versions: critique cases have ``updated_at``; recommendations have no change
time, so their version is the moment they were read for indexing (builds always
read the database afresh, so a later build is never older). Reconciliation can
therefore only add missing and remove orphaned recommendations; changes reach
the index through the save signals in :mod:`search.signals`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator

from django.apps import apps
from django.db.models import Q

from . import acl
from .backends.base import PageRef, SearchDocument

APP = "workflow.oversight"
RECOMMENDATION = "recommendation"
CRITIQUE_REPLY = "critique_reply"
INCOMING = "incoming"
# Incoming documents (search/incoming.py) ride on the same keyed tasks and reconcile.
KINDS = (RECOMMENDATION, CRITIQUE_REPLY, INCOMING)
STATE_PREFIX = {RECOMMENDATION: "rec:", CRITIQUE_REPLY: "critique:"}


def enabled() -> bool:
    return apps.is_installed(APP)


def _micros(value: dt.datetime | None) -> int:
    return int(value.timestamp() * 1_000_000) if value else 0


def _day(value: dt.date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _when(value: dt.date | None, fallback: dt.datetime | None) -> dt.datetime | None:
    if value:
        return dt.datetime.combine(value, dt.time(12), tzinfo=dt.UTC)
    return fallback


def build_recommendation(rec) -> SearchDocument:
    pages = [p for p in (rec.content, rec.reply_text) if p and p.strip()]
    names = [rec.unit.name, rec.get_field_display(), rec.get_source_display(),
             rec.get_status_display(), rec.addressee, _day(rec.raised_on), _day(rec.due_date)]
    when = _when(rec.raised_on, rec.created_at)
    return SearchDocument(
        id=rec.pk, kind=RECOMMENDATION,
        version=max(_micros(rec.created_at), time.time_ns() // 1000),
        unit_id=rec.unit_id, unit_path=rec.unit.path, unit_name=rec.unit.name,
        state=f"rec:{rec.status}", type="", type_name=str(rec.get_field_display()),
        year=when.year if when else None, date=when, subject=rec.topic,
        metadata="\n".join(str(n) for n in names if n), pages=pages,
        page_refs=[PageRef(None, 0, "") for _p in pages],
        acl=acl.case_tokens(rec.unit),
    )


def has_reply(case) -> bool:
    return bool((case.reply_accepted or "").strip() or (case.reply_explained or "").strip())


def build_critique_reply(case) -> SearchDocument:
    pages = [p for p in (case.reply_accepted, case.reply_explained) if p and p.strip()]
    names = [case.unit.name, case.agency, case.get_state_display(), _day(case.reply_received_on)]
    when = _when(case.reply_received_on, case.updated_at)
    return SearchDocument(
        id=case.pk, kind=CRITIQUE_REPLY, version=_micros(case.updated_at),
        unit_id=case.unit_id, unit_path=case.unit.path, unit_name=case.unit.name,
        state=f"critique:{case.state}", type="", type_name="",
        year=when.year if when else None, date=when, subject=case.title,
        metadata="\n".join(str(n) for n in names if n), pages=pages,
        page_refs=[PageRef(None, 0, "") for _p in pages],
        acl=acl.case_tokens(case.unit),
    )


def _reply_q() -> Q:
    return ~Q(reply_accepted="") | ~Q(reply_explained="")


def load(kind: str, ids: Iterable[int]) -> tuple[list[SearchDocument], list[str]]:
    """Fresh items of one kind, and the keys to remove (gone, or a reply taken back)."""
    if kind == INCOMING:
        from . import incoming

        return incoming.load(ids) if incoming.enabled() else ([], [])
    from workflow.oversight.models import CritiqueCase, Recommendation

    ids = sorted({int(i) for i in ids})
    if kind == RECOMMENDATION:
        found = {r.pk: build_recommendation(r) for r in
                 Recommendation.objects.select_related("unit").filter(pk__in=ids)}
    elif kind == CRITIQUE_REPLY:
        found = {c.pk: build_critique_reply(c) for c in
                 CritiqueCase.objects.select_related("unit").filter(pk__in=ids)
                 if has_reply(c)}
    else:
        return [], []
    return list(found.values()), [f"{kind}:{i}" for i in ids if i not in found]


def index_keys(keys: Iterable[str]) -> dict:
    """Index (or remove) ``kind:id`` items now, in this process."""
    from .service import get_backend

    by_kind: dict[str, list[int]] = {}
    for key in keys:
        kind, _sep, pk = str(key).partition(":")
        if kind in KINDS and pk.isdigit():
            by_kind.setdefault(kind, []).append(int(pk))
    backend = get_backend()
    written = removed = 0
    for kind, ids in by_kind.items():
        docs, gone = load(kind, ids)
        written += backend.index(docs)
        if gone:
            backend.delete(gone)
            removed += len(gone)
    return {"written": written, "deleted": removed}


def db_keys() -> dict[str, int | None]:
    """Every key that should be indexed, with its version where the database knows it."""
    from . import incoming

    if not enabled():
        return incoming.db_keys()
    from workflow.oversight.models import CritiqueCase, Recommendation

    keys: dict[str, int | None] = {
        f"{RECOMMENDATION}:{pk}": None for pk in Recommendation.objects.values_list("pk", flat=True)
    }
    for pk, updated in CritiqueCase.objects.filter(_reply_q()).values_list("pk", "updated_at"):
        keys[f"{CRITIQUE_REPLY}:{pk}"] = _micros(updated)
    keys.update(incoming.db_keys())
    return keys


def iter_batches(batch_size: int = 200) -> Iterator[list[SearchDocument]]:
    """Every recommendation and critique reply (and incoming document), for a full rebuild."""
    from . import incoming

    ids = incoming.all_ids()
    for start in range(0, len(ids), batch_size):
        yield incoming.load(ids[start:start + batch_size])[0]
    if not enabled():
        return
    from workflow.oversight.models import CritiqueCase, Recommendation

    for kind, qs in ((RECOMMENDATION, Recommendation.objects.all()),
                     (CRITIQUE_REPLY, CritiqueCase.objects.filter(_reply_q()))):
        ids = list(qs.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), batch_size):
            docs, _gone = load(kind, ids[start:start + batch_size])
            yield docs


def reconcile(backend, indexed: dict[str, int]) -> dict:
    """Queue missing or stale items and drop orphans; see the module note on versions."""
    db = db_keys()
    todo = [k for k, v in db.items() if k not in indexed or (v is not None and indexed[k] != v)]
    extra = [k for k in indexed if k.partition(":")[0] in KINDS and k not in db]
    if extra:
        backend.delete(extra)
    if todo:
        from .tasks import index_oversight

        for start in range(0, len(todo), 100):
            index_oversight.delay(todo[start:start + 100])
    return {"stale": len(todo), "removed": len(extra)}
