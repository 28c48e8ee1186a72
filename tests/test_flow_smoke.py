import pytest

from tests.factories import advance, draft
from workflow import access
from workflow.documents import services
from workflow.documents.errors import Conflict, NotAllowed
from workflow.organisation.models import Role


def test_full_flow_issues_with_number(org):
    doc = draft(org, type_code="ke-hoach")
    doc = advance(org, doc, "issued")
    assert doc.state == "issued"
    assert doc.number == 1
    assert doc.symbol == "01/KH-MTTQ-BTT"


def test_double_click_is_refused(org):
    doc = draft(org)
    services.transition(doc.drafter, doc.pk, "submit", expected_state="draft")
    with pytest.raises(Conflict):
        services.transition(doc.drafter, doc.pk, "submit", expected_state="draft")


def test_draft_private_until_submitted(org):
    doc = draft(org)
    leader = org.person("province", Role.LEADER)
    assert not access.can(leader, "view", doc)
    assert not access.visible_documents(leader).filter(pk=doc.pk).exists()
    services.transition(doc.drafter, doc.pk, "submit")
    doc.refresh_from_db()
    access.forget(leader)
    assert access.can(leader, "view", doc)


def test_wrong_role_refused(org):
    doc = advance(org, draft(org), "submitted")
    with pytest.raises(NotAllowed):
        services.transition(org.person("province", Role.LEADER), doc.pk, "forward")
