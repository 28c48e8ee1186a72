"""Arrival numbers (số đến, Decree 30 Art. 22): per unit and year, from 1, no gaps.

The concurrency test needs real PostgreSQL (row locks, one connection per thread)
and skips elsewhere, like the outgoing register's.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tests.factories import make_org
from workflow.incoming import services
from workflow.incoming.models import IncomingDocument, IncomingRegister, State
from workflow.organisation.models import Role, User


def _require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://…")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_registrations_get_consecutive_arrival_numbers():
    _require_postgres()
    from django.utils import timezone

    org = make_org()
    unit = org.units["commune"]
    ids = [IncomingDocument.objects.create(unit=unit, issuer_name="UBND tỉnh",
                                           subject=f"Văn bản {i}", arrived_at=timezone.now(),
                                           source="paper").pk for i in range(20)]
    clerk_pk = org.person("commune", Role.CLERK).pk
    barrier = threading.Barrier(len(ids))
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(pk: int) -> None:
        try:
            clerk = User.objects.get(pk=clerk_pk)
            barrier.wait(timeout=30)
            services.register(clerk, pk, expected_state=State.RECEIVED)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(pk,)) for pk in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    numbers = sorted(IncomingDocument.objects.filter(pk__in=ids)
                     .values_list("arrival_number", flat=True))
    assert numbers == list(range(1, 21))
    assert IncomingRegister.objects.get(unit=unit).last_number == 20


@pytest.mark.django_db(transaction=True)
def test_a_failed_registration_gives_its_number_back(org, monkeypatch):
    from django.utils import timezone

    unit = org.units["commune"]
    a, b = (IncomingDocument.objects.create(unit=unit, issuer_name="X", subject=s,
                                            arrived_at=timezone.now(), source="paper")
            for s in ("a", "b"))
    clerk = org.person("commune", Role.CLERK)

    def failing_audit(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    with monkeypatch.context() as m:
        m.setattr(services, "record", failing_audit)
        with pytest.raises(RuntimeError):
            services.register(clerk, a.pk)
    assert IncomingDocument.objects.get(pk=a.pk).state == State.RECEIVED
    assert services.register(clerk, b.pk).arrival_number == 1
    assert services.register(clerk, a.pk).arrival_number == 2
