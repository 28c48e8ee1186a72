"""The congress targets (DOMAIN.md §2), computed from live records.

One aggregate query per target, grouped by unit, then rolled up in Python over
the unit tree (a province has about 500 units; rolling up is microseconds).
Every figure can be drilled into with :func:`records`, which returns the
queryset behind it.

Definitions (a year is the calendar year, local time):

* supervisions / critiques held: cases whose report / conclusion was issued
  in the year, against the yearly quota of the unit's level;
* signed: outgoing documents issued in the year that carry a digital
  signature (``signed_at``, and a signed PDF when the signing app is there);
* paperless: meetings held (closed or concluded) in the year without paper;
* voters_forwarded: voters' recommendations raised in the year and already
  decidable (forwarded, or past the forwarding deadline) that were forwarded
  by the deadline;
* dialogue_resolved: legitimate dialogue recommendations raised in the year and
  decidable (resolved, or past due) that were resolved by the due date;
* periodic_reports: units that filed every periodic report already due;
* incoming_on_time: incoming documents that arrived in the year with a handling
  deadline and are decidable (done, or past the deadline) that were done by the
  deadline (Decree 30 Art. 24), per receiving unit.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from django.apps import apps
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from workflow.documents.models import Document
from workflow.documents.models import State as DocState
from workflow.organisation.models import Unit

from . import conf
from .models import CritiqueCase, PeriodicReport, Recommendation, Source, SupervisionCase

QUOTA = "quota"
SHARE = "share"


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    kind: str
    model_label: str


METRICS: list[Metric] = [
    Metric("supervisions", _("Supervisions held"), QUOTA, "oversight.SupervisionCase"),
    Metric("critiques", _("Social critiques held"), QUOTA, "oversight.CritiqueCase"),
    Metric("signed", _("Outgoing documents digitally signed"), SHARE, "documents.Document"),
    Metric("paperless", _("Meetings held without paper"), SHARE, "meetings.Meeting"),
    Metric("voters_forwarded", _("Voters' recommendations forwarded in time"), SHARE,
           "oversight.Recommendation"),
    Metric("dialogue_resolved", _("Dialogue recommendations resolved on time"), SHARE,
           "oversight.Recommendation"),
    Metric("periodic_reports", _("Units filing periodic reports"), SHARE,
           "organisation.Unit"),
    Metric("incoming_on_time", _("Incoming documents handled on time"), SHARE,
           "incoming.IncomingDocument"),
]
METRIC_KEYS = [m.key for m in METRICS]
BY_KEY = {m.key: m for m in METRICS}

GREEN, AMBER, RED, GREY = "green", "amber", "red", "grey"
LIGHT_ORDER = {RED: 0, AMBER: 1, GREEN: 2, GREY: 3}


@dataclass
class Figure:
    """One figure: for a quota ``num`` held against ``den`` required; for a share num/den."""

    kind: str
    num: int = 0
    den: int = 0
    target: float = 0  # a count (quota) or a percentage (share)

    @property
    def pct(self) -> float | None:
        if self.kind == QUOTA:
            if not self.den:
                return None
            return round(100.0 * self.num / self.den, 1)
        return round(100.0 * self.num / self.den, 1) if self.den else None

    @property
    def met(self) -> bool | None:
        if self.kind == QUOTA:
            return None if not self.den else self.num >= self.den
        pct = self.pct
        return None if pct is None else pct >= self.target

    @property
    def light(self) -> str:
        met = self.met
        if met is None:
            return GREY
        if met:
            return GREEN
        if self.kind == QUOTA:
            return AMBER if self.num > 0 else RED
        return AMBER if (self.pct or 0) >= self.target - 10 else RED

    @property
    def bar_pct(self) -> float:
        """Height of the bar, capped so a chart stays readable."""
        return min(self.pct or 0.0, 100.0)

    @property
    def display(self) -> str:
        if self.kind == QUOTA:
            return f"{self.num}/{self.den}" if self.den else str(self.num)
        pct = self.pct
        return "—" if pct is None else f"{pct:g}% ({self.num}/{self.den})"


@dataclass
class UnitRow:
    id: int
    name: str
    path: str
    parent_id: int | None
    level_code: str
    level_name: str
    level_rank: int
    depth: int
    # Filled in METRICS order; templates iterate it as the table's columns.
    figures: dict[str, Figure] = field(default_factory=dict)
    # Merged during the year into this listed unit, whose figures count this one's too:
    # the row stays visible but is left out of level and subtree totals (no double count).
    merged_into: int | None = None

    @property
    def light(self) -> str:
        lights = [f.light for f in self.figures.values() if f.light != GREY]
        return min(lights, key=LIGHT_ORDER.__getitem__) if lights else GREY


@dataclass
class LevelRow:
    code: str
    name: str
    rank: int
    units: int
    figures: dict[str, Figure] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)  # cases held, for quota metrics


@dataclass
class Dashboard:
    year: int
    root: Unit | None
    rows: list[UnitRow]
    levels: list[LevelRow]
    metrics: list[Metric]
    meetings_available: bool
    today: dt.date


# --- year bounds and configurable pieces ------------------------------------------------------


def year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year + 1, 1, 1)


def _aware(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _meeting_model():
    label = conf.get("MEETING_MODEL")
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return None, {}
    names = {f.name for f in model._meta.get_fields()}
    spec = conf.get("MEETING_FIELDS")

    def pick(candidates) -> str | None:
        if isinstance(candidates, str):
            candidates = (candidates,)
        return next((c for c in candidates if c in names), None)

    fields = {"unit": pick(spec["unit"]), "start": pick(spec["start"]),
              "paperless": pick(spec["paperless"]), "state": pick(spec["state"])}
    if None in fields.values():
        return None, {}
    fields["held_states"] = list(spec["held_states"])
    return model, fields


def _signature_q() -> Q | None:
    spec = conf.get("SIGNATURE_MODEL")
    if not spec:
        return None
    label, fk, extra = (list(spec) + [{}])[:3]
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return None
    # Correlated EXISTS: one index probe per document of the year, so the cost follows
    # the year's documents, not every signature ever stored (an IN-subquery hashes them all).
    return Q(Exists(model.objects.filter(**{fk: OuterRef("pk")}, **(extra or {}))))


def due_periods(year: int, today: dt.date) -> list[str]:
    periods = conf.get("PERIODIC_REPORT_PERIODS")
    return [code for code, (month, day) in periods.items() if dt.date(year, month, day) < today]


def share_target(key: str, level_code: str, level_rank: int) -> float:
    value = conf.by_level(conf.get("TARGETS").get(key, 100), level_code, level_rank)
    return float(value if value is not None else 100)


# --- the querysets behind each figure -----------------------------------------------------------


def base_queryset(key: str, year: int, today: dt.date) -> tuple[QuerySet | None, Q | None]:
    """(records counted in the denominator, filter of those counted in the numerator).

    For quota metrics the numerator filter is None: every record counts.
    """
    start, end = year_bounds(year)
    if key == "supervisions":
        return SupervisionCase.objects.filter(held_on__gte=start, held_on__lt=end), None
    if key == "critiques":
        return CritiqueCase.objects.filter(held_on__gte=start, held_on__lt=end), None
    if key == "signed":
        qs = Document.objects.filter(state__in=[DocState.ISSUED, DocState.ARCHIVED],
                                     issued_at__gte=_aware(start), issued_at__lt=_aware(end))
        ok = Q(signed_at__isnull=False)
        signature = _signature_q()
        if signature is not None:
            ok &= signature
        return qs, ok
    if key == "paperless":
        model, f = _meeting_model()
        if model is None:
            return None, None
        qs = model.objects.filter(**{f"{f['state']}__in": f["held_states"],
                                     f"{f['start']}__gte": _aware(start),
                                     f"{f['start']}__lt": _aware(end)})
        return qs, Q(**{f["paperless"]: True})
    if key == "voters_forwarded":
        qs = Recommendation.objects.filter(source=Source.VOTER_MEETING, raised_on__gte=start,
                                           raised_on__lt=end)
        qs = qs.filter(Q(forwarded_on__isnull=False) | Q(forward_due__lt=today))
        return qs, Q(forwarded_on__isnull=False, forwarded_on__lte=F("forward_due"))
    if key == "dialogue_resolved":
        qs = Recommendation.objects.filter(source=Source.DIALOGUE, legitimate=True,
                                           raised_on__gte=start, raised_on__lt=end)
        qs = qs.filter(Q(resolved_on__isnull=False) | Q(due_date__lt=today))
        return qs, Q(resolved_on__isnull=False, resolved_on__lte=F("due_date"))
    if key == "incoming_on_time":
        if not apps.is_installed("workflow.incoming"):
            return None, None
        from workflow.incoming.models import IncomingDocument
        from workflow.incoming.services import on_time_q

        decidable, ok = on_time_q(today)
        qs = IncomingDocument.objects.filter(decidable, arrived_at__gte=_aware(start),
                                             arrived_at__lt=_aware(end))
        return qs, ok
    raise KeyError(key)


def _unit_field(key: str) -> str:
    if key == "paperless":
        _model, f = _meeting_model()
        return f.get("unit", "unit")
    return "unit"


def _grouped(key: str, year: int, today: dt.date, unit_ids: list[int] | None
             ) -> dict[int, tuple[int, int]]:
    """unit id -> (numerator, denominator) in one grouped query."""
    qs, ok = base_queryset(key, year, today)
    if qs is None:
        return {}
    unit = _unit_field(key)
    if unit_ids is not None:
        qs = qs.filter(**{f"{unit}_id__in": unit_ids})
    num = Count("pk", filter=ok) if ok is not None else Count("pk")
    rows = qs.order_by().values(f"{unit}_id").annotate(num=num, den=Count("pk"))
    return {r[f"{unit}_id"]: (r["num"], r["den"]) for r in rows}


def _periodic(year: int, today: dt.date, unit_ids: list[int] | None) -> tuple[dict, list[str]]:
    due = due_periods(year, today)
    if not due:
        return {}, due
    qs = PeriodicReport.objects.filter(year=year, period__in=due)
    if unit_ids is not None:
        qs = qs.filter(unit_id__in=unit_ids)
    rows = qs.order_by().values("unit_id").annotate(n=Count("period", distinct=True))
    return {r["unit_id"]: r["n"] for r in rows}, due


def units_for(root: Unit | None, year: int, today: dt.date | None = None) -> list[dict]:
    """The units of ``year`` in the tree of that year: 2024 by the 2024 tree, a unit
    merged in 2025 still listed for 2025 (under its district), its successor too."""
    from workflow.organisation.history import units_in_year

    rows = units_in_year(year, today)
    if root is not None:
        root_path = next((r["path"] for r in rows if r["id"] == root.pk), None)
        if root_path is None:
            return []
        rows = [r for r in rows if r["path"].startswith(root_path)]
    return rows


@contextmanager
def fast_reads() -> Iterator[None]:
    """Turn PostgreSQL's JIT off for these reads.

    The planner over-estimates the grouped counts with EXISTS filters and JIT-
    compiles them: on 200k documents compiling took 1.4 s of a 1.8 s query that
    runs in 0.2 s without it. ``SET LOCAL`` keeps the change inside this transaction.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        yield


