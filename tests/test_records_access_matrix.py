"""Role × relation matrix for case files, through the pages (issue #22).

Written out by hand from the rules at the top of ``workflow/records/access.py`` (not
computed by calling it), like ``tests/test_access_matrix.py``.

Set-up in ``district``: file F holds an issued document A, an issued confidential
document B (drafted in the district's department by a dedicated drafter) and a
registered incoming document C; file G holds only B. Both are kept by the district's
clerk. An issued document D waits to be filed. Relations of the person to
``district``: own, parent (province), child (commune), sibling (district2).

Columns: F = the page of F opens; A, B, C = the document is listed in F's contents;
G = the page of G opens; fil = filing D into F works; cls = closing F works.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client, override_settings

from tests.factories import advance, make_org
from tests.records_helpers import registered_incoming
from workflow.documents import services as documents
from workflow.organisation.models import Membership, Role, User
from workflow.records import access, services
from workflow.records.models import CaseFile, CaseState

ROLES = [r.value for r in Role]
RELATION_UNIT = {"own": "district", "parent": "province", "child": "commune",
                 "sibling": "district2"}

MATRIX = """
relation role      |  F  A  B  C  G fil cls
own     specialist |  Y  Y  .  .  .  Y  .
own     head       |  Y  Y  Y  .  Y  Y  .
own     leader     |  Y  Y  Y  Y  Y  Y  Y
own     clerk      |  Y  Y  Y  Y  Y  Y  Y
own     member     |  Y  Y  .  .  .  .  .
own     secretary  |  Y  Y  .  .  .  .  .
own     admin      |  Y  Y  .  .  .  .  .
parent  specialist |  .  .  .  .  .  .  .
parent  head       |  .  .  .  .  .  .  .
parent  leader     |  Y  Y  .  .  Y  .  .
parent  clerk      |  .  .  .  .  .  .  .
parent  member     |  .  .  .  .  .  .  .
parent  secretary  |  .  .  .  .  .  .  .
parent  admin      |  .  .  .  .  .  .  .
child   *          |  .  .  .  .  .  .  .
sibling *          |  .  .  .  .  .  .  .
"""


def _parse() -> dict[tuple[str, str], dict[str, bool]]:
    lines = [line for line in MATRIX.strip().splitlines()]
    columns = lines[0].split("|")[1].split()
    out = {}
    for line in lines[1:]:
        left, right = line.split("|")
        relation, role = left.split()
        marks = [m == "Y" for m in right.split()]
        for r in (ROLES if role == "*" else [role]):
            out[(relation, r)] = dict(zip(columns, marks, strict=True))
    return out


EXPECTED = _parse()
CASES = sorted(EXPECTED)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
    ), transaction.atomic():
        org = make_org()
        clerk = org.person("district", Role.CLERK)
        drafter = User.objects.create_user(username="district-drafter", password="x")
        Membership.objects.create(user=drafter, unit=org.units["district"],
                                  role=Role.SPECIALIST, department=org.departments["district"])

        def issued(subject: str, **extra):
            doc = documents.create_document(drafter, unit=org.units["district"], data={
                "subject": subject, "document_type": org.types["ke-hoach"],
                "body": "<p>Nội dung.</p>", **extra})
            return advance(org, doc, "issued")

        a = issued("MATRIX-A công khai")
        b = issued("MATRIX-B mật", confidential=True)
        d = issued("MATRIX-D chờ lập hồ sơ")
        c = registered_incoming(org, "district", subject="MATRIX-C văn bản đến")
        f = services.open_case_file(clerk, org.units["district"], code="F", title="Hồ sơ F")
        services.file_documents(clerk, f.pk, documents=[a.pk, b.pk], incoming=[c.pk])
        g = services.open_case_file(clerk, org.units["district"], code="G", title="Hồ sơ G")
        services.file_documents(clerk, g.pk, documents=[b.pk])
        people = {key: org.person(RELATION_UNIT[key[0]], key[1]) for key in EXPECTED}
        yield {"org": org, "f": f.pk, "g": g.pk, "d": d.pk, "people": people}
        transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.parametrize(("relation", "role"), CASES)
def test_case_file_matrix(world, relation, role):
    expected = EXPECTED[(relation, role)]
    user = world["people"][(relation, role)]
    client = Client()
    client.force_login(user)
    page = client.get(f"/records/{world['f']}/")
    assert (page.status_code == 200) == expected["F"], page.status_code
    text = page.content.decode()
    for column, subject in (("A", "MATRIX-A"), ("B", "MATRIX-B"), ("C", "MATRIX-C")):
        assert (subject in text) == expected[column], column
    assert (client.get(f"/records/{world['g']}/").status_code == 200) == expected["G"]
    # The list and the single-object rule agree, and the list shows the same files.
    listed = set(access.visible_case_files(user).values_list("pk", flat=True))
    assert listed == {pk for pk, col in ((world["f"], "F"), (world["g"], "G")) if expected[col]}
    assert ("Hồ sơ F" in client.get("/records/").content.decode()) == expected["F"]
    # Filing D into F.
    client.post(f"/records/{world['f']}/file/", {"document": [world["d"]]})
    filed = CaseFile.objects.get(pk=world["f"]).items.filter(document_id=world["d"]).exists()
    assert filed == expected["fil"]
    # Closing F.
    client.post(f"/records/{world['f']}/close/", {"expected_state": "open"})
    closed = CaseFile.objects.get(pk=world["f"]).state == CaseState.CLOSED
    assert closed == expected["cls"]
    # Exports follow the same rule (the contents list shows only what the person sees).
    export = client.get(f"/records/{world['f']}/contents.xlsx")
    assert (export.status_code == 200) == expected["F"]


def test_matrix_covers_every_role_and_relation():
    assert len(CASES) == 4 * len(ROLES) == 28
