"""Applying a reorganisation plan (units created, renamed, moved, merged, retired) as data.

The plan is a JSON file (format in ``docs/reorganisation.md``). :func:`load_plan`
parses and checks it against the database and refuses it with every problem named;
:func:`apply_plan` runs it in one transaction. A dry run is the same run rolled back,
so what it reports is exactly what applying would do.

What follows a merged unit into its successor:

* memberships (roles kept; two people with the same leading title are reported);
* open work: documents not yet issued, incoming documents in handling (the incoming app
  answers the signal), meetings not yet held, open critique and
  supervision cases and recommendations (other apps add theirs through
  :data:`unit_merging`);
* registers: the predecessor's outgoing registers are closed with their last numbers
  (nothing renumbered), the successor numbers in its own from the effective date;
* search: moved documents are re-indexed after commit (``document_changed``), the
  merged unit's own documents through ``unit_tree_changed``; access rules count the
  merged unit as part of its successor (``access._merged_scope``).

Issued documents stay with the unit that issued them, under the name printed on them
(``Document.issuer_name``); names and parents before a change are kept in
:class:`~workflow.organisation.models.UnitHistory` for the tree as of any date.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from workflow.audit.services import record

from . import services
from .models import Department, Level, Membership, Reorganisation, Role, Unit, User

# Sent inside the applying transaction for each merged unit, with ``source``, ``into``
# and ``at``. A receiver moves its app's open items and returns ``(label, count)`` for
# the report (e.g. the incoming documents app: documents still in handling).
unit_merging = Signal()


class PlanError(ValueError):
    """A plan that cannot be applied; ``errors`` lists every problem found."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class Plan:
    key: str
    effective_date: dt.date
    create: list[dict] = field(default_factory=list)
    rename: list[dict] = field(default_factory=list)
    move: list[dict] = field(default_factory=list)
    merge: list[dict] = field(default_factory=list)
    retire: list[str] = field(default_factory=list)
    checksum: str = ""
    description: str = ""


def parse_plan(data: bytes | str | dict) -> Plan:
    """Read a plan's JSON; shape errors only (the database is checked by :func:`validate`)."""
    if isinstance(data, dict):
        raw = json.dumps(data, sort_keys=True, ensure_ascii=False).encode()
        obj = data
    else:
        raw = data.encode() if isinstance(data, str) else data
        try:
            obj = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise PlanError([_("The plan is not valid JSON: %(error)s") % {"error": exc}]) from exc
    if not isinstance(obj, dict):
        raise PlanError([_("The plan must be a JSON object.")])
    errors: list[str] = []
    key = str(obj.get("key") or "").strip()
    if not key:
        errors.append(_("The plan has no key (a name that identifies it, e.g. nghe-an-2025)."))
    try:
        effective = dt.date.fromisoformat(str(obj.get("effective_date")))
    except ValueError:
        errors.append(_("The plan's effective_date must be a date like 2025-07-01."))
        effective = dt.date.min
    lists: dict[str, list] = {}
    for name in ("create", "rename", "move", "merge", "retire"):
        value = obj.get(name, [])
        if not isinstance(value, list):
            errors.append(_("“%(name)s” must be a list.") % {"name": name})
            value = []
        lists[name] = value
    for name, required in (("create", ("code", "name", "abbreviation", "level")),
                           ("rename", ("unit", "name")), ("move", ("unit",)),
                           ("merge", ("into", "units"))):
        for i, item in enumerate(lists[name], start=1):
            missing = [f for f in required if not isinstance(item, dict) or not item.get(f)]
            if missing:
                errors.append(_("%(section)s entry %(n)d lacks %(fields)s.")
                              % {"section": name, "n": i, "fields": ", ".join(missing)})
    if errors:
        raise PlanError(errors)
    return Plan(
        key=key, effective_date=effective, create=lists["create"], rename=lists["rename"],
        move=lists["move"], merge=lists["merge"], retire=[str(c) for c in lists["retire"]],
        checksum=hashlib.sha256(raw).hexdigest(), description=str(obj.get("description", "")),
    )


