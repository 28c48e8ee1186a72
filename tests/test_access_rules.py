"""The access module agrees with itself: single decisions, list filters and inboxes.

``access.can`` decides one document; ``access.visible_documents`` and ``access.inbox``
are the same rules written as database filters for lists, counts and search. If the two
drift apart, a list shows a document its detail page refuses (or hides one it allows).
"""

from __future__ import annotations

import pytest

from tests.factories import advance, draft
from workflow import access
from workflow.documents import services
from workflow.documents.models import DocumentRecipient, ReviewRule
from workflow.organisation.models import Membership, Role, User
from workflow.organisation.services import merge_units

pytestmark = pytest.mark.django_db

INBOX_ACTIONS = ("forward", "approve", "sign", "issue")


def _documents(org) -> dict[str, object]:
    """Documents in every state, in several units, with and without recipients."""
    docs = {}
    for state in ("draft", "submitted", "reviewed", "approved", "signed", "issued", "archived",
                  "returned"):
        doc = draft(org, unit="district", subject=f"district {state}")
        docs[f"district-{state}"] = doc if state == "draft" else advance(org, doc, state)
    docs["district-withdrawn-draft"] = _withdrawn(org, submitted=False)
    docs["district-withdrawn-submitted"] = _withdrawn(org, submitted=True)
    docs["province-issued"] = advance(org, draft(org, unit="province"), "issued")
    docs["province-submitted"] = advance(org, draft(org, unit="province"), "submitted")
    docs["commune-issued"] = advance(org, draft(org, unit="commune"), "issued")
    docs["commune2-submitted"] = advance(org, draft(org, unit="commune2"), "submitted")
    to_sibling = draft(org, unit="district2")
    DocumentRecipient.objects.create(document=to_sibling, unit=org.units["commune"])
    docs["district2-issued-to-commune"] = advance(org, to_sibling, "issued")
    docs["district2-reviewed-to-commune"] = advance(org, _with_recipient(org), "reviewed")
    # Review by the head and then the leader: a submitted document waiting for a leader.
    ReviewRule.objects.create(document_type=org.types["bao-cao"], unit=None,
                              steps=[Role.HEAD, Role.LEADER])
    two_step = advance(org, draft(org, unit="district", type_code="bao-cao"), "submitted")
    docs["district-awaiting-leader"] = services.transition(
        org.person("district", Role.HEAD), two_step.pk, "forward")
    return docs


def _with_recipient(org):
    doc = draft(org, unit="district2")
    DocumentRecipient.objects.create(document=doc, unit=org.units["commune"])
    return doc


def _withdrawn(org, *, submitted: bool):
    doc = draft(org, unit="district", subject="withdrawn")
    if submitted:
        doc = advance(org, doc, "submitted")
    return services.transition(doc.drafter, doc.pk, "withdraw", comment="Thôi")


def _people(org) -> list[User]:
    people = list(org.people.values())
    # Someone with roles in two units at once.
    dual = User.objects.create_user(username="dual", password="x")
    Membership.objects.create(user=dual, unit=org.units["district"], role=Role.HEAD,
                              department=org.departments["district"])
    Membership.objects.create(user=dual, unit=org.units["commune"], role=Role.LEADER)
    # A department head with no department: heads the whole unit.
    head_all = User.objects.create_user(username="head-all", password="x")
    Membership.objects.create(user=head_all, unit=org.units["district"], role=Role.HEAD)
    # Someone with no role at all.
    nobody = User.objects.create_user(username="nobody", password="x")
    return [*people, dual, head_all, nobody]


def _fresh(user: User) -> User:
    access.forget(user)
    return user


def _check_consistency(org, people, docs) -> int:
    checked = 0
    for user in people:
        user = _fresh(user)
        visible = set(access.visible_documents(user).values_list("pk", flat=True))
        inbox = set(access.inbox(user).values_list("pk", flat=True))
        for name, doc in docs.items():
            doc.refresh_from_db()
            can_view = access.can(user, "view", doc)
            assert can_view == (doc.pk in visible), (user.username, name)
            expected_inbox = any(access.can(user, a, doc) for a in INBOX_ACTIONS) or (
                doc.state == "returned" and doc.drafter_id == user.pk
            )
            assert expected_inbox == (doc.pk in inbox), (user.username, name, "inbox")
            if doc.pk in inbox:
                assert can_view
            checked += 1
    return checked


