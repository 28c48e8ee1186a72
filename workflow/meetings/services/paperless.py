"""The paperless measure (DOMAIN §2): the share of meetings held paperless per unit and year
against the target of its level (``MEETINGS_PAPERLESS_TARGETS``), and the summary per level. It
may call :mod:`workflow.access` (whose units a person sees) and the meetings models; it changes
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from workflow import access
from workflow.organisation.models import Unit

from ..models import (
    MeetingState,
)

# Paperless targets (DOMAIN §2) keyed by Level.code; override with the
# MEETINGS_PAPERLESS_TARGETS setting. "strict" means "over", otherwise "at least".
DEFAULT_PAPERLESS_TARGETS = {
    "tinh": {"percent": 100, "strict": False},
    "province": {"percent": 100, "strict": False},
    "huyen": {"percent": 90, "strict": True},
    "district": {"percent": 90, "strict": True},
    "xa": {"percent": 80, "strict": True},
    "commune": {"percent": 80, "strict": True},
}


def paperless_targets() -> dict:
    return getattr(settings, "MEETINGS_PAPERLESS_TARGETS", DEFAULT_PAPERLESS_TARGETS)


@dataclass
class PaperlessRow:
    unit: Unit
    level_code: str
    level_name: str
    year: int
    held: int
    paperless: int
    target: float | None
    strict: bool

    @property
    def percent(self) -> float | None:
        return round(100.0 * self.paperless / self.held, 1) if self.held else None

    @property
    def meets_target(self) -> bool | None:
        if self.target is None or self.percent is None:
            return None
        return self.percent > self.target if self.strict else self.percent >= self.target


def paperless_report(user, *, year: int | None = None) -> list[PaperlessRow]:
    """Share of meetings held without paper per unit and year, against the level's target.

    A meeting counts once it is closed or concluded, by the year it was held.
    """
    meetings = access.visible_meetings(user).filter(
        state__in=[MeetingState.CLOSED, MeetingState.CONCLUDED])
    if year:
        meetings = meetings.filter(starts_at__year=year)
    rows: dict[tuple[int, int], PaperlessRow] = {}
    targets = paperless_targets()
    for m in meetings.select_related("unit", "unit__level").only(
            "starts_at", "paperless", "unit__name", "unit__path", "unit__level__code",
            "unit__level__name"):
        y = timezone.localtime(m.starts_at).year
        key = (m.unit_id, y)
        if key not in rows:
            target = targets.get(m.unit.level.code)
            rows[key] = PaperlessRow(unit=m.unit, level_code=m.unit.level.code,
                                     level_name=m.unit.level.name, year=y, held=0, paperless=0,
                                     target=target["percent"] if target else None,
                                     strict=bool(target and target.get("strict")))
        rows[key].held += 1
        rows[key].paperless += 1 if m.paperless else 0
    return sorted(rows.values(), key=lambda r: (-r.year, r.unit.path))


def level_summary(rows: list[PaperlessRow]) -> list[dict]:
    """Per level and year: units meeting their target, and the overall share."""
    summary: dict[tuple[str, int], dict] = {}
    for row in rows:
        entry = summary.setdefault((row.level_code, row.year), {
            "level": row.level_name, "year": row.year, "held": 0, "paperless": 0, "units": 0,
            "units_on_target": 0, "target": row.target, "strict": row.strict})
        entry["held"] += row.held
        entry["paperless"] += row.paperless
        entry["units"] += 1
        entry["units_on_target"] += 1 if row.meets_target else 0
    for entry in summary.values():
        entry["percent"] = round(100.0 * entry["paperless"] / entry["held"], 1) \
            if entry["held"] else None
    return sorted(summary.values(), key=lambda e: (-e["year"], e["level"]))
