"""``seed_demo`` builds the Nghệ An shape from the seeds, idempotently.

The demo is seeded once, committed as from the command line (so what
runs after commit, such as deliveries, runs too), and one test runs every check on it inside its
own rolled-back transaction; the database is emptied afterwards. Seeding without the DEMO
PKI and the refusal in production need an empty database: ``test_seed_states.py``.
"""

from __future__ import annotations

import datetime as dt
import io
import time

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse

from signing.models import PdfStage, SealProfile, SignatureProfile, SignedPdf, SigningKey
from signing.validation import verify_pdf
from workflow import access
from workflow.audit.models import AuditEntry
from workflow.documents.models import (
    Document,
    DocumentType,
    OutgoingRegister,
    RegisterEntry,
    ReviewRule,
    State,
)
from workflow.exchange import demo as exchange_demo
from workflow.exchange.models import Recall, Replacement
from workflow.incoming.models import Delivery, IncomingDocument
from workflow.organisation import demo
from workflow.organisation.history import units_on
from workflow.organisation.models import Department, Level, Membership, Unit, User

DISTRICT_NAMES = {
    "Ủy ban MTTQ Việt Nam thành phố Vinh",
    "Ủy ban MTTQ Việt Nam thị xã Cửa Lò",
    "Ủy ban MTTQ Việt Nam thị xã Thái Hòa",
    "Ủy ban MTTQ Việt Nam thị xã Hoàng Mai",
    *(
        f"Ủy ban MTTQ Việt Nam huyện {name}"
        for name in [
            "Anh Sơn", "Con Cuông", "Diễn Châu", "Đô Lương", "Hưng Nguyên", "Kỳ Sơn",
            "Nam Đàn", "Nghi Lộc", "Nghĩa Đàn", "Quế Phong", "Quỳ Châu", "Quỳ Hợp",
            "Quỳnh Lưu", "Tân Kỳ", "Thanh Chương", "Tương Dương", "Yên Thành",
        ]
    ),
}

MODELS = [Level, Unit, Department, User, Membership, DocumentType, ReviewRule, Document,
          OutgoingRegister, RegisterEntry, AuditEntry, SigningKey, SignedPdf]


def seed() -> str:
    out = io.StringIO()
    started = time.perf_counter()
    call_command("seed_demo", stdout=out)
    # Measured and shown (pytest -s), never asserted: speed belongs to benchmarks.
    print(f"seed_demo took {time.perf_counter() - started:.2f} s")
    return out.getvalue()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


