"""Incoming documents in the search index: kind ``incoming``, the receiving unit's ACL.

``incoming:<pk>`` carries the Appendix VI fields, the direction, notes, result and
the text of its files (the issued PDF's text layer, or the OCR of a scan). It is
read by exactly the people ``access.visible_incoming_q`` lets read it (see
:func:`search.acl.incoming_tokens`): never by the other units that received the
same document. Its unit is the receiving unit; the state is stored as ``in:<state>``.
Versions are ``updated_at`` in microseconds; notes and OCR re-index through
:func:`workflow.incoming.signals.incoming_changed_many`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.apps import apps
from django.utils import timezone

from . import acl, indexer
from .backends.base import PageRef, SearchDocument

APP = "workflow.incoming"
KIND = "incoming"


def enabled() -> bool:
    return apps.is_installed(APP)


def _micros(value: dt.datetime | None) -> int:
    return int(value.timestamp() * 1_000_000) if value else 0


def _file_pages(attachment) -> list[str]:
    item = attachment.file
    if item.ocr_text:
        return [p for p in item.ocr_text.split("\f") if p.strip()]
    if item.content_type != "application/pdf":
        return []
    from . import extract

    try:
        return [p for p in extract.extract(item.read(), item.content_type).pages if p.strip()]
    except Exception:  # noqa: BLE001 - an unreadable file leaves the metadata searchable
        return []


def build(incoming, file_pages: dict[int, list[str]] | None = None) -> SearchDocument:
    file_pages = {} if file_pages is None else file_pages
    pages: list[str] = []
    refs: list[PageRef] = []
    for attachment in incoming.attachments.all():
        if attachment.file_id not in file_pages:
            file_pages[attachment.file_id] = _file_pages(attachment)
        for number, page in enumerate(file_pages[attachment.file_id], start=1):
            pages.append(page)
            refs.append(PageRef(None, number, attachment.name))
    for text in (incoming.direction, incoming.result,
                 *(n.text for n in incoming.notes.all())):
        if text and text.strip():
            pages.append(text)
            refs.append(PageRef(None, 0, ""))
    when = incoming.arrived_at
    names = [incoming.issuer_name, incoming.type_name, incoming.signer_name, incoming.unit.name,
             incoming.get_source_display(), incoming.description]
    for value in (incoming.issued_on, incoming.deadline):
        if value:
            names.append(value.strftime("%d/%m/%Y"))
    if incoming.arrival_number:
        names.append(f"số đến {incoming.arrival_number}")
    participants = [p.user_id for p in incoming.participants.all()]
    return SearchDocument(
        id=incoming.pk, kind=KIND, version=_micros(incoming.updated_at),
        unit_id=incoming.unit_id, unit_path=incoming.unit.path, unit_name=incoming.unit.name,
        state=f"in:{incoming.state}", type="", type_name=incoming.type_name,
        year=timezone.localtime(when).year if when else None, date=when,
        number=incoming.arrival_number, symbol=incoming.number_symbol,
        subject=incoming.subject, metadata="\n".join(str(n) for n in names if n),
        pages=pages, page_refs=refs,
        acl=acl.incoming_tokens(incoming.unit_id, participants, incoming.presented_to_id),
        file_codes=indexer.file_codes(incoming),
    )


def _queryset():
    from workflow.incoming.models import IncomingDocument

    return IncomingDocument.objects.select_related("unit").prefetch_related(
        "attachments__file", "notes", "participants",
        *(["case_file_items__case_file__unit"] if apps.is_installed(indexer.RECORDS_APP) else []))


def load(ids: Iterable[int]) -> tuple[list[SearchDocument], list[str]]:
    ids = sorted({int(i) for i in ids})
    shared: dict[int, list[str]] = {}  # one extraction per file, whatever the recipients
    found = {i.pk: build(i, shared) for i in _queryset().filter(pk__in=ids)}
    return list(found.values()), [f"{KIND}:{i}" for i in ids if i not in found]


def db_keys() -> dict[str, int | None]:
    if not enabled():
        return {}
    from workflow.incoming.models import IncomingDocument

    return {f"{KIND}:{pk}": _micros(updated)
            for pk, updated in IncomingDocument.objects.values_list("pk", "updated_at")}


def all_ids() -> list[int]:
    if not enabled():
        return []
    from workflow.incoming.models import IncomingDocument

    return list(IncomingDocument.objects.order_by("pk").values_list("pk", flat=True))