def validate(plan: Plan) -> None:
    """Check the plan against the tree; raise :class:`PlanError` listing every problem."""
    errors: list[str] = []
    done = Reorganisation.objects.filter(key=plan.key).first()
    if done is not None:
        errors.append(_("The plan “%(key)s” was already applied on %(date)s.")
                      % {"key": plan.key, "date": timezone.localdate(done.applied_at)})
    created = {str(c["code"]): c for c in plan.create}
    referenced = {str(c.get("parent")) for c in plan.create if c.get("parent")}
    referenced |= {str(r["unit"]) for r in plan.rename} | {str(m["unit"]) for m in plan.move}
    referenced |= {str(m["parent"]) for m in plan.move if m.get("parent")}
    for group in plan.merge:
        referenced |= {str(group["into"])} | {str(u) for u in group["units"]}
    referenced |= set(plan.retire)
    units = {u.code: u for u in Unit.objects.filter(code__in=referenced | set(created))}
    levels = set(Level.objects.values_list("code", flat=True))
    if len(created) != len(plan.create):
        errors.append(_("A unit code is created twice in the plan."))
    for code, spec in created.items():
        if code in units:
            errors.append(_("Unit %(code)s already exists.") % {"code": code})
        if spec["level"] not in levels:
            errors.append(_("Unknown level %(level)s for %(code)s.")
                          % {"level": spec["level"], "code": code})
    for code in sorted(referenced - set(created)):
        if code not in units:
            errors.append(_("Unknown unit %(code)s.") % {"code": code})
        elif not units[code].is_active:
            errors.append(_("Unit %(code)s is no longer active.") % {"code": code})
    # Each unit goes away once: merged into one successor, or retired.
    gone: dict[str, str] = {}
    into_of: dict[str, str] = {}
    for group in plan.merge:
        into = str(group["into"])
        for code in map(str, group["units"]):
            if code == into:
                errors.append(_("Unit %(code)s cannot be merged into itself.") % {"code": code})
                continue
            if code in gone:
                errors.append(_("Unit %(code)s is merged or retired twice.") % {"code": code})
            gone[code] = "merge"
            into_of[code] = into
    for code in plan.retire:
        if code in gone:
            errors.append(_("Unit %(code)s is merged or retired twice.") % {"code": code})
        gone[code] = "retire"
    for code, into in into_of.items():
        seen = [code]
        while into in into_of and into not in seen:
            seen.append(into)
            into = into_of[into]
        if into in seen:
            errors.append(_("The merges form a cycle: %(chain)s.")
                          % {"chain": " → ".join([*seen, into])})
        elif len(seen) > 1 or into in gone:
            errors.append(_("Unit %(code)s is merged into %(into)s, which itself goes away.")
                          % {"code": code, "into": into_of[code]})
    # The tree after the plan must have no cycle and no unit under one that goes away.
    rows = list(Unit.objects.values_list("id", "code", "parent_id"))
    codes_by_id = {pk: code for pk, code, _p in rows}
    parent: dict[str, str | None] = {code: codes_by_id.get(p) for _pk, code, p in rows}
    for code, spec in created.items():
        parent[code] = str(spec["parent"]) if spec.get("parent") else None
    for move in plan.move:
        target = str(move["parent"]) if move.get("parent") else None
        parent[str(move["unit"])] = target
        if target in gone:
            errors.append(_("Unit %(code)s is moved under %(parent)s, which goes away.")
                          % {"code": move["unit"], "parent": target})
    for code in [str(m["unit"]) for m in plan.move]:
        seen, cur = {code}, parent.get(code)
        while cur is not None:
            if cur in seen:
                errors.append(_("Moving %(code)s would make a cycle in the tree.")
                              % {"code": code})
                break
            seen.add(cur)
            cur = parent.get(cur)
    for code in plan.retire:
        unit = units.get(code)
        if unit is None:
            continue
        staying = [c for c in Unit.objects.filter(parent=unit, is_active=True)
                   .values_list("code", flat=True)
                   if c not in gone and parent.get(c, code) == code]
        if staying:
            errors.append(_("Unit %(code)s is retired but %(n)d active units stay under it.")
                          % {"code": code, "n": len(staying)})
    if errors:
        raise PlanError(sorted(set(errors), key=errors.index))


