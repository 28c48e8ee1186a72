"""Changes to the organisation tree. Every change writes an audit record."""

from __future__ import annotations

import datetime as dt
import threading

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from workflow.audit.services import record

from .models import Department, Level, Membership, Unit, UnitHistory, User

# Sent after commit with ``unit_ids``: units whose place in the tree (path, merged_into)
# changed, subtrees included. Search re-indexes their documents' access tokens.
unit_tree_changed = Signal()


def _keep_history(unit: Unit, on: dt.date | None) -> None:
    """Remember the unit's name and parent as they were until ``on`` (today by default)."""
    UnitHistory.objects.create(
        unit=unit, valid_to=on or timezone.localdate(), name=unit.name,
        abbreviation=unit.abbreviation, parent_id=unit.parent_id,
    )


_pending = threading.local()
TREE_BATCH = 200


def _flush_tree_changed() -> None:
    ids = sorted(getattr(_pending, "ids", ()))
    _pending.ids = set()
    for start in range(0, len(ids), TREE_BATCH):
        unit_tree_changed.send(sender=Unit, unit_ids=ids[start:start + TREE_BATCH])


def _tree_changed(*unit_ids: int) -> None:
    # One signal per batch of units at commit, not one per unit: a reorganisation
    # merges and moves hundreds of units in one transaction.
    # Ids left by a rolled-back transaction only cause an extra re-index later.
    if not hasattr(_pending, "ids"):
        _pending.ids = set()
    _pending.ids.update(unit_ids)
    transaction.on_commit(_flush_tree_changed)


@transaction.atomic
def create_unit(
    *,
    name: str,
    code: str,
    level: Level,
    abbreviation: str,
    parent: Unit | None = None,
    parent_name: str = "",
    place_name: str = "",
    actor: User | None = None,
) -> Unit:
    unit = Unit.objects.create(
        name=name,
        code=code,
        level=level,
        abbreviation=abbreviation,
        parent=parent,
        parent_name=parent_name,
        place_name=place_name,
    )
    unit.path = unit.compute_path()
    unit.save(update_fields=["path"])
    record(unit, "unit.create", actor=actor, comment=name)
    return unit


@transaction.atomic
def create_units(units: list[Unit], *, actor: User | None = None) -> list[Unit]:
    """Save many new units at once, as :func:`create_unit` does one by one (path, audit).

    ``units`` are unsaved :class:`Unit` objects; a parent may be one of them (it is saved
    first). A few queries per tree level instead of five per unit: the demo seed makes
    482 units and a province-wide plan over a hundred.
    """
    from django.contrib.contenttypes.models import ContentType

    from workflow.audit.models import AuditEntry

    def waiting(unit: Unit) -> bool:  # its parent is one of ``units``, not saved yet
        parent = unit.parent if Unit.parent.is_cached(unit) else None
        return parent is not None and parent.pk is None

    todo = list(units)
    while todo:
        ready = [u for u in todo if not waiting(u)]
        if not ready:
            raise ValueError("units whose parents are never saved")
        Unit.objects.bulk_create(ready, batch_size=500)
        for unit in ready:
            unit.path = unit.compute_path()
        Unit.objects.bulk_update(ready, ["path"], batch_size=500)
        todo = [u for u in todo if u.pk is None]
    content_type = ContentType.objects.get_for_model(Unit)
    who = actor if getattr(actor, "is_authenticated", False) else None
    AuditEntry.objects.bulk_create([
        AuditEntry(content_type=content_type, object_id=str(u.pk), actor=who,
                   action="unit.create", comment=u.name) for u in units
    ], batch_size=500)
    return list(units)


@transaction.atomic
def rename_unit(unit: Unit, *, name: str, abbreviation: str | None = None, actor=None,
                on: dt.date | None = None) -> Unit:
    old = unit.name
    _keep_history(unit, on)
    unit.name = name
    if abbreviation is not None:
        unit.abbreviation = abbreviation
    unit.save(update_fields=["name", "abbreviation"])
    record(unit, "unit.rename", actor=actor, comment=f"{old} → {name}")
    return unit


@transaction.atomic
def move_unit(unit: Unit, *, new_parent: Unit | None, actor=None,
              on: dt.date | None = None) -> Unit:
    """Re-hang a unit (and its subtree) under another parent, e.g. when a level disappears."""
    if new_parent is not None and new_parent.path.startswith(unit.path):
        raise ValueError("A unit cannot be moved under itself.")
    old_path = unit.path
    _keep_history(unit, on)
    unit.parent = new_parent
    unit.path = unit.compute_path()
    unit.save(update_fields=["parent", "path"])
    for child in Unit.objects.filter(path__startswith=old_path).exclude(pk=unit.pk):
        child.path = unit.path + child.path[len(old_path) :]
        child.save(update_fields=["path"])
    record(unit, "unit.move", actor=actor, comment=f"{old_path} → {unit.path}")
    _tree_changed(unit.pk)
    return unit


@transaction.atomic
def retire_unit(unit: Unit, *, actor=None, at: dt.datetime | None = None) -> Unit:
    unit.is_active = False
    unit.retired_at = at or timezone.now()
    unit.save(update_fields=["is_active", "retired_at"])
    record(unit, "unit.retire", actor=actor)
    return unit


@transaction.atomic
def merge_units(sources: list[Unit], *, into: Unit, actor=None,
                at: dt.datetime | None = None) -> Unit:
    """Merge units into ``into``: children, departments and people move; documents stay.

    Documents keep pointing at the unit that issued them; access rules treat the
    merged unit as part of ``into`` (see :func:`workflow.access.unit_scope_ids`).
    """
    for source in sources:
        if source.pk != into.pk:
            merge_one(source, into=into, actor=actor, at=at)
    return into


def merge_one(source: Unit, *, into: Unit, actor=None, at: dt.datetime | None = None) -> None:
    """:func:`merge_units` for one unit, inside the caller's transaction (no savepoint of
    its own: a reorganisation merges hundreds in one transaction)."""
    # Units merged or retired before stay where they were: their place is history
    # (a 2024 district still holds its 2024 communes, for drill-downs by year).
    for child in list(source.children.filter(is_active=True)):
        move_unit(child, new_parent=into, actor=actor,
                  on=timezone.localdate(at) if at else None)
    for membership in Membership.objects.filter(unit=source, is_active=True):
        # Departments stay with the unit whose documents name them; people join the
        # department of the same name in the receiving unit when there is one.
        department = None
        if membership.department_id:
            department = Department.objects.filter(
                unit=into, name=membership.department.name
            ).first()
        target = Membership.objects.filter(
            user=membership.user, unit=into, department=department, role=membership.role
        )
        if not target.exists():
            Membership.objects.create(
                user=membership.user,
                unit=into,
                department=department,
                role=membership.role,
                title=membership.title,
            )
        membership.is_active = False
        membership.save(update_fields=["is_active"])
    Department.objects.filter(unit=source).update(is_active=False)
    source.merged_into = into
    source.is_active = False
    source.retired_at = at or timezone.now()
    source.save(update_fields=["merged_into", "is_active", "retired_at"])
    record(source, "unit.merge", actor=actor, comment=f"{source.name} → {into.name}")
    _tree_changed(source.pk)
