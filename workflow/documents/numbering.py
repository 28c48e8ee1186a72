"""Outgoing register numbering (Decree 30/2020, Art. 15).

Numbers run from 01 on 1 January to 31 December in each register (unit, year,
series), consecutive, with no gaps and no duplicates. A number is taken only
inside the transaction that issues the document: the register row is locked
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite serialises writers), so if
anything fails before commit the counter rolls back with it and no number is lost.

Series kept apart (Art. 15 and Appendix I, I.3.a):

* each type of legal normative document has its own series, and its symbol
  carries the year (``05/2025/NQ-MTTQ-BTT``), as the law on legal documents wants;
* confidential documents have their own series; their symbol carries a mark
  (``settings.MTTQ_CONFIDENTIAL_SYMBOL_MARK``, default ``M``) so that number and
  symbol stay unique in the unit's year even though two series both start at 01;
* a council or board (a department with ``own_series``) issuing under the unit's
  seal has its own series and signs its symbols with its own abbreviation.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .errors import Conflict
from .models import Document, OutgoingRegister, RegisterEntry, Series


def series_key(document: Document) -> str:
    """The register series a document is numbered in."""
    if document.confidential:
        return Series.CONFIDENTIAL
    if document.document_type.series == Series.LEGAL:
        # "Mỗi loại văn bản quy phạm pháp luật được cấp hệ thống số riêng" (Art. 15.1.a).
        return f"{Series.LEGAL}:{document.document_type.code}"
    department = document.drafting_department
    if department is not None and department.own_series:
        return f"board:{department.pk}"
    return Series.GENERAL


def _issuer(document: Document) -> str:
    department = document.drafting_department
    if department is not None and department.own_series and department.abbreviation:
        return department.abbreviation
    return document.unit.abbreviation


def format_symbol(document: Document, number: int, year: int | None = None) -> str:
    """``05/KH-MTTQ-BTT``; a Công văn (no type abbreviation) gives ``05/MTTQ-BTT-BDC``.

    Numbers below 10 get a leading zero (Appendix I, I.3.c).
    """
    abbreviation = document.document_type.abbreviation
    issuer = _issuer(document)
    department = document.drafting_department
    if abbreviation:
        symbol = f"{abbreviation}-{issuer}"
    elif (
        department is not None
        and department.abbreviation
        and not department.own_series
    ):
        symbol = f"{issuer}-{department.abbreviation}"
    else:
        symbol = issuer
    if document.confidential:
        mark = getattr(settings, "MTTQ_CONFIDENTIAL_SYMBOL_MARK", "M")
        if mark:
            symbol = f"{symbol}-{mark}"
    if document.document_type.series == Series.LEGAL and not document.confidential:
        if year is None:
            year = timezone.localtime().year
        return f"{number:02d}/{year}/{symbol}"
    return f"{number:02d}/{symbol}"


def number_line(symbol: str) -> str:
    """The line printed under the issuer's name: ``Số: 05/KH-MTTQ-BTT``.

    Part of the legal layout, so Vietnamese whatever the interface language.
    """
    return f"Số: {symbol}"


def locked_counter(model, **keys):
    """The counter row of a register (outgoing or incoming), created if needed, locked.

    Must run inside the transaction that uses the number, so a rollback gives it back.
    """
    try:
        with transaction.atomic():
            model.objects.get_or_create(**keys)
    except IntegrityError:
        # Another transaction created the same register at the same moment: use theirs.
        pass
    # On PostgreSQL a waiting ``FOR UPDATE`` returns the row as the previous holder
    # committed it, so ``last_number`` is never stale.
    return model.objects.select_for_update().get(**keys)


def _locked_register(unit_id: int, year: int, series: str) -> OutgoingRegister:
    return locked_counter(OutgoingRegister, unit_id=unit_id, year=year, series=series)


def assign_number(document: Document, at: datetime | None = None) -> RegisterEntry:
    """Take the next number for ``document``; must run inside the issuing transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("assign_number must run inside the issuing transaction")
    at = at or timezone.now()
    # The year is the one on the unit's wall clock (Asia/Ho_Chi_Minh), not UTC's.
    year = timezone.localtime(at).year
    register = _locked_register(document.unit_id, year, series_key(document))
    if register.closed_at is not None:
        # The unit was merged away: its register keeps its last number, the successor
        # numbers from now on (open documents moved there with the reorganisation).
        raise Conflict(
            _("The register of %(unit)s is closed since %(date)s: the unit was merged.")
            % {"unit": document.unit.name,
               "date": timezone.localdate(register.closed_at).isoformat()}
        )
    number = register.last_number + 1
    symbol = format_symbol(document, number, year)
    # Series of one unit must never print the same number and symbol in one year
    # (Art. 15.1); this only trips on a misconfiguration such as a board without
    # its own abbreviation. Refusing keeps the register clean.
    if RegisterEntry.objects.filter(unit_id=document.unit_id, year=year, symbol=symbol).exists():
        raise Conflict(
            _(
                "The number and symbol %(symbol)s is already used this year by another "
                "series of this unit. Give the issuing board its own abbreviation."
            )
            % {"symbol": symbol}
        )
    register.last_number = number
    register.save(update_fields=["last_number"])
    return RegisterEntry.objects.create(
        register=register,
        number=number,
        symbol=symbol,
        unit_id=document.unit_id,
        year=year,
        document=document,
        issued_at=at,
    )