def compute(year: int, root: Unit | None = None, today: dt.date | None = None) -> Dashboard:
    """Every target for every unit under ``root`` (or the whole tree) in ``year``."""
    with fast_reads():
        return _compute(year, root, today)


def _compute(year: int, root: Unit | None, today: dt.date | None) -> Dashboard:
    today = today or timezone.localdate()
    units = units_for(root, year, today)
    # Whole-tree dashboards skip the id filter: it would list every unit anyway.
    ids = None if root is None or root.parent_id is None and _single_root() else \
        [u["id"] for u in units]
    grouped = {key: _grouped(key, year, today, ids)
               for key in ("supervisions", "critiques", "signed", "paperless",
                           "voters_forwarded", "dialogue_resolved", "incoming_on_time")}
    filed, due = _periodic(year, today, ids)
    merged = _merged_during(year, {u["id"] for u in units})
    for values in grouped.values():
        for pred, succ in merged.items():
            if pred in values:
                num, den = values[pred]
                own = values.get(succ, (0, 0))
                values[succ] = (own[0] + num, own[1] + den)
    meetings_available = _meeting_model()[0] is not None
    root_depth = units[0]["path"].count("/") if units else 0
    rows: list[UnitRow] = []
    for u in units:
        code, rank = u["level__code"], u["level__rank"]
        row = UnitRow(id=u["id"], name=u["name"], path=u["path"], parent_id=u["parent_id"],
                      level_code=code, level_name=u["level__name"], level_rank=rank,
                      depth=u["path"].count("/") - root_depth)
        for key in ("supervisions", "critiques"):
            quota = conf.quota(key[:-1], code, rank)
            held = grouped[key].get(u["id"], (0, 0))[0]
            row.figures[key] = Figure(QUOTA, num=held, den=quota, target=quota)
        for key in ("signed", "paperless", "voters_forwarded", "dialogue_resolved",
                    "incoming_on_time"):
            num, den = grouped[key].get(u["id"], (0, 0))
            row.figures[key] = Figure(SHARE, num=num, den=den,
                                      target=share_target(key, code, rank))
        # Its own figures stay on its row; the successor's row counts them too.
        row.merged_into = merged.get(u["id"])
        row.figures["periodic_reports"] = Figure(
            SHARE, num=int(bool(due) and filed.get(u["id"], 0) >= len(due)),
            den=int(bool(due)), target=share_target("periodic_reports", code, rank))
        rows.append(row)
    return Dashboard(year=year, root=root, rows=rows, levels=_levels(rows),
                     metrics=METRICS, meetings_available=meetings_available, today=today)