@pytest.fixture(scope="module")
def demo_dirs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("demo")
    return {"MEDIA_ROOT": root / "media", "SEARCH_INDEX_DIR": root / "search-index",
            "SIGNING_PKI_DIR": str(root / "signing-pki")}


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker, demo_dirs):
    """The output of one committed ``seed_demo`` (the settings as ``_fast_settings``)."""
    overrides = override_settings(
        LANGUAGE_CODE="en", ACCESS_LOG_BATCH_SECONDS=0,
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"], **demo_dirs)
    overrides.enable()
    try:
        with django_db_blocker.unblock():
            output = seed()
        yield output
    finally:
        with django_db_blocker.unblock():
            call_command("flush", interactive=False, verbosity=0)
        overrides.disable()


@pytest.fixture(autouse=True)
def _demo_settings(_fast_settings, settings, demo_dirs):
    # The seeded files and index live in the module's folders, not each test's.
    for name, value in demo_dirs.items():
        setattr(settings, name, value)


def check_seed_builds_the_nghe_an_shape(seeded):
    output = seeded
    province = Unit.objects.get(parent=None)
    assert province.name == "Ủy ban MTTQ Việt Nam tỉnh Nghệ An"
    # 2024, kept as history: 21 districts with their 460 communes.
    tree_2024 = units_on(dt.date(2024, 12, 31))
    districts = [r for r in tree_2024 if r["parent_id"] == province.pk]
    district_ids = {r["id"] for r in districts}
    communes = [r for r in tree_2024 if r["parent_id"] in district_ids]
    assert len(districts) == 21
    assert {r["name"] for r in districts} == DISTRICT_NAMES
    assert len(communes) == 460 and len(tree_2024) == 1 + 21 + 460
    assert all(c["path"].startswith(f"{province.path}{c['parent_id']}/") for c in communes)
    # Today (the demo plan of 1 July 2025 applied): two levels, 130 communes.
    assert Unit.objects.filter(is_active=True).count() == 131
    assert Unit.objects.filter(is_active=True, parent=province).count() == 130
    assert Unit.objects.count() == 1 + 21 + 460 + 129
    assert Unit.objects.get(name="Ủy ban MTTQ Việt Nam xã Kim Liên").is_active
    assert set(Level.objects.values_list("code", flat=True)) >= {"tinh", "huyen", "xa",
                                                                 "khu-dan-cu"}
    # Every demo account is listed with the shared password.
    assert demo.DEMO_PASSWORD in output
    for level, roles in demo.PEOPLE.items():
        for suffix, *_rest in roles.values():
            assert f"{level}.{suffix}" in output


def check_demo_people_hold_one_role_each_in_three_units(seeded):
    for level, unit_name in [
        ("tinh", "Ủy ban MTTQ Việt Nam tỉnh Nghệ An"),
        ("huyen", "Ủy ban MTTQ Việt Nam huyện Nam Đàn"),
        ("xa", "Ủy ban MTTQ Việt Nam xã Kim Liên"),
    ]:
        for role, (suffix, full_name, _title, _dept) in demo.PEOPLE[level].items():
            user = User.objects.get(username=f"{level}.{suffix}")
            assert user.full_name == full_name
            assert user.check_password(demo.DEMO_PASSWORD)
            assert Membership.objects.filter(user=user, role=role,
                                              unit__name=unit_name).exists()
    admin = User.objects.get(username="tinh.quantri")
    assert admin.is_staff and admin.is_superuser
    assert not User.objects.get(username="xa.quantri").is_staff


def check_demo_document_types_rules_and_documents(seeded):
    types = dict(DocumentType.objects.values_list("code", "abbreviation"))
    assert types["ke-hoach"] == "KH"
    assert types["quy-dinh"] == "QyĐ"
    assert types["cong-van"] == ""
    assert {"thong-tri", "ket-luan", "phan-bien-xa-hoi"} <= set(types)
    rules = {r.document_type.code: r.steps for r in ReviewRule.objects.select_related(
        "document_type")}
    assert rules == {"cong-van": ["head"], "ke-hoach": ["head", "leader"]}

    states = set(Document.objects.values_list("state", flat=True))
    assert {State.DRAFT, State.SUBMITTED, State.REVIEWED, State.APPROVED, State.SIGNED,
            State.ISSUED, State.ARCHIVED, State.RETURNED} <= states
    symbols = set(Document.objects.exclude(symbol="").values_list("symbol", flat=True))
    assert "01/KH-MTTQ-BTT" in symbols
    assert "01/QĐ-HĐTĐKT" in symbols  # the council's own series

    # The province's issued plan reached every district: Nam Đàn's people see it.
    plan = Document.objects.get(symbol="01/KH-MTTQ-BTT", unit__parent=None)
    member = User.objects.get(username="huyen.uyvien")
    assert access.can(member, "view", plan)
    # Work is waiting for the right people.
    assert access.inbox(User.objects.get(username="tinh.truongban")).exists()
    assert access.inbox(User.objects.get(username="tinh.vanthu")).exists()
    assert access.inbox(User.objects.get(username="huyen.lanhdao")).exists()


DEMO_UNIT_NAMES = ["Ủy ban MTTQ Việt Nam tỉnh Nghệ An", "Ủy ban MTTQ Việt Nam huyện Nam Đàn",
                   "Ủy ban MTTQ Việt Nam xã Kim Liên"]


def demo_documents():
    """The core seed's documents (other apps' demos add documents of their own)."""
    return Document.objects.filter(unit__name__in=DEMO_UNIT_NAMES,
                                   subject__in=[d[2] for d in demo.DOCUMENTS])


def check_demo_documents_are_signed_and_issued_through_the_signing_pipeline(seeded):
    for level in demo.PEOPLE:
        assert SignatureProfile.objects.filter(user__username=f"{level}.lanhdao",
                                               key__isnull=False).exists()
    assert SealProfile.objects.filter(unit__name__in=DEMO_UNIT_NAMES,
                                      key__isnull=False).count() == 3
    documents = demo_documents()
    # The one waiting at "signed" can be issued from the UI: it has its signed PDF.
    waiting = documents.get(state=State.SIGNED)
    assert waiting.pdf_versions.filter(stage=PdfStage.SIGNED).exists()
    assert not waiting.pdf_versions.filter(stage=PdfStage.ISSUED).exists()
    issued = documents.filter(state__in=[State.ISSUED, State.ARCHIVED])
    assert issued.count() == 4
    for document in issued:
        assert document.signed_at is not None
        stages = set(document.pdf_versions.values_list("stage", flat=True))
        assert {PdfStage.SIGNED, PdfStage.ISSUED} <= stages, document.subject
    plan = issued.get(symbol="01/KH-MTTQ-BTT")
    report = verify_pdf(SignedPdf.objects.get(document=plan, stage=PdfStage.ISSUED).read())
    assert report.ok, report.as_dict()
    person, seal, *_timestamps = report.signatures
    assert person.trusted and seal.trusted


def check_demo_incoming_in_every_state(seeded):
    clerk = User.objects.get(username="xa.vanthu")
    unit = clerk.memberships.first().unit
    states = set(IncomingDocument.objects.filter(unit=unit).values_list("state", flat=True))
    assert states >= {"received", "registered", "presented", "assigned", "in_handling", "done",
                      "filed", "returned"}
    assert IncomingDocument.objects.filter(unit=unit, source="paper").exists()
    overdue = IncomingDocument.objects.filter(unit=unit, state="assigned",
                                              deadline__lt="2100-01-01",
                                              priority="urgent").get()
    assert overdue.deadline is not None
    answered = IncomingDocument.objects.get(unit=unit, reply__state="issued")
    assert answered.state == "done"
    # Delivered from the province to every commune of the demo district (in 2024, before
    # the 2025 reorganisation merged the district and most of its communes).
    to_kim_lien = Delivery.objects.filter(document__unit__parent__isnull=True,
                                          unit=unit).values_list("document", flat=True)
    assert Delivery.objects.filter(document__in=list(to_kim_lien)) \
        .values("unit").distinct().count() > 1
    # Signed PDFs arrived and were checked.
    assert answered.attachments.filter(file__verdict="PASSED").exists()

    client = Client()
    assert client.login(username="xa.vanthu", password=demo.DEMO_PASSWORD)
    page = client.get(reverse("incoming:list")).content.decode()
    assert 'id="incoming-table"' in page
    province = Client()
    assert province.login(username="tinh.chuyenvien", password=demo.DEMO_PASSWORD)
    html = province.get(reverse("documents:detail", args=[answered.origin_id])).content.decode()
    assert "Answered by" in html


def check_demo_recall_and_replacement(seeded):
    """A recalled and a replaced document at xã Kim Liên; units have codes."""
    unit = User.objects.get(username="xa.vanthu").memberships.first().unit
    assert unit.organ_id == exchange_demo.CODES["xa"]
    assert Unit.objects.filter(organ_id=exchange_demo.CODES["tinh"]).count() == 1
    assert IncomingDocument.objects.filter(unit=unit, state="recalled",
                                           origin__subject=exchange_demo.RECALLED).exists()
    link = Replacement.objects.get(old__subject=exchange_demo.REPLACED)
    assert link.replaced_at is not None


def check_seeding_again_changes_nothing(seeded):
    before = counts(), Recall.objects.count(), Replacement.objects.count(), \
        IncomingDocument.objects.count(), Delivery.objects.count()
    second = seed()
    assert (counts(), Recall.objects.count(), Replacement.objects.count(),
            IncomingDocument.objects.count(), Delivery.objects.count()) == before, \
        "seeding twice must change nothing"
    assert "tinh.chuyenvien" in second


def test_commune_counts_add_up_to_the_seeds():
    assert sum(count for *_rest, count, _names in demo.DISTRICTS) == 460
    assert len(demo.DISTRICTS) == 21
    for district in demo.DISTRICTS:
        names = demo.commune_names(district)
        assert len(names) == district[3]
        assert len(set(names)) == len(names)


@pytest.mark.django_db
def test_the_demo(seeded):
    """One seed for every check (seeding costs more than all of them); seeding again last."""
    check_seed_builds_the_nghe_an_shape(seeded)
    check_demo_people_hold_one_role_each_in_three_units(seeded)
    check_demo_document_types_rules_and_documents(seeded)
    check_demo_documents_are_signed_and_issued_through_the_signing_pipeline(seeded)
    check_demo_incoming_in_every_state(seeded)
    check_demo_recall_and_replacement(seeded)
    check_seeding_again_changes_nothing(seeded)