def load_plan(data: bytes | str | dict) -> Plan:
    plan = parse_plan(data)
    validate(plan)
    return plan


# --- applying ---------------------------------------------------------------------------------

# Documents still on their way (not issued): they move to the successor, which will issue them
# under its own name and number.
FLOW_STATES = ("draft", "submitted", "reviewed", "approved", "signed", "returned")
LEADING_ROLES = (Role.LEADER,)


def _effective_at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def empty_report(plan: Plan) -> dict[str, Any]:
    return {
        "plan": plan.key, "effective_date": plan.effective_date.isoformat(), "dry_run": False,
        "units": {"created": [], "renamed": [], "moved": [], "merged": [], "retired": []},
        "people": {"memberships_moved": 0, "conflicts": []},
        "open_items": {}, "registers": {"closed": []}, "reindexed_documents": 0,
    }


def _count(report: dict, label: str, n: int) -> None:
    if n:
        report["open_items"][label] = report["open_items"].get(label, 0) + n


def _conflicts(source: Unit, into: Unit) -> list[str]:
    """Leading titles (Chủ tịch…) that the successor would hold twice."""
    found = []
    held = {
        (m.role, m.title.strip().lower()): m.user
        for m in Membership.objects.filter(unit=into, is_active=True, role__in=LEADING_ROLES)
        .exclude(title="").select_related("user")
    }
    for m in Membership.objects.filter(unit=source, is_active=True, role__in=LEADING_ROLES) \
            .exclude(title="").select_related("user"):
        other = held.get((m.role, m.title.strip().lower()))
        if other is not None and other.pk != m.user_id:
            found.append(_("%(unit)s would have two “%(title)s”: %(a)s and %(b)s (from %(src)s).")
                         % {"unit": into.name, "title": m.title, "a": other, "b": m.user,
                            "src": source.name})
    return found


def _units_with_work() -> dict[str, set[int]]:
    """Per kind of open work that :func:`_move_open_work` moves, the units holding some
    (one query per kind), so the hundreds of empty communes of a province-wide plan cost
    nothing and a unit with only recommendations costs one update."""
    from workflow.documents.models import Document, DocumentRecipient

    busy = {
        "documents": set(Document.objects.filter(state__in=FLOW_STATES)
                         .values_list("unit_id", flat=True)),
        "recipients": set(DocumentRecipient.objects.filter(document__state__in=FLOW_STATES)
                          .values_list("unit_id", flat=True)),
    }
    if apps.is_installed("workflow.meetings"):
        from workflow.meetings.models import Meeting

        busy["meetings"] = set(Meeting.objects.values_list("unit_id", flat=True))
    if apps.is_installed("workflow.oversight"):
        from workflow.oversight.models import CritiqueCase, Recommendation, SupervisionCase

        for kind, model in (("critique", CritiqueCase), ("supervision", SupervisionCase),
                            ("recommendations", Recommendation)):
            busy[kind] = set(model.objects.values_list("unit_id", flat=True))
    return busy