def _merged_during(year: int, unit_ids: set[int]) -> dict[int, int]:
    """Units merged in ``year`` -> their final successor, both listed for that year.

    A successor's figures for the merge year count its predecessors' (the communes that
    became it on 1 July count for it for the whole year)."""
    start, end = year_bounds(year)
    rows = dict(Unit.objects.filter(
        pk__in=unit_ids, merged_into__isnull=False, retired_at__gte=_aware(start),
        retired_at__lt=_aware(end)).values_list("id", "merged_into"))
    out = {}
    for pred, succ in rows.items():
        seen = {pred}
        while succ in rows and succ not in seen:  # merged twice within the year
            seen.add(succ)
            succ = rows[succ]
        if succ in unit_ids:
            out[pred] = succ
    return out


def restrict(dashboard: Dashboard, unit_ids: set[int]) -> Dashboard:
    """The dashboard with only the rows of ``unit_ids`` (the units the person may read);
    the per-level figures are pooled again from those rows."""
    rows = [row for row in dashboard.rows if row.id in unit_ids]
    if len(rows) == len(dashboard.rows):
        return dashboard
    return replace(dashboard, rows=rows, levels=_levels(rows))


def _single_root() -> bool:
    return Unit.objects.filter(parent__isnull=True).count() == 1


