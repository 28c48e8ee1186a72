"""Who may see and do what on an incoming document: a hand-written matrix.

The expected answers are written out from the rules in ``workflow/access/incoming.py``
(incoming section), not computed by it. People, all relative to one document the
province issued to ``commune`` and ``commune2``, looked at in ``commune``:

* clerk, leader            of ``commune``
* lead, co, info           named by the leader (specialist, head, member of ``commune``)
* other_dept               a specialist of another department of ``commune``
* other_unit               the clerk of ``district`` (did not receive it)
* same_doc                 the clerk of ``commune2``, which received the same document
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD
from tests.incoming_helpers import arrived, issue_to
from workflow import access
from workflow.incoming import services
from workflow.incoming.models import IncomingDocument
from workflow.organisation.models import Department, Membership, Role, User

PEOPLE = ["clerk", "leader", "lead", "co", "info", "other_dept", "other_unit", "same_doc"]

# action@state -> who may (Y) in PEOPLE order
MATRIX = {
    "view@received":       "YY......",
    "view@assigned":       "YYYYY...",
    "edit@received":       "Y.......",
    "register@received":   "Y.......",
    "return@received":     "Y.......",
    "present@registered":  "Y.......",
    "assign@registered":   ".Y......",
    "start@assigned":      "..Y.....",
    "forward@in_handling": "..Y.....",
    "complete@in_handling": "..Y.....",
    "reply@in_handling":   "..YY....",
    "note@in_handling":    "YYYY....",
    "file@done":           "YY......",
    "file@in_handling":    "........",
    "assign@assigned":     "........",
}


@pytest.fixture
def people(org):
    other = Department.objects.create(unit=org.units["commune"], name="Ban Tuyên giáo")
    outsider = User.objects.create_user(username="other-dept", password=PASSWORD)
    Membership.objects.create(user=outsider, unit=org.units["commune"], department=other,
                              role=Role.SPECIALIST)
    return {
        "clerk": org.person("commune", Role.CLERK),
        "leader": org.person("commune", Role.LEADER),
        "lead": org.person("commune", Role.SPECIALIST),
        "co": org.person("commune", Role.HEAD),
        "info": org.person("commune", Role.MEMBER),
        "other_dept": outsider,
        "other_unit": org.person("district", Role.CLERK),
        "same_doc": org.person("commune2", Role.CLERK),
    }


def _in_state(org, p, state: str) -> IncomingDocument:
    document = issue_to(org, ["commune", "commune2"], subject=f"Công văn {state}")
    incoming = arrived(org, document, "commune")
    steps = ["received", "registered", "assigned", "in_handling", "done"]
    for step in steps[1:steps.index(state) + 1]:
        if step == "registered":
            services.register(p["clerk"], incoming.pk)
        elif step == "assigned":
            services.assign(p["leader"], incoming.pk, direction="Giao", lead_id=p["lead"].pk,
                            co_ids=[p["co"].pk], info_ids=[p["info"].pk])
        elif step == "in_handling":
            services.start(p["lead"], incoming.pk)
        elif step == "done":
            services.complete(p["lead"], incoming.pk, result="Xong")
    return IncomingDocument.objects.get(pk=incoming.pk)


@pytest.mark.django_db(transaction=True)
def test_incoming_access_matrix(org, people):
    states = {cell.split("@")[1] for cell in MATRIX}
    documents = {state: _in_state(org, people, state) for state in states}
    wrong = []
    for cell, expected in MATRIX.items():
        action, state = cell.split("@")
        incoming = documents[state]
        for name, flag in zip(PEOPLE, expected, strict=True):
            user = people[name]
            access.forget(user)
            got = access.can_incoming(user, action, incoming)
            if got != (flag == "Y"):
                wrong.append(f"{name} {cell}: expected {flag}, got {got}")
            if action == "view":
                listed = IncomingDocument.objects.filter(access.visible_incoming_q(user)).filter(
                    pk=incoming.pk).exists()
                if listed != got:
                    wrong.append(f"{name} {cell}: list filter says {listed}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.django_db(transaction=True)
def test_pages_answer_404_to_whoever_cannot_see(org, people):
    incoming = _in_state(org, people, "assigned")
    for name, flag in zip(PEOPLE, MATRIX["view@assigned"], strict=True):
        client = Client()
        assert client.login(username=people[name].username, password=PASSWORD)
        response = client.get(reverse("incoming:detail", args=[incoming.pk]))
        assert response.status_code == (200 if flag == "Y" else 404), name
        if flag != "Y":
            assert incoming.subject not in response.content.decode()
    # A refused action changes nothing and answers 404 to someone who cannot see it.
    client = Client()
    client.login(username=people["same_doc"].username, password=PASSWORD)
    response = client.post(reverse("incoming:act", args=[incoming.pk, "start"]),
                           {"expected_state": "assigned"})
    assert response.status_code == 404
    assert IncomingDocument.objects.get(pk=incoming.pk).state == "assigned"