def test_single_decisions_match_list_filters_and_inbox(org):
    docs = _documents(org)
    people = _people(org)
    assert _check_consistency(org, people, docs) == len(people) * len(docs)


def test_consistency_survives_a_merger(org):
    """After commune2 merges into commune, commune's people act on commune2's documents."""
    docs = _documents(org)
    merge_units([org.units["commune2"]], into=org.units["commune"])
    people = _people(org)
    _check_consistency(org, people, docs)
    leader = _fresh(org.person("commune", Role.LEADER))
    old = docs["commune2-submitted"]
    assert access.can(leader, "view", old)
    # The old commune's own leader lost the role there (membership moved), keeps access
    # through the merged unit's scope.
    assert access.can(_fresh(org.person("commune2", Role.LEADER)), "view", old)


def test_inbox_contents_per_role(org):
    docs = _documents(org)

    def inbox(unit: str, role: str) -> set[str]:
        user = _fresh(org.person(unit, role))
        pks = set(access.inbox(user).values_list("pk", flat=True))
        return {name for name, doc in docs.items() if doc.pk in pks}

    assert inbox("district", Role.HEAD) == {"district-submitted"}
    assert inbox("district", Role.LEADER) == {"district-reviewed", "district-approved",
                                              "district-awaiting-leader"}
    assert inbox("district", Role.CLERK) == {"district-signed"}
    # The drafter of every district document is the district specialist.
    assert inbox("district", Role.SPECIALIST) == {"district-returned"}
    for role in (Role.MEMBER, Role.SECRETARY, Role.ADMIN):
        assert inbox("district", role) == set()
    for unit in ("province", "district2", "commune", "commune2"):
        for role in (Role.LEADER, Role.CLERK):
            assert not any(name.startswith("district-") for name in inbox(unit, role)), unit
    assert inbox("province", Role.HEAD) == {"province-submitted"}
    assert inbox("commune2", Role.HEAD) == {"commune2-submitted"}
    assert inbox("district2", Role.LEADER) == {"district2-reviewed-to-commune"}


def test_recipients_see_issued_documents_only(org):
    docs = _documents(org)
    member = _fresh(org.person("commune", Role.MEMBER))
    assert access.can(member, "view", docs["district2-issued-to-commune"])
    assert not access.can(member, "view", docs["district2-reviewed-to-commune"])
    # The commune's parent (district) is not a recipient and not an ancestor of district2.
    assert not access.can(_fresh(org.person("district", Role.LEADER)), "view",
                          docs["district2-issued-to-commune"])


def test_people_above_see_issued_documents_of_every_level_below(org):
    docs = _documents(org)
    province_member = _fresh(org.person("province", Role.MEMBER))
    assert access.can(province_member, "view", docs["commune-issued"])
    assert access.can(province_member, "view", docs["district-archived"])
    assert not access.can(province_member, "view", docs["district-signed"])
    assert not access.can(_fresh(org.person("commune", Role.LEADER)), "view",
                          docs["province-issued"])


def test_a_draft_withdrawn_before_submission_stays_private(org):
    doc = _withdrawn(org, submitted=False)
    assert not access.can(_fresh(org.person("district", Role.LEADER)), "view", doc)


def test_a_clerk_review_step_can_be_acted_on(org):
    ReviewRule.objects.create(document_type=org.types["thong-bao"], unit=None,
                              steps=[Role.CLERK])
    doc = advance(org, draft(org, unit="district", type_code="thong-bao"), "submitted")
    assert doc.awaiting_role == Role.CLERK
    clerk = _fresh(org.person("district", Role.CLERK))
    assert access.can(clerk, "forward", doc)
    assert access.inbox(clerk).filter(pk=doc.pk).exists()


def test_issued_confidential_document_stays_with_leaders_and_clerks(org):
    from workflow.documents.models import DocumentRecipient
    from workflow.organisation.models import Role

    doc = draft(org, unit="district", confidential=True)
    DocumentRecipient.objects.create(document=doc, unit=org.units["district2"])
    doc = advance(org, doc, "issued")
    allowed = {
        ("district", Role.LEADER), ("district", Role.CLERK), ("district", Role.HEAD),
        ("district2", Role.LEADER), ("district2", Role.CLERK),
    }
    for (unit, role), user in org.people.items():
        user = _fresh(user)
        expected = (unit, role) in allowed or user.pk == doc.drafter_id
        assert access.can(user, "view", doc) is expected, (unit, role)
        assert access.visible_documents(user).filter(pk=doc.pk).exists() is expected, (unit, role)