def _levels(rows: list[UnitRow]) -> list[LevelRow]:
    """Per level: quota metrics as the share of units meeting the quota; shares pooled."""
    levels: dict[str, LevelRow] = {}
    listed = {row.id for row in rows}
    for row in rows:
        if row.merged_into in listed:
            continue  # counted in its successor's row
        level = levels.get(row.level_code)
        if level is None:
            level = levels[row.level_code] = LevelRow(
                code=row.level_code, name=row.level_name, rank=row.level_rank, units=0,
                figures={m.key: Figure(SHARE, target=share_target(m.key, row.level_code,
                                                                  row.level_rank)
                                       if m.kind == SHARE else 100.0)
                         for m in METRICS},
                totals=defaultdict(int))
        level.units += 1
        for key, fig in row.figures.items():
            agg = level.figures[key]
            if fig.kind == QUOTA:
                level.totals[key] += fig.num
                if fig.den:
                    agg.den += 1
                    agg.num += int(fig.num >= fig.den)
            else:
                agg.num += fig.num
                agg.den += fig.den
    return sorted(levels.values(), key=lambda lv: lv.rank)


def subtree_figure(dashboard: Dashboard, unit_id: int, key: str) -> Figure:
    """A unit together with everything under it (for the tree's "including below")."""
    rows = {r.id: r for r in dashboard.rows}
    me = rows[unit_id]
    fig = Figure(me.figures[key].kind, target=me.figures[key].target)
    for row in dashboard.rows:
        if row.path.startswith(me.path):
            successor = rows.get(row.merged_into) if row.merged_into else None
            if successor is not None and successor.path.startswith(me.path):
                continue  # counted in its successor's row, also in this subtree
            f = row.figures[key]
            fig.num += f.num
            fig.den += f.den
    return fig


def records(key: str, year: int, unit: Unit, *, subtree: bool = False, part: str = "all",
            today: dt.date | None = None) -> QuerySet | None:
    """The records behind a figure: ``part`` is all, ok (counted as met) or missing."""
    today = today or timezone.localdate()
    if key == "periodic_reports":
        units = Unit.objects.filter(path__startswith=unit.path) if subtree else \
            Unit.objects.filter(pk=unit.pk)
        due = due_periods(year, today)
        filed_all = PeriodicReport.objects.filter(year=year, period__in=due).values(
            "unit_id").annotate(n=Count("period", distinct=True)).filter(n__gte=len(due)) \
            .values("unit_id")
        if part == "ok":
            return units.filter(pk__in=filed_all) if due else units.none()
        if part == "missing":
            return units.exclude(pk__in=filed_all) if due else units.none()
        return units
    qs, ok = base_queryset(key, year, today)
    if qs is None:
        return None
    field_name = _unit_field(key)
    if subtree:
        qs = qs.filter(**{f"{field_name}__path__startswith": unit.path})
    else:
        qs = qs.filter(**{f"{field_name}_id": unit.pk})
    if ok is not None and part == "ok":
        qs = qs.filter(ok)
    elif ok is not None and part == "missing":
        qs = qs.exclude(ok)
    return qs
