"""Register numbering (Decree 30, Art. 15): consecutive, no gaps, no duplicates.

The concurrency test needs real PostgreSQL (row locks, one connection per thread)
and skips elsewhere; the other tests run on every database.
"""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import advance, draft, make_org
from workflow.documents import numbering, services
from workflow.documents.errors import Conflict, WorkflowError
from workflow.documents.models import (
    Document,
    DocumentType,
    OutgoingRegister,
    RegisterEntry,
    Series,
    State,
)
from workflow.organisation.models import Department, Membership, Role, User

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def signed(org, n: int = 1, *, unit: str = "province", type_code: str = "ke-hoach", **extra):
    return [
        advance(org, draft(org, unit, type_code, subject=f"Văn bản {i}", **extra), "signed")
        for i in range(n)
    ]


def issue(org, document: Document, unit: str = "province") -> Document:
    return services.transition(org.person(unit, Role.CLERK), document.pk, "issue")


def _require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://…")


def _issue_concurrently(clerk_pk: int, doc_ids: list[int]) -> tuple[list[Document], list]:
    """Each thread has its own connection; all call ``issue`` at the same moment."""
    barrier = threading.Barrier(len(doc_ids))
    issued: list[Document] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(pk: int) -> None:
        try:
            clerk = User.objects.get(pk=clerk_pk)
            barrier.wait(timeout=30)
            document = services.transition(clerk, pk, "issue")
            with lock:
                issued.append(document)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(pk,)) for pk in doc_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return issued, errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_issuers_get_consecutive_numbers(monkeypatch):
    _require_postgres()
    # In a transactional test on_commit hooks really run; the search indexer and
    # other listeners are not what is measured here and would only slow it down.
    monkeypatch.setattr(services, "_changed", lambda document, reason: None)
    org = make_org()
    clerk = org.person("province", Role.CLERK)

    # Round 1: nobody has issued this year yet, so the register row itself is
    # created in the race.
    first = [d.pk for d in signed(org, 20)]
    issued, errors = _issue_concurrently(clerk.pk, first)
    assert errors == []
    assert sorted(d.number for d in issued) == list(range(1, 21))

    # Round 2: the register exists; the row lock alone serialises the issuers.
    second = [d.pk for d in signed(org, 10)]
    issued2, errors2 = _issue_concurrently(clerk.pk, second)
    assert errors2 == []
    assert sorted(d.number for d in issued2) == list(range(21, 31))

    docs = Document.objects.filter(pk__in=first + second)
    assert {d.state for d in docs} == {State.ISSUED}
    numbers = sorted(d.number for d in docs)
    assert numbers == list(range(1, 31)), "gap or duplicate in the register"
    symbols = [d.symbol for d in docs]
    assert len(set(symbols)) == 30
    assert {f"{n:02d}/KH-MTTQ-BTT" for n in range(1, 31)} == set(symbols)
    register = OutgoingRegister.objects.get(unit=org.units["province"])
    assert register.last_number == 30
    entries = RegisterEntry.objects.filter(register=register).order_by("number")
    assert [e.number for e in entries] == list(range(1, 31))


def test_first_number_and_leading_zero(org):
    doc = issue(org, signed(org)[0])
    assert doc.number == 1
    assert doc.symbol == "01/KH-MTTQ-BTT"
    assert numbering.number_line(doc.symbol) == "Số: 01/KH-MTTQ-BTT"
    assert numbering.format_symbol(doc, 5) == "05/KH-MTTQ-BTT"
    assert numbering.number_line(numbering.format_symbol(doc, 5)) == "Số: 05/KH-MTTQ-BTT"
    assert numbering.format_symbol(doc, 10) == "10/KH-MTTQ-BTT"
    assert numbering.format_symbol(doc, 123) == "123/KH-MTTQ-BTT"


def test_cong_van_symbol_names_the_drafting_department(org):
    doc = issue(org, signed(org, type_code="cong-van")[0])
    assert doc.symbol == "01/MTTQ-BTT-BDC"


def test_numbers_follow_each_other_in_one_register(org):
    docs = [issue(org, d) for d in signed(org, 3)]
    assert [d.number for d in docs] == [1, 2, 3]
    # Công văn and Kế hoạch share the unit's general series.
    cv = issue(org, signed(org, type_code="cong-van")[0])
    assert cv.number == 4


def test_units_have_separate_registers(org):
    a = issue(org, signed(org)[0])
    b = issue(org, signed(org, unit="district")[0], unit="district")
    assert (a.number, b.number) == (1, 1)


