"""Signing capacity (Decree 30 Art. 13, Appendix I §II.7b): derived, chosen, printed,
stored, audited, stated in the signature; refused outside a valid delegation."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest
from django.utils import timezone

from signing import capacity as capacities
from signing import delegations
from signing.models import PdfStage, SignedPdf, SigningDelegation
from signing.services import sign_document
from signing.validation import verify_pdf
from tests.factories import advance, draft
from workflow.audit.models import AuditEntry
from workflow.documents.errors import InvalidInput, NotAllowed
from workflow.organisation.models import Membership, Role, User

pytestmark = [pytest.mark.django_db(transaction=False)]

TODAY = dt.date(2026, 3, 10)


def _title(user, unit, title: str) -> None:
    Membership.objects.filter(user=user, unit=unit, role=Role.LEADER).update(title=title)


def _head(org, unit_key="province") -> User:
    head = User.objects.create_user(username=f"head-{unit_key}", full_name="Chủ tịch Tỉnh")
    Membership.objects.create(user=head, unit=org.units[unit_key], role=Role.LEADER,
                              title="Chủ tịch")
    return head


def _delegate(org, grantee, capacity, *, unit="province", start=None, end=None, types=()):
    head = User.objects.filter(username=f"head-{unit}").first() or _head(org, unit)
    return delegations.create_delegation(
        head, unit=org.units[unit], grantor=head, grantee=grantee, capacity=capacity,
        valid_from=start or timezone.localdate() - dt.timedelta(days=1),
        valid_to=end or timezone.localdate() + dt.timedelta(days=30), document_types=types)


def _approved(org):
    return advance(org, draft(org, type_code="ke-hoach", subject="Kế hoạch thử"), "approved")


# --- derivation (no PDF) -----------------------------------------------------------------


@pytest.mark.parametrize("title,code,lines", [
    ("Chủ tịch", "TM", ["TM. BAN THƯỜNG TRỰC", "CHỦ TỊCH"]),
    ("Phó Chủ tịch", "KT", ["TM. BAN THƯỜNG TRỰC", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]),
    ("Quyền Chủ tịch", "Q", ["TM. BAN THƯỜNG TRỰC", "Q. CHỦ TỊCH"]),
    ("", "TM", ["TM. BAN THƯỜNG TRỰC", "CHỦ TỊCH"]),
])
def test_capacity_derived_from_position(org, title, code, lines):
    leader = org.person("province", Role.LEADER)
    _title(leader, org.units["province"], title)
    doc = draft(org)
    options = capacities.options_for(leader, doc)
    assert [o.code for o in options] == [code]
    assert options[0].lines == lines


def test_delegations_add_choices_and_respect_type_and_period(org):
    leader = org.person("province", Role.LEADER)  # Phó Chủ tịch
    doc = draft(org, type_code="ke-hoach")
    _delegate(org, leader, "TUQ", types=[org.types["ke-hoach"]])
    _delegate(org, leader, "TL", types=[org.types["cong-van"]])
    codes = [o.code for o in capacities.options_for(leader, doc)]
    assert codes == ["KT", "TUQ"]  # TL is for Công văn only
    tuq = capacities.resolve(leader, doc, "TUQ")
    assert tuq.lines == ["TUQ. CHỦ TỊCH", "PHÓ CHỦ TỊCH"] and tuq.delegation_id
    with pytest.raises(capacities.CapacityRefused, match="does not cover"):
        capacities.resolve(leader, doc, "TL")
    later = timezone.localdate() + dt.timedelta(days=60)
    with pytest.raises(capacities.CapacityRefused, match="ended on"):
        capacities.resolve(leader, doc, "TUQ", on=later)


def test_refused_for_wrong_unit_and_without_capacity(org):
    leader = org.person("province", Role.LEADER)
    _title(leader, org.units["province"], "Ủy viên Thường trực")
    doc = draft(org)
    with pytest.raises(capacities.CapacityRefused, match="no signing capacity"):
        capacities.resolve(leader, doc)
    Membership.objects.create(user=leader, unit=org.units["district"], role=Role.SPECIALIST)
    _delegate(org, leader, "TL", unit="district")
    with pytest.raises(capacities.CapacityRefused, match="is for .*huyện Nam Đàn"):
        capacities.resolve(leader, doc, "TL")


def test_delegation_rules(org):
    head = _head(org)
    unit = org.units["province"]
    deputy = org.person("province", Role.LEADER)
    specialist = org.person("province", Role.SPECIALIST)
    base = {"unit": unit, "grantee": specialist, "valid_from": TODAY}
    with pytest.raises(InvalidInput, match="limited in time"):
        delegations.create_delegation(head, grantor=head, capacity="TUQ", **base)
    with pytest.raises(InvalidInput, match="head of the unit"):
        delegations.create_delegation(head, grantor=deputy, capacity="TL", **base)
    with pytest.raises(InvalidInput, match="before the start"):
        delegations.create_delegation(head, grantor=head, capacity="TL",
                                      valid_to=TODAY - dt.timedelta(days=1), **base)
    with pytest.raises(NotAllowed):
        delegations.create_delegation(specialist, grantor=head, capacity="TL", **base)
    outsider = org.person("district", Role.SPECIALIST)
    with pytest.raises(InvalidInput, match="belong to the unit"):
        delegations.create_delegation(head, unit=unit, grantee=outsider, grantor=head,
                                      capacity="TL", valid_from=TODAY)
    made = delegations.create_delegation(head, grantor=head, capacity="TL", **base)
    ended = delegations.end_delegation(deputy, made.pk)
    assert ended.ended_at is not None
    codes = set(AuditEntry.objects.filter(object_id=str(made.pk),
                                          action__startswith="signing.delegation")
                .values_list("action", flat=True))
    assert codes == {"signing.delegation.created", "signing.delegation.ended"}


# --- rendered, signed and verified ---------------------------------------------------------


def _block_text(data: bytes, tmp_path) -> str:
    """The right half of the page (the signer's column), read top to bottom."""
    path = tmp_path / "signed.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-x", "300", "-y", "0", "-W", "300", "-H", "842",
                          str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(out.split())


@pytest.mark.slow
@pytest.mark.parametrize("title,delegation,code,expected", [
    ("Chủ tịch", None, "TM", "TM. BAN THƯỜNG TRỰC CHỦ TỊCH"),
    ("Phó Chủ tịch", None, "KT", "TM. BAN THƯỜNG TRỰC KT. CHỦ TỊCH PHÓ CHỦ TỊCH"),
    ("Quyền Chủ tịch", None, "Q", "TM. BAN THƯỜNG TRỰC Q. CHỦ TỊCH"),
    ("Chánh Văn phòng", "TUQ", "TUQ", "TUQ. CHỦ TỊCH CHÁNH VĂN PHÒNG"),
    ("Chánh Văn phòng", "TL", "TL", "TL. CHỦ TỊCH CHÁNH VĂN PHÒNG"),
])
def test_each_capacity_printed_stored_audited_and_verified(signing_env, tmp_path, title,
                                                           delegation, code, expected):
    org, leader = signing_env["org"], signing_env["leader"]
    _title(leader, org.units["province"], title)
    if delegation:
        _delegate(org, leader, delegation)
    doc = _approved(org)
    sign_document(leader, doc.pk, expected_state="approved", capacity=code)
    signed = SignedPdf.objects.get(document=doc, stage=PdfStage.SIGNED)
    assert signed.capacity == code
    assert signed.authority == capacities.resolve(leader, doc, code).label
    assert (signed.delegation_id is not None) == bool(delegation)
    data = signed.read()
    assert expected in _block_text(data, tmp_path)
    person = verify_pdf(data).signatures[0]
    assert person.valid and person.capacity == signed.authority
    entry = AuditEntry.objects.filter(action="signing.signed", object_id=str(doc.pk)).get()
    assert signed.authority in entry.comment


@pytest.mark.slow
def test_signing_outside_a_valid_delegation_is_refused(signing_env):
    org, leader = signing_env["org"], signing_env["leader"]
    _title(leader, org.units["province"], "Chánh Văn phòng")
    _delegate(org, leader, "TUQ", start=timezone.localdate() - dt.timedelta(days=20),
              end=timezone.localdate() - dt.timedelta(days=1))
    doc = _approved(org)
    with pytest.raises(InvalidInput, match="ended on"):
        sign_document(leader, doc.pk, expected_state="approved", capacity="TUQ")
    doc.refresh_from_db()
    assert doc.state == "approved"
    assert not SignedPdf.objects.filter(document=doc, stage=PdfStage.SIGNED).exists()
    assert AuditEntry.objects.filter(action="signing.sign.refused", object_id=str(doc.pk),
                                     comment__contains="ended on").exists()
    assert SigningDelegation.objects.count() == 1


@pytest.mark.slow
def test_verify_page_shows_the_capacity(signing_env, client):
    org, leader = signing_env["org"], signing_env["leader"]
    doc = _approved(org)
    sign_document(leader, doc.pk, expected_state="approved")
    signed = SignedPdf.objects.get(document=doc, stage=PdfStage.SIGNED)
    client.force_login(leader)
    page = client.get(f"/signing/documents/{doc.pk}/pdfs/{signed.pk}/verify/")
    assert page.status_code == 200
    assert "KT. CHỦ TỊCH / PHÓ CHỦ TỊCH" in page.content.decode()


# --- pages ---------------------------------------------------------------------------------


def test_delegation_page_records_and_ends(org, client):
    head = _head(org)
    unit = org.units["province"]
    grantee = org.person("province", Role.HEAD)
    client.force_login(head)
    page = client.get("/signing/delegations/")
    assert page.status_code == 200 and unit.name in page.content.decode()
    bad = client.post("/signing/delegations/", {
        "unit": unit.pk, "grantor": head.pk, "grantee": grantee.pk, "capacity": "TUQ",
        "valid_from": "2026-01-01"})
    assert bad.status_code == 400
    assert "limited in time" in bad.content.decode() or "giới hạn thời gian" in \
        bad.content.decode()
    assert not SigningDelegation.objects.exists()
    done = client.post("/signing/delegations/", {
        "unit": unit.pk, "grantor": head.pk, "grantee": grantee.pk, "capacity": "TL",
        "valid_from": "2026-01-01", "valid_to": "2026-12-31", "note": "Quyết định 12",
        "document_types": [org.types["cong-van"].pk]})
    assert done.status_code == 302
    made = SigningDelegation.objects.get()
    assert made.capacity == "TL" and list(made.document_types.all()) == [org.types["cong-van"]]
    listed = client.get("/signing/delegations/").content.decode()
    assert "Quyết định 12" in listed
    client.force_login(org.person("district", Role.LEADER))
    assert client.post(f"/signing/delegations/{made.pk}/end/").status_code == 404
    client.force_login(head)
    assert client.post(f"/signing/delegations/{made.pk}/end/").status_code == 302
    made.refresh_from_db()
    assert made.ended_at is not None and made.ended_by == head


@pytest.mark.slow
def test_sign_page_offers_a_choice_and_signs_in_the_chosen_capacity(signing_env, client):
    org, leader = signing_env["org"], signing_env["leader"]
    _delegate(org, leader, "TUQ")
    doc = _approved(org)
    client.force_login(leader)
    page = client.get(f"/signing/documents/{doc.pk}/sign/").content.decode()
    assert 'data-testid="capacity-choice"' in page
    assert 'value="KT"' in page and 'value="TUQ"' in page
    response = client.post(f"/signing/documents/{doc.pk}/sign/", {"capacity": "TUQ"})
    assert response.status_code == 302
    signed = SignedPdf.objects.get(document=doc, stage=PdfStage.SIGNED)
    assert signed.capacity == "TUQ" and signed.authority == "TUQ. CHỦ TỊCH / PHÓ CHỦ TỊCH"


def test_sign_page_explains_a_missing_capacity(org, client):
    leader = org.person("province", Role.LEADER)
    _title(leader, org.units["province"], "Ủy viên Thường trực")
    doc = _approved(org)
    client.force_login(leader)
    page = client.get(f"/signing/documents/{doc.pk}/sign/")
    assert page.status_code == 200
    refusal = page.content.decode()
    assert 'data-testid="capacity-refusal"' in refusal
    assert "capacity-choice" not in refusal
