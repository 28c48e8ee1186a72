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
from workflow.documents.models import Document
from workflow.organisation.models import Membership, Role, Unit, User
from workflow.organisation.services import merge_units

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
    return org


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
    assert Document.objects.count() >= 45
    assert _check_every_user() > 35


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