def _move_open_work(source: Unit, into: Unit, at: dt.datetime, report: dict,
                    actor: User | None, busy: dict[str, set[int]]) -> list[int]:
    """Move what is still being worked on; return the ids of moved documents.

    ``busy`` (from :func:`_units_with_work`) gains ``into`` for every kind it receives,
    so a successor merged again later in the same plan passes its work on.
    """
    from workflow.documents.models import Document, DocumentRecipient

    for _receiver, response in unit_merging.send(sender=Unit, source=source, into=into, at=at):
        if response:
            label, n = response
            _count(report, str(label), int(n))

    def has(kind: str) -> bool:
        if source.pk not in busy.get(kind, ()):
            return False
        busy[kind].add(into.pk)
        return True

    moved: list[int] = []
    if has("documents"):
        departments = {d.name: d.pk for d in Department.objects.filter(unit=into)}
        for doc in Document.objects.filter(unit=source, state__in=FLOW_STATES) \
                .select_related("drafting_department"):
            dept = doc.drafting_department
            doc.unit = into
            doc.drafting_department_id = departments.get(dept.name) if dept else None
            # updated_at moves on: the search index takes the new version (and ACL tokens).
            doc.save(update_fields=["unit", "drafting_department", "updated_at"])
            record(doc, "document.reorganised", actor=actor,
                   comment=f"{source.name} → {into.name}")
            moved.append(doc.pk)
    _count(report, N_("documents in the approval flow"), len(moved))
    if has("recipients"):
        # Drafts addressed to the merged unit are addressed to its successor instead.
        open_ids = Document.objects.filter(state__in=FLOW_STATES).values("pk")
        for rec in DocumentRecipient.objects.filter(unit=source, document_id__in=open_ids):
            if DocumentRecipient.objects.filter(document_id=rec.document_id, unit=into).exists():
                rec.delete()
            else:
                rec.unit = into
                rec.save(update_fields=["unit"])
    if apps.is_installed("workflow.meetings"):
        from workflow.meetings.models import FollowUpTask, Meeting, MeetingState

        ids = []
        if has("meetings"):
            ids = list(Meeting.objects.filter(unit=source, state__in=[
                MeetingState.DRAFT, MeetingState.PAPERS_UNDER_APPROVAL, MeetingState.PUBLISHED,
                MeetingState.POSTPONED]).values_list("pk", flat=True))
            Meeting.objects.filter(pk__in=ids).update(unit=into)
        _count(report, N_("meetings not yet held"), len(ids))
        _count(report, N_("open follow-up tasks (with their meetings)"),
               FollowUpTask.objects.filter(meeting_id__in=ids, state="open").count()
               if ids else 0)
    if apps.is_installed("workflow.oversight"):
        from workflow.oversight.models import (
            OPEN_REC_STATUSES,
            CritiqueCase,
            CritiqueState,
            Recommendation,
            SupervisionCase,
            SupervisionState,
        )

        keys: list[str] = []
        ids = []
        if has("critique"):
            ids = list(CritiqueCase.objects.filter(unit=source).exclude(
                state=CritiqueState.CLOSED).values_list("pk", flat=True))
            CritiqueCase.objects.filter(pk__in=ids).update(unit=into)
        keys += [f"critique_reply:{pk}" for pk in ids]
        _count(report, N_("open critique cases"), len(ids))
        n = 0
        if has("supervision"):
            n = SupervisionCase.objects.filter(unit=source).exclude(
                state=SupervisionState.CLOSED).update(unit=into)
        _count(report, N_("open supervision cases"), n)
        ids = []
        if has("recommendations"):
            ids = list(Recommendation.objects.filter(
                unit=source, status__in=OPEN_REC_STATUSES).values_list("pk", flat=True))
            Recommendation.objects.filter(pk__in=ids).update(unit=into)
        keys += [f"recommendation:{pk}" for pk in ids]
        _count(report, N_("open recommendations"), len(ids))
        if keys and apps.is_installed("search"):
            from search.signals import reindex_keys_on_commit

            reindex_keys_on_commit(keys)
    return moved