def test_failure_after_assigning_rolls_the_number_back(org, monkeypatch):
    doc = signed(org)[0]
    real_record = services.record

    def failing_record(target, action, **kwargs):
        if action == "document.issue":
            raise RuntimeError("disk full")
        return real_record(target, action, **kwargs)

    monkeypatch.setattr(services, "record", failing_record)
    with pytest.raises(RuntimeError):
        issue(org, doc)
    doc.refresh_from_db()
    assert doc.state == State.SIGNED
    assert doc.number is None
    assert not RegisterEntry.objects.exists()
    assert not OutgoingRegister.objects.filter(last_number__gt=0).exists()

    monkeypatch.setattr(services, "record", real_record)
    assert issue(org, doc).number == 1


def test_number_is_assigned_only_at_issue(org):
    doc = signed(org)[0]
    assert doc.number is None and doc.symbol == ""
    issue(org, doc)
    with pytest.raises(WorkflowError):
        # Issuing twice is refused; the register does not move.
        issue(org, doc)
    assert OutgoingRegister.objects.get().last_number == 1


def _at(monkeypatch, moment: dt.datetime) -> None:
    monkeypatch.setattr(timezone, "now", lambda: moment)


def test_year_rollover_uses_local_time(org, monkeypatch):
    old_year, first, second = signed(org, 3)
    _at(monkeypatch, dt.datetime(2024, 12, 31, 23, 59, 59, tzinfo=VN))
    old = issue(org, old_year)
    assert (old.number, old.year) == (1, 2024)

    # 00:00:01 on 1 January in Vietnam is still 31 December in UTC.
    new_year = dt.datetime(2025, 1, 1, 0, 0, 1, tzinfo=VN)
    assert new_year.astimezone(dt.UTC).year == 2024
    _at(monkeypatch, new_year)
    a = issue(org, first)
    b = issue(org, second)
    assert (a.number, a.year, a.symbol) == (1, 2025, "01/KH-MTTQ-BTT")
    assert (b.number, b.year) == (2, 2025)
    assert set(
        OutgoingRegister.objects.values_list("year", "last_number")
    ) == {(2024, 1), (2025, 2)}


def test_confidential_documents_have_their_own_series(org):
    general = issue(org, signed(org)[0])
    secret = issue(org, signed(org, confidential=True)[0])
    assert general.number == secret.number == 1
    assert secret.symbol == "01/KH-MTTQ-BTT-M"
    assert general.symbol != secret.symbol
    assert set(OutgoingRegister.objects.values_list("series", flat=True)) == {
        Series.GENERAL, Series.CONFIDENTIAL,
    }


def _council(org) -> Department:
    council = Department.objects.create(
        unit=org.units["province"], name="Hội đồng Thi đua - Khen thưởng",
        abbreviation="HĐTĐKT", own_series=True,
    )
    Membership.objects.create(
        user=org.person("province", Role.HEAD), unit=org.units["province"],
        department=council, role=Role.HEAD,
    )
    return council


def test_council_with_own_series(org):
    council = _council(org)
    general = issue(org, signed(org)[0])
    board = issue(org, signed(org, drafting_department=council)[0])
    board_cv = issue(org, signed(org, type_code="cong-van", drafting_department=council)[0])
    assert general.symbol == "01/KH-MTTQ-BTT"
    assert (board.number, board.symbol) == (1, "01/KH-HĐTĐKT")
    assert (board_cv.number, board_cv.symbol) == (2, "02/HĐTĐKT")


def test_council_without_abbreviation_cannot_duplicate_a_symbol(org):
    council = _council(org)
    council.abbreviation = ""
    council.save()
    issue(org, signed(org)[0])
    doc = signed(org, drafting_department=council)[0]
    with pytest.raises(Conflict):
        issue(org, doc)
    doc.refresh_from_db()
    assert doc.state == State.SIGNED
    assert RegisterEntry.objects.count() == 1


def test_each_legal_normative_type_has_its_own_series(org, monkeypatch):
    for code, name, abbr in [("nq-qppl", "Nghị quyết (QPPL)", "NQ"),
                             ("qd-qppl", "Quyết định (QPPL)", "QĐ")]:
        org.types[code] = DocumentType.objects.create(
            code=code, name=name, abbreviation=abbr, series=Series.LEGAL
        )
    _at(monkeypatch, dt.datetime(2025, 3, 2, 9, 0, tzinfo=VN))
    nq = issue(org, signed(org, type_code="nq-qppl")[0])
    qd = issue(org, signed(org, type_code="qd-qppl")[0])
    general = issue(org, signed(org)[0])
    assert nq.symbol == "01/2025/NQ-MTTQ-BTT"
    assert qd.symbol == "01/2025/QĐ-MTTQ-BTT"
    assert general.number == 1
