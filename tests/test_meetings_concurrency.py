"""One ballot per person under concurrent clicks; a ballot racing the close is consistent.

Threads each use their own database connection. On SQLite the writers are
serialised by the database (IMMEDIATE transactions); the ``postgres`` variants
run the same races with real row locks and are skipped unless DATABASE_URL
points at PostgreSQL.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from tests.meeting_helpers import in_session, people
from workflow.documents.errors import WorkflowError
from workflow.meetings.models import Ballot, Vote
from workflow.meetings.services.attendance import check_in
from workflow.meetings.services.votes import cast_ballot, close_vote, open_vote

pytestmark = pytest.mark.django_db(transaction=True)


def _race(calls: list, timeout: float = 60) -> list:
    """Run the calls at once (behind a barrier); return each result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    # The test database on SQLite is a shared-cache in-memory database, where a
    # second writer fails at once ("table is locked") instead of waiting as it
    # does on the WAL file of a deployment: there the writers take turns, in
    # whatever order the threads reach the lock.
    serialise = threading.Lock() if connection.vendor == "sqlite" else None

    def run(index, func):
        try:
            barrier.wait()
            if serialise is not None:
                with serialise:
                    results[index] = func()
            else:
                results[index] = func()
        except Exception as exc:  # noqa: BLE001 - the test inspects every outcome
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return results


def _setup(org):
    cast = people(org)
    meeting = in_session(org)
    voters = [cast["delegate"], cast["delegate2"], cast["commune_delegate"], cast["chair"]]
    for person in voters:
        check_in(person, meeting.pk)
    vote = open_vote(cast["chair"], meeting.pk, question="Thông qua nghị quyết?")
    return cast, meeting, vote, voters


def _one_ballot_each(org):
    cast, meeting, vote, voters = _setup(org)
    # Every voter clicks three times at once (double clicks, two tabs).
    calls = [
        (lambda p=person, c=choice: cast_ballot(p, vote.pk, c))
        for person in voters for choice in ("yes", "yes", "no")
    ]
    results = _race(calls)
    unexpected = [r for r in results
                  if isinstance(r, Exception) and not isinstance(r, WorkflowError)]
    assert not unexpected, unexpected
    vote.refresh_from_db()
    assert Ballot.objects.filter(vote=vote).count() == len(voters)
    assert vote.cast_count == len(voters)
    for person in voters:
        assert Ballot.objects.filter(vote=vote, voter=person).count() == 1


def _close_races_ballots(org):
    cast, meeting, vote, voters = _setup(org)
    calls = [lambda p=person: cast_ballot(p, vote.pk, "yes") for person in voters]
    calls.append(lambda: close_vote(cast["chair"], vote.pk))
    results = _race(calls)
    ballots = results[:-1]
    assert isinstance(results[-1], Vote), results[-1]
    counted = [r for r in ballots if isinstance(r, Ballot)]
    refused = [r for r in ballots if isinstance(r, WorkflowError)]
    assert len(counted) + len(refused) == len(voters), ballots
    vote.refresh_from_db()
    # Whatever the order, the result equals the ballots that were accepted, and every
    # refusal says the vote was closed.
    assert vote.state == "closed"
    assert vote.yes_count == len(counted) == Ballot.objects.filter(vote=vote).count()
    assert all("closed" in str(r.message) for r in refused)
    # And nothing can be added afterwards.
    with pytest.raises(WorkflowError):
        cast_ballot(cast["delegate"], vote.pk, "no")


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def test_one_ballot_per_person_under_concurrent_clicks(org):
    _one_ballot_each(org)


def test_vote_closed_while_ballots_in_flight(org):
    _close_races_ballots(org)


@pytest.mark.postgres
def test_one_ballot_per_person_postgres(org):
    if not _is_postgres():
        pytest.skip("needs DATABASE_URL=postgres://…")
    for _ in range(3):
        _one_ballot_each(org)


@pytest.mark.postgres
def test_vote_closed_while_ballots_in_flight_postgres(org):
    if not _is_postgres():
        pytest.skip("needs DATABASE_URL=postgres://…")
    _close_races_ballots(org)


def test_unique_constraint_backs_up_the_check(org):
    """Even bypassing the service check, the database refuses a second ballot."""
    from django.db import IntegrityError, transaction

    cast, meeting, vote, voters = _setup(org)
    Ballot.objects.create(vote=vote, voter=cast["delegate"], choice="yes")
    with pytest.raises(IntegrityError), transaction.atomic():
        Ballot.objects.create(vote=vote, voter=cast["delegate"], choice="no")
