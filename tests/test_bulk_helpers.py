"""Helpers that make bulk work (``seed_demo``, reorganisations) cheap do what the
one-at-a-time paths do."""

from __future__ import annotations

import pytest

from search import signals as search_signals
from search import tasks as search_tasks
from workflow import access
from workflow.audit.services import history
from workflow.organisation import services
from workflow.organisation.models import Level, Unit, User


@pytest.mark.django_db
def test_create_units_saves_parents_first_with_paths_and_audit():
    tinh = Level.objects.create(code="t", name="Tỉnh", rank=0)
    xa = Level.objects.create(code="x", name="Xã", rank=1)
    province = Unit(name="Tỉnh A", code="a", level=tinh, abbreviation="MTTQ")
    # Children listed before their parent: still saved after it.
    communes = [Unit(name=f"Xã {i}", code=f"a-{i}", level=xa, abbreviation="MTTQ",
                     parent=province) for i in range(3)]
    services.create_units([*communes, province])
    assert province.path == f"/{province.pk}/"
    for commune in communes:
        commune.refresh_from_db()
        assert commune.parent_id == province.pk
        assert commune.path == f"/{province.pk}/{commune.pk}/"
        assert list(history(commune).values_list("action", "comment")) == [
            ("unit.create", commune.name)]
    assert Unit.objects.count() == 4


def test_prime_actors_gives_what_actor_for_gives(org):
    people = list(User.objects.filter(memberships__isnull=False).distinct())
    expected = {p.pk: access.actor_for(User.objects.get(pk=p.pk)) for p in people}
    fresh = list(User.objects.filter(pk__in=[p.pk for p in people]))
    access.prime_actors(fresh)
    for person in fresh:
        got = access.actor_for(person)
        assert got.user_id == person.pk
        assert sorted(got.grants, key=repr) == sorted(expected[person.pk].grants, key=repr)


def test_deferred_indexing_indexes_once_at_the_end(monkeypatch):
    batches: list[list[int]] = []
    singles: list[int] = []
    monkeypatch.setattr(search_tasks.index_batch, "delay", batches.append)
    monkeypatch.setattr(search_tasks.index_document, "delay", singles.append)
    # Ids an earlier test's rolled-back transaction left in this thread (by design they
    # only cost one extra re-index on the next commit).
    search_signals._pending().clear()
    with search_signals.deferred_indexing():
        for doc_id in (7, 3, 7):
            search_tasks.on_document_changed(None, document_id=doc_id, reason="edit")
        search_signals._flush()  # a commit inside the block: still waits
        assert batches == [] and singles == []
    assert batches == [[3, 7]] and singles == []
    search_tasks.on_document_changed(None, document_id=9)
    assert singles == [9]


def test_deferred_indexing_drops_its_work_when_the_block_fails(monkeypatch):
    batches: list[list[int]] = []
    monkeypatch.setattr(search_tasks.index_batch, "delay", batches.append)
    with pytest.raises(RuntimeError), search_signals.deferred_indexing():
        search_tasks.on_document_changed(None, document_id=5)
        raise RuntimeError("rolled back")
    assert batches == []
    assert not search_signals.deferring()
