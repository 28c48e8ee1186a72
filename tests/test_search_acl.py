"""Permissions inside the search query.

The consistency test proves that, for every user and document of a varied
test organisation, what search lets a user see is exactly
``workflow.access.visible_documents(user)``: the ACL tokens of search/acl.py
are the access rules, not an approximation of them.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from search import acl, service
from search.backends.base import SearchRequest
from search.tasks import index_ids
from tests.factories import advance, draft
from workflow import access
from workflow.documents import services
from workflow.documents.models import Document, DocumentRecipient, DocumentType, ReviewRule
from workflow.organisation.models import Membership, Role, Unit, User
from workflow.organisation.services import merge_units, move_unit

STATES = ["draft", "submitted", "reviewed", "approved", "signed", "issued", "archived",
          "returned", "withdrawn"]


def _reindex_all():
    index_ids(list(Document.objects.values_list("pk", flat=True)))


def _search_ids(user) -> tuple[set[int], int]:
    request = SearchRequest(terms=[], phrases=[], acl=acl.user_tokens(user), limit=10_000,
                            facets=False)
    raw = service.get_backend().search(request)
    return {h.id for h in raw.hits}, raw.total


@pytest.fixture
def corpus(org):
    for unit in org.units:
        for state in STATES:
            document = draft(org, unit, subject=f"Văn bản {state} của {unit}")
            if state != "draft":
                advance(org, document, state)
    # Issued documents addressed to other units (recipients see them).
    for sender, recipient in [("district2", "commune"), ("commune2", "province"),
                              ("province", "commune2")]:
        specialist = org.person(sender, Role.SPECIALIST)
        document = services.create_document(
            specialist, unit=org.units[sender],
            data={"subject": f"Gửi {recipient}", "document_type": org.types["thong-bao"],
                  "body": "<p>Nội dung</p>"},
            recipient_unit_ids=[org.units[recipient].pk],
        )
        advance(org, document, "issued")
    # Unusual people: a head without department, and someone with roles in two units.
    odd = User.objects.create_user(username="odd", password="x")
    Membership.objects.create(user=odd, unit=org.units["commune"], role=Role.HEAD)
    Membership.objects.create(user=odd, unit=org.units["district2"], role=Role.CLERK)
    _withdrawn_after_submission(org)
    _clerk_review_step(org)
    _confidential(org)
    _meeting_papers(org)
    return org


def _withdrawn_after_submission(org):
    for unit in ("commune", "district"):
        document = advance(org, draft(org, unit, subject=f"Rút sau khi trình {unit}"),
                           "submitted")
        services.transition(document.drafter, document.pk, "withdraw", comment="Rút lại")


def _clerk_review_step(org):
    """A type whose drafts go to the head, then to the clerk (checking form)."""
    kind = DocumentType.objects.create(code="to-trinh", name="Tờ trình", abbreviation="TTr")
    org.types["to-trinh"] = kind
    ReviewRule.objects.create(document_type=kind, unit=None, steps=[Role.HEAD, Role.CLERK])
    for unit in ("commune", "district"):
        waiting_head = advance(org, draft(org, unit, type_code="to-trinh",
                                          subject=f"Chờ trưởng ban {unit}"), "submitted")
        assert waiting_head.awaiting_role == Role.HEAD
        waiting_clerk = advance(org, draft(org, unit, type_code="to-trinh",
                                           subject=f"Chờ văn thư {unit}"), "submitted")
        waiting_clerk = services.transition(org.person(unit, Role.HEAD), waiting_clerk.pk,
                                            "forward")
        assert waiting_clerk.awaiting_role == Role.CLERK
        assert waiting_clerk.state == "submitted"


def _confidential(org):
    """Confidential documents of the district at every stage, some with recipient units."""
    for state, recipients in [("submitted", ["district2"]), ("approved", ["commune"]),
                              ("issued", ["district2", "commune"]), ("issued", []),
                              ("archived", ["province"])]:
        document = draft(org, "district", confidential=True,
                         subject=f"Mật {state} gửi {','.join(recipients)}")
        for recipient in recipients:
            DocumentRecipient.objects.create(document=document, unit=org.units[recipient])
        advance(org, document, state)


def _meeting_papers(org):
    """A published meeting (one paper restricted to one delegate) and one still in draft."""
    from tests.meeting_helpers import people, prepared, published
    from workflow.meetings.services.papers import restrict_paper

    meeting = published(org)
    papers = list(meeting.papers.order_by("pk"))
    cast = people(org)
    restrict_paper(cast["secretary"], papers[0].pk, user_ids=[cast["delegate"].pk])
    prepared(org, unit="district")
    # A published district meeting whose paper is marked confidential afterwards (as the
    # admin does): participants no longer read it through the meeting (issue #23).
    secret = published(org, unit="district", papers=1).papers.get().document
    secret.confidential = True
    secret.save()


def _all_users():
    return list(User.objects.all()) + [None]


def _check_every_user():
    checked = 0
    for user in _all_users():
        if user is not None:
            access.forget(user)
        expected = set(access.visible_documents(user).values_list("pk", flat=True)) if user \
            else set()
        found, total = _search_ids(user) if user else (set(), 0)
        assert found == expected, getattr(user, "username", None)
        assert total == len(expected)
        checked += 1
    return checked


@pytest.mark.django_db
def test_search_visibility_equals_access_rules(corpus):
    _reindex_all()
    assert Document.objects.count() >= 60
    assert _check_every_user() > 35
    # The corpus exercises the rules it is meant to (not vacuously equal).
    commune_clerk = corpus.person("commune", Role.CLERK)
    found, _total = _search_ids(commune_clerk)
    assert Document.objects.filter(pk__in=found, subject="Chờ văn thư commune").exists()
    assert not Document.objects.filter(pk__in=found, subject="Chờ trưởng ban commune").exists()
    leader = corpus.person("district", Role.LEADER)
    found, _total = _search_ids(leader)
    assert not Document.objects.filter(pk__in=found, subject__startswith="Rút ").exists()
    secret = Document.objects.get(subject="Mật issued gửi district2,commune")
    for (unit, role), user in corpus.people.items():
        found, _total = _search_ids(user)
        expected = (unit, role) in {("district", Role.LEADER), ("district", Role.HEAD),
                                    ("district", Role.CLERK), ("district2", Role.LEADER),
                                    ("district2", Role.CLERK), ("commune", Role.LEADER),
                                    ("commune", Role.CLERK), ("district", Role.SPECIALIST)}
        assert (secret.pk in found) is expected, (unit, role)
    # Meeting papers: the commune delegate reads the unrestricted paper of the published
    # province meeting, not the restricted one, nor the district's unpublished meeting's,
    # nor the published district meeting's confidential one.
    delegate = corpus.person("commune", Role.MEMBER)
    found, _total = _search_ids(delegate)
    papers = Document.objects.filter(meeting_papers__isnull=False).distinct()
    readable = set(papers.filter(pk__in=found).values_list("subject", flat=True))
    assert readable == {"Báo cáo số 2"}


@pytest.mark.django_db
def test_visibility_still_equal_after_a_move(corpus):
    move_unit(corpus.units["commune"], new_parent=corpus.units["district2"])
    _reindex_all()
    _check_every_user()


@pytest.mark.django_db
def test_visibility_still_equal_after_a_merger(corpus):
    merge_units([corpus.units["commune"]], into=corpus.units["commune2"])
    _reindex_all()
    _check_every_user()


def test_anonymous_has_no_tokens():
    from django.contrib.auth.models import AnonymousUser

    assert acl.user_tokens(AnonymousUser()) == []
    assert acl.user_tokens(None) == []


@pytest.fixture
def secret_draft(org):
    document = draft(org, "commune2", type_code="ke-hoach",
                     subject="Kế hoạch kiểm tra bí mật Nam Giang",
                     body="<p>Nội dung riêng tư về giám sát đặc biệt zyxw.</p>")
    services.add_comment(org.person("commune2", Role.SPECIALIST), document.pk,
                         text="Bình luận kín qwerty")
    # Two issued plans in commune2, one in commune: commune2 has symbol 02/KH…
    issued = []
    for unit in ("commune2", "commune2", "commune"):
        d = draft(org, unit, type_code="ke-hoach", subject=f"Kế hoạch công khai {unit}")
        issued.append(advance(org, d, "issued"))
    _reindex_all()
    return document, issued


@pytest.mark.django_db
def test_other_commune_draft_never_leaks(org, secret_draft):
    document, issued = secret_draft
    outsider = org.person("commune", Role.LEADER)
    owner = org.person("commune2", Role.SPECIALIST)
    for query in ["bí mật", "bi mat", "zyxw", "qwerty", '"kiểm tra bí mật"', "kiem tra Nam Giang"]:
        results = service.search(outsider, query)
        assert all(h.id != document.pk for h in results.hits)
        if query != "kiem tra Nam Giang":  # "Nam" is in every unit name ("Việt Nam")
            assert results.total == 0, query
        for values in results.facets.values():
            assert not any(v.value == str(org.units["commune2"].pk) for v in values)
        for hit in results.hits:
            assert "bí mật" not in "".join(t for t, _ in hit.snippet_parts)
        # The drafter finds it, so the query itself works.
        assert any(h.id == document.pk for h in service.search(owner, query).hits), query
    # Facets of a broad query only count what the outsider may see.
    broad = service.search(outsider, "kế hoạch")
    visible = set(access.visible_documents(outsider).values_list("pk", flat=True))
    assert {h.id for h in broad.hits} <= visible
    assert sum(v.count for v in broad.facets["unit"]) == broad.total
    assert all(v.value != str(org.units["commune2"].pk) for v in broad.facets["unit"])
    # Suggestions: commune2's 02/KH… is not visible to the commune leader.
    symbols_2 = [d.symbol for d in issued if d.unit_id == org.units["commune2"].pk]
    assert any(s.startswith("02/") for s in symbols_2)
    assert service.suggest(outsider, "02") == []
    assert service.suggest(outsider, "01/KH") == [issued[2].symbol]
    assert "02/" in "".join(service.suggest(org.person("commune2", Role.MEMBER), "02"))


@pytest.mark.django_db
def test_index_reacts_to_changes_on_commit(org, django_capture_on_commit_callbacks):
    leader = org.person("commune", Role.LEADER)
    with django_capture_on_commit_callbacks(execute=True):
        document = draft(org, "commune", subject="Báo cáo phản biện xã hội quý ba")
    # A draft: only the drafter finds it.
    assert service.search(leader, "phan bien").total == 0
    assert service.search(document.drafter, "phan bien").total == 1
    with django_capture_on_commit_callbacks(execute=True):
        advance(org, document, "submitted")
    assert service.search(leader, "phan bien").total == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.add_comment(leader, document.pk, text="Cần bổ sung số liệu hộ nghèo")
    hit = service.search(leader, "ho ngheo").hits[0]
    assert hit.id == document.pk
    assert "hộ nghèo" in "".join(t for t, hl in hit.snippet_parts if hl)


@pytest.mark.django_db
def test_file_text_is_indexed_with_pages(org, django_capture_on_commit_callbacks):
    from tests.test_search_quality import make_pdf

    document = draft(org, "province", subject="Tờ trình")
    pdf = make_pdf(["Trang một nói về ngân sách.", "Trang hai nói về chuyển đổi số toàn diện."])
    with django_capture_on_commit_callbacks(execute=True):
        services.add_file(document.drafter, document.pk,
                          upload=SimpleUploadedFile("to-trinh.pdf", pdf), kind="main")
    hit = service.search(document.drafter, "chuyen doi so").hits[0]
    assert hit.page == 2
    assert hit.open_url.endswith("#page=2")
    assert "chuyển đổi số" in "".join(t for t, hl in hit.snippet_parts if hl)
    assert Unit.objects.exists()


@pytest.mark.django_db
def test_moving_a_unit_reindexes_its_documents(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        issued = advance(org, draft(org, "commune", subject="Thông báo lịch tiếp dân"),
                         "issued")
    old_parent = org.person("district", Role.MEMBER)
    new_parent = org.person("district2", Role.MEMBER)
    assert service.search(old_parent, "lich tiep dan").total == 1
    assert service.search(new_parent, "lich tiep dan").total == 0
    with django_capture_on_commit_callbacks(execute=True):
        move_unit(org.units["commune"], new_parent=org.units["district2"])
    access.forget(old_parent)
    access.forget(new_parent)
    assert service.search(old_parent, "lich tiep dan").total == 0
    assert [h.id for h in service.search(new_parent, "lich tiep dan").hits] == [issued.pk]


@pytest.mark.django_db
def test_meeting_changes_reindex_papers(org, django_capture_on_commit_callbacks):
    from tests.meeting_helpers import people, prepared
    from workflow.meetings.models import Participant
    from workflow.meetings.services.papers import restrict_paper
    from workflow.meetings.services.schedule import publish_meeting, remove_participant

    cast = people(org)
    delegate = cast["commune_delegate"]
    with django_capture_on_commit_callbacks(execute=True):
        meeting = prepared(org, papers=1)
    # Not published yet: the commune delegate cannot read the paper.
    assert service.search(delegate, "bao cao so 1").total == 0
    with django_capture_on_commit_callbacks(execute=True):
        publish_meeting(meeting.chair, meeting.pk)
    assert service.search(delegate, "bao cao so 1").total == 1
    paper = meeting.papers.get()
    with django_capture_on_commit_callbacks(execute=True):
        restrict_paper(cast["secretary"], paper.pk, user_ids=[cast["delegate"].pk])
    assert service.search(delegate, "bao cao so 1").total == 0
    assert service.search(cast["delegate"], "bao cao so 1").total == 1
    seat = Participant.objects.get(meeting=meeting, user=cast["delegate"])
    with django_capture_on_commit_callbacks(execute=True):
        remove_participant(cast["secretary"], seat.pk)
    assert service.search(cast["delegate"], "bao cao so 1").total == 0
    for user in (delegate, cast["delegate"]):
        access.forget(user)
        assert not access.visible_documents(user).filter(pk=paper.document_id).exists()