def _close_registers(source: Unit, at: dt.datetime, report: dict) -> None:
    from workflow.documents.models import OutgoingRegister

    for reg in OutgoingRegister.objects.filter(unit=source, closed_at__isnull=True) \
            .order_by("year", "series"):
        reg.closed_at = at
        reg.save(update_fields=["closed_at"])
        report["registers"]["closed"].append(
            {"unit": source.name, "year": reg.year, "series": reg.series,
             "last_number": reg.last_number})


def _changed_after_commit(document_ids: list[int]) -> None:
    """Tell search (and other listeners) that these documents changed, once committed."""
    from workflow.documents.models import Document
    from workflow.documents.services import document_changed

    ids = list(document_ids)

    def send() -> None:
        for pk in ids:
            document_changed.send(sender=Document, document_id=pk, reason="reorganisation")

    transaction.on_commit(send)


def _apply(plan: Plan, actor: User | None, report: dict) -> None:
    at = _effective_at(plan.effective_date)
    on = plan.effective_date
    by_code = {u.code: u for u in Unit.objects.filter(is_active=True)}
    levels = {lv.code: lv for lv in Level.objects.all()}
    created = []
    for spec in plan.create:
        parent = by_code.get(str(spec["parent"])) if spec.get("parent") else None
        unit = Unit(
            name=spec["name"], code=str(spec["code"]), level=levels[spec["level"]],
            abbreviation=spec["abbreviation"], parent=parent,
            parent_name=spec.get("parent_name") or (parent.name if parent else ""),
            place_name=spec.get("place_name", ""), valid_from=on,
        )
        by_code[unit.code] = unit
        created.append(unit)
        report["units"]["created"].append(unit.name)
    services.create_units(created, actor=actor)
    for spec in plan.rename:
        unit = by_code[str(spec["unit"])]
        old = unit.name
        services.rename_unit(unit, name=spec["name"], abbreviation=spec.get("abbreviation"),
                             actor=actor, on=on)
        report["units"]["renamed"].append(f"{old} → {unit.name}")
    for spec in plan.move:
        unit = by_code[str(spec["unit"])]
        parent = by_code.get(str(spec["parent"])) if spec.get("parent") else None
        services.move_unit(unit, new_parent=parent, actor=actor, on=on)
        # The header line above the unit's name names its new managing body.
        unit.parent_name = spec.get("parent_name") or (parent.name if parent else "")
        unit.save(update_fields=["parent_name"])
        report["units"]["moved"].append(f"{unit.name} → {parent.name if parent else '-'}")
    moved_documents: list[int] = []
    from workflow.documents.models import OutgoingRegister

    busy = _units_with_work()
    open_registers = set(OutgoingRegister.objects.filter(closed_at__isnull=True)
                         .values_list("unit_id", flat=True))
    leaders = set(Membership.objects.filter(is_active=True, role__in=LEADING_ROLES)
                  .exclude(title="").values_list("unit_id", flat=True))
    for group in plan.merge:
        into = by_code[str(group["into"])]
        sources = [by_code[str(c)] for c in group["units"]]
        # A new successor takes the departments of its predecessors, so people keep theirs.
        have = set(Department.objects.filter(unit=into).values_list("name", flat=True))
        for dept in Department.objects.filter(unit__in=sources, is_active=True).order_by("pk"):
            if dept.name not in have:
                Department.objects.create(unit=into, name=dept.name,
                                          abbreviation=dept.abbreviation,
                                          own_series=dept.own_series)
                have.add(dept.name)
        fresh = Unit.objects.in_bulk([source.pk for source in sources])
        for stale in sources:
            source = fresh[stale.pk]  # as it is now (earlier groups may have moved it)
            if source.pk in leaders:
                report["people"]["conflicts"] += _conflicts(source, into)
                leaders.add(into.pk)
            report["people"]["memberships_moved"] += Membership.objects.filter(
                unit=source, is_active=True).count()
            moved_documents += _move_open_work(source, into, at, report, actor, busy)
            if source.pk in open_registers:
                _close_registers(source, at, report)
            # One unit at a time: the next one's conflicts count the people merged before.
            services.merge_one(source, into=into, actor=actor, at=at)
            report["units"]["merged"].append(f"{source.name} → {into.name}")
    for code in plan.retire:
        unit = by_code[code]
        unit.refresh_from_db()
        services.retire_unit(unit, actor=actor, at=at)
        report["units"]["retired"].append(unit.name)
    _changed_after_commit(moved_documents)
    report["reindexed_documents"] = len(moved_documents)


