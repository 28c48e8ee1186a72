"""Builders for case-file tests: issued documents, registered incoming ones, files."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from tests.factories import advance, draft
from workflow.incoming.models import IncomingDocument
from workflow.organisation.models import Role
from workflow.records import services


def issued(org, unit: str = "district", **extra):
    return advance(org, draft(org, unit, **extra), "issued")


def registered_incoming(org, unit: str = "district", number: int = 1, **extra):
    return IncomingDocument.objects.create(
        unit=org.units[unit], issuer_name=extra.pop("issuer_name", "UBND tỉnh Nghệ An"),
        number_symbol=extra.pop("number_symbol", f"{number:02d}/UBND-VX"),
        subject=extra.pop("subject", "V/v phối hợp tổ chức hội nghị"), arrived_at=timezone.now(),
        arrival_number=number, arrival_year=timezone.localdate().year, state="registered",
        issued_on=dt.date(2026, 1, 5), **extra)


def open_file(org, unit: str = "district", code: str = "01.VP", retention=10, by=Role.CLERK,
              **extra):
    return services.open_case_file(org.person(unit, by), org.units[unit], code=code,
                                   title=extra.pop("title", "Hồ sơ hội nghị đại đoàn kết"),
                                   retention=retention, **extra)
