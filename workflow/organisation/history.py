"""The organisation tree as it was on a given day, and over a given year.

A unit exists from ``valid_from`` (empty: since the history starts) until
``retired_at`` (merged or retired). Its name and parent before a rename or a move are
kept in :class:`~workflow.organisation.models.UnitHistory` rows ending on the day of the
change; the current values live on the unit. Paths are recomputed from the parents of
the day, so a 2024 view shows communes under their districts even though the merged
communes hang under the province today.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable

from django.db.models import Q
from django.utils import timezone

from .models import Unit, UnitHistory

FIELDS = ("id", "name", "abbreviation", "code", "parent_id", "path", "valid_from",
          "retired_at", "is_active", "level__code", "level__name", "level__rank")


def _start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _snapshot(rows: list[dict], day_of: Callable[[dict], dt.date]) -> list[dict]:
    """Rows with name, abbreviation, parent and path as they were on each row's day."""
    periods: dict[int, list[dict]] = defaultdict(list)
    for h in UnitHistory.objects.filter(unit_id__in=[r["id"] for r in rows]).order_by(
            "unit_id", "valid_to", "pk").values("unit_id", "valid_to", "name", "abbreviation",
                                               "parent_id"):
        periods[h["unit_id"]].append(h)
    for row in rows:
        day = day_of(row)
        for h in periods.get(row["id"], ()):
            if h["valid_to"] > day:
                row.update(name=h["name"], abbreviation=h["abbreviation"],
                           parent_id=h["parent_id"])
                break
    parents = {r["id"]: r["parent_id"] for r in rows}
    # Parents outside the set (gone before the day) keep today's links.
    missing = {p for p in parents.values() if p is not None and p not in parents}
    while missing:
        found = dict(Unit.objects.filter(pk__in=missing).values_list("id", "parent_id"))
        parents.update(found)
        missing = {p for p in found.values() if p is not None and p not in parents}
    paths: dict[int, str] = {}

    def path_of(uid: int) -> str:
        if uid not in paths:
            chain, cur = [], uid
            while cur is not None and cur not in paths and cur not in chain:
                chain.append(cur)
                cur = parents.get(cur)
            prefix = paths.get(cur, "/") if cur is not None else "/"
            for node in reversed(chain):
                prefix = f"{prefix}{node}/"
                paths[node] = prefix
        return paths[uid]

    for row in rows:
        row["path"] = path_of(row["id"])
    # Numeric order of the ids along the path: parents first, siblings as created.
    rows.sort(key=lambda r: [int(p) for p in r["path"].strip("/").split("/") if p])
    return rows


def units_on(day: dt.date) -> list[dict]:
    """Every unit that existed on ``day``, with its name and place of that day."""
    qs = Unit.objects.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=day)).filter(
        Q(retired_at__isnull=True) | Q(retired_at__gt=_start(day)))
    return _snapshot(list(qs.values(*FIELDS)), lambda _row: day)


def units_in_year(year: int, today: dt.date | None = None) -> list[dict]:
    """Every unit that existed at some time in ``year``, each as on its last day in it.

    A commune merged on 1 July 2025 appears in 2025 under its district (as on 30 June);
    its successor appears too, as it is at the end of the year.
    """
    today = today or timezone.localdate()
    first, last = dt.date(year, 1, 1), min(dt.date(year, 12, 31), max(today, dt.date(year, 1, 1)))
    qs = Unit.objects.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=last)).filter(
        Q(retired_at__isnull=True) | Q(retired_at__gt=_start(first)))

    def day_of(row: dict) -> dt.date:
        retired = row["retired_at"]
        if retired is not None and timezone.localdate(retired) <= last:
            return timezone.localdate(retired) - dt.timedelta(days=1)
        return last

    return _snapshot(list(qs.values(*FIELDS)), day_of)


def name_on(unit: Unit, day: dt.date) -> str:
    """The unit's name on ``day``."""
    h = UnitHistory.objects.filter(unit=unit, valid_to__gt=day).order_by("valid_to", "pk").first()
    return h.name if h else unit.name
