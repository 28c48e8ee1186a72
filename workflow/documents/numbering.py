"""Outgoing register numbering (Decree 30/2020, Art. 15).

Numbers run from 01 on 1 January to 31 December in each register (unit, year,
series), consecutive, with no gaps and no duplicates. A number is taken only
inside the transaction that issues the document: the register row is locked
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite serialises writers), so if
anything fails before commit the counter rolls back with it and no number is lost.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Document, OutgoingRegister, RegisterEntry, Series


def series_key(document: Document) -> str:
    """The register series a document is numbered in."""
    if document.confidential:
        return Series.CONFIDENTIAL
    if document.document_type.series == Series.LEGAL:
        return Series.LEGAL
    department = document.drafting_department
    if department is not None and department.own_series:
        return f"board:{department.pk}"
    return Series.GENERAL


def format_symbol(document: Document, number: int) -> str:
    """``05/KH-MTTQ-BTT``; for a Công văn (no type abbreviation) ``05/MTTQ-BTT-BDC``."""
    abbreviation = document.document_type.abbreviation
    issuer = document.unit.abbreviation
    if abbreviation:
        return f"{number:02d}/{abbreviation}-{issuer}"
    department = document.drafting_department
    if department is not None and department.abbreviation:
        return f"{number:02d}/{issuer}-{department.abbreviation}"
    return f"{number:02d}/{issuer}"


def _locked_register(unit_id: int, year: int, series: str) -> OutgoingRegister:
    try:
        with transaction.atomic():
            OutgoingRegister.objects.get_or_create(unit_id=unit_id, year=year, series=series)
    except IntegrityError:
        # Another issuer created the same register at the same moment: use theirs.
        pass
    return OutgoingRegister.objects.select_for_update().get(
        unit_id=unit_id, year=year, series=series
    )


def assign_number(document: Document, at: datetime | None = None) -> RegisterEntry:
    """Take the next number for ``document``; must run inside the issuing transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("assign_number must run inside the issuing transaction")
    at = at or timezone.now()
    year = timezone.localtime(at).year
    register = _locked_register(document.unit_id, year, series_key(document))
    register.last_number += 1
    register.save(update_fields=["last_number"])
    number = register.last_number
    return RegisterEntry.objects.create(
        register=register,
        number=number,
        symbol=format_symbol(document, number),
        unit_id=document.unit_id,
        year=year,
        document=document,
        issued_at=at,
    )