def apply_plan(plan: Plan, *, actor: User | None = None, dry_run: bool = False) -> dict:
    """Apply ``plan`` in one transaction (rolled back for a dry run); return the report.

    The plan is checked again inside the transaction, so two administrators applying
    the same plan at once cannot both succeed (the ``Reorganisation.key`` is unique).
    """
    report = empty_report(plan)
    report["dry_run"] = dry_run
    with transaction.atomic():
        validate(plan)
        _apply(plan, actor, report)
        try:
            with transaction.atomic():
                entry = Reorganisation.objects.create(
                    key=plan.key, effective_date=plan.effective_date, checksum=plan.checksum,
                    applied_by=actor, report=report)
        except IntegrityError as exc:
            # Someone applied the same plan meanwhile: theirs stands, ours rolls back.
            raise PlanError([_("The plan “%(key)s” was already applied on %(date)s.")
                             % {"key": plan.key, "date": timezone.localdate()}]) from exc
        record(entry, "organisation.reorganise", actor=actor,
               comment=f"{plan.key} ({plan.effective_date.isoformat()})")
        if dry_run:
            # Everything above ran for real; rolling back makes the dry run report
            # exactly what applying would do, and drops the after-commit work.
            transaction.set_rollback(True)
    return report


def report_lines(report: dict, *, detail: int = 5) -> list[str]:
    """The report as text lines (the command's output, the admin's preview)."""
    units = report["units"]
    lines = [
        (_("DRY RUN of plan %(plan)s, effective %(date)s (nothing was changed)")
         if report["dry_run"] else _("Plan %(plan)s applied, effective %(date)s"))
        % {"plan": report["plan"], "date": report["effective_date"]},
        _("Units: %(created)d created, %(renamed)d renamed, %(moved)d moved, "
          "%(merged)d merged, %(retired)d retired")
        % {k: len(v) for k, v in units.items()},
    ]
    for key, label in (("created", _("unit created")), ("renamed", _("unit renamed")),
                       ("moved", _("unit moved")), ("merged", _("unit merged")),
                       ("retired", _("unit retired"))):
        items = units[key]
        for item in items[:detail]:
            lines.append(f"  {label}: {item}")
        if len(items) > detail:
            lines.append("  " + _("… and %(n)d more") % {"n": len(items) - detail})
    people = report["people"]
    lines.append(_("People: %(n)d memberships move to successors, %(c)d conflicts")
                 % {"n": people["memberships_moved"], "c": len(people["conflicts"])})
    lines += [f"  ! {c}" for c in people["conflicts"]]
    items = report["open_items"]
    lines.append(_("Open items moved: %(items)s") % {
        "items": ", ".join(f"{n} {_(label)}" for label, n in sorted(items.items()))
        or _("none")})
    closed = report["registers"]["closed"]
    lines.append(_("Registers closed: %(n)d") % {"n": len(closed)})
    for reg in closed[:detail]:
        lines.append("  " + _("%(unit)s %(year)s %(series)s: last number %(last)s") % {
            "unit": reg["unit"], "year": reg["year"], "series": reg["series"],
            "last": reg["last_number"]})
    if len(closed) > detail:
        lines.append("  " + _("… and %(n)d more") % {"n": len(closed) - detail})
    lines.append(_("Documents re-indexed after commit: %(n)d")
                 % {"n": report["reindexed_documents"]})
    return lines
