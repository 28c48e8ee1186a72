"""Recommendations and critique replies in the search index (issue 6, part 6)."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from search import acl, indexer, oversight, service
from search.service import get_backend
from tests.factories import PASSWORD
from workflow import access
from workflow.organisation.models import Role
from workflow.oversight.models import CritiqueCase, Recommendation
from workflow.oversight.services.critique import open_critique
from workflow.oversight.services.recommendations import add_recommendation

WORDS = "đường giao thông"


@pytest.fixture
def items(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ours = add_recommendation(
            org.person("commune", Role.SPECIALIST), unit=org.units["commune"],
            source="voter_meeting", topic="Đường giao thông thôn Đông xuống cấp",
            addressee="UBND xã", content="Cử tri đề nghị sửa đường giao thông liên thôn.")
        theirs = add_recommendation(
            org.person("commune2", Role.SPECIALIST), unit=org.units["commune2"],
            source="dialogue", topic="Đường giao thông xã Nam Giang bị sạt lở",
            addressee="UBND huyện", content="Bí mật của xã bên: đường giao thông.")
        case = open_critique(org.person("commune", Role.SPECIALIST),
                             unit=org.units["commune"], title="Dự thảo quy hoạch giao thông",
                             agency="UBND xã", received_on="2026-01-05")
    with django_capture_on_commit_callbacks(execute=True):
        case.reply_accepted = "Tiếp thu: bổ sung kinh phí sửa đường giao thông."
        case.reply_explained = "Giải trình: chưa đủ nguồn vốn năm nay."
        case.save()
    return ours, theirs, case


def keys(results):
    return {(h.kind, h.id) for h in results.hits}


@pytest.mark.django_db
def test_indexed_on_commit_with_their_own_kinds(org, items):
    ours, theirs, case = items
    indexed = get_backend().versions()
    assert f"recommendation:{ours.pk}" in indexed and f"recommendation:{theirs.pk}" in indexed
    assert f"critique_reply:{case.pk}" in indexed
    member = org.person("commune", Role.MEMBER)
    results = service.search(member, WORDS)
    assert ("recommendation", ours.pk) in keys(results)
    assert ("critique_reply", case.pk) in keys(results)
    hit = next(h for h in results.hits if h.kind == "recommendation")
    assert hit.url == reverse("oversight:recommendation_detail", args=[ours.pk])
    assert hit.state_label == "New" and hit.page is None
    reply = next(h for h in results.hits if h.kind == "critique_reply")
    assert reply.url == reverse("oversight:critique_detail", args=[case.pk])
    # A reply found by its explained points too, without accents.
    assert ("critique_reply", case.pk) in keys(service.search(member, "giai trinh nguon von"))


@pytest.mark.django_db
def test_changes_follow_on_commit(org, items, django_capture_on_commit_callbacks):
    """A change re-indexes on commit; a reply taken back leaves the index."""
    ours, _theirs, case = items
    member = org.person("commune", Role.MEMBER)
    with django_capture_on_commit_callbacks(execute=True):
        rec = Recommendation.objects.get(pk=ours.pk)
        rec.reply_text = "Huyện đã bố trí vốn duy tu"
        rec.save()
        case = CritiqueCase.objects.get(pk=case.pk)
        case.reply_accepted = case.reply_explained = ""
        case.save()
    assert ("recommendation", ours.pk) in keys(service.search(member, "bố trí vốn duy tu"))
    assert f"critique_reply:{case.pk}" not in get_backend().versions()


@pytest.mark.django_db
def test_kind_and_status_filters(org, items):
    ours, _theirs, case = items
    member = org.person("commune", Role.MEMBER)
    only_recs = service.search(member, WORDS, filters={"kind": ["recommendation"]})
    assert keys(only_recs) == {("recommendation", ours.pk)}
    only_replies = service.search(member, WORDS, filters={"kind": ["critique_reply"]})
    assert keys(only_replies) == {("critique_reply", case.pk)}
    assert service.search(member, WORDS, filters={"state": ["rec:new"]}).total == 1
    assert service.search(member, WORDS, filters={"state": ["rec:resolved"]}).total == 0
    facets = service.search(member, WORDS).facets
    labels = {f.value: f.label for f in facets["kind"]}
    assert labels == {"recommendation": "Recommendations", "critique_reply": "Critique replies"}
    assert {f.value: f.label for f in facets["state"]}["rec:new"] == "New"


@pytest.mark.django_db
def test_commune_never_sees_another_communes_items(org, items, client):
    ours, theirs, case = items
    for username in ("commune-member", "commune-leader", "commune-specialist"):
        user = get_user_model().objects.get(username=username)
        results = service.search(user, WORDS, per_page=100)
        assert ("recommendation", theirs.pk) not in keys(results)
        assert results.total == 2  # ours and the critique reply, nothing counted beyond
        assert sum(f.count for f in results.facets["kind"]) == 2
        units = {f.value for f in results.facets["unit"]}
        assert str(org.units["commune2"].pk) not in units
    other = org.person("commune2", Role.LEADER)
    assert keys(service.search(other, WORDS)) == {("recommendation", theirs.pk)}
    # The district leader follows every commune below.
    district = org.person("district", Role.LEADER)
    assert {("recommendation", ours.pk), ("recommendation", theirs.pk)} <= keys(
        service.search(district, WORDS))
    assert client.login(username="commune-member", password=PASSWORD)
    html = client.get("/search/", {"q": WORDS}).content.decode()
    assert ours.topic in html and theirs.topic not in html
    assert "Recommendations" in html and "Nam Giang" not in html
    html = client.get("/search/", {"q": WORDS, "kind": "recommendation"}).content.decode()
    assert ours.topic in html and case.title not in html


@pytest.mark.django_db
def test_tokens_mirror_visible_cases_q(org, items):
    recs = list(Recommendation.objects.select_related("unit"))
    for user in get_user_model().objects.all():
        mine = set(acl.user_tokens(user))
        by_tokens = {r.pk for r in recs if mine & set(acl.case_tokens(r.unit))}
        allowed = set(Recommendation.objects.filter(access.visible_cases_q(user))
                      .values_list("pk", flat=True))
        assert by_tokens == allowed, user.username


@pytest.mark.django_db
def test_rebuild_and_reconcile_include_them(org, items):
    ours, theirs, case = items
    backend = get_backend()
    backend.rebuild(indexer.iter_batches())
    indexed = backend.versions()
    assert {f"recommendation:{ours.pk}", f"recommendation:{theirs.pk}",
            f"critique_reply:{case.pk}"} <= set(indexed)
    # One missing from the index, one indexed but gone from the database.
    backend.delete([f"recommendation:{ours.pk}"])
    Recommendation.objects.filter(pk=theirs.pk).delete()
    outcome = oversight.reconcile(backend, backend.versions())
    assert outcome == {"stale": 1, "removed": 1}
    indexed = backend.versions()
    assert f"recommendation:{ours.pk}" in indexed
    assert f"recommendation:{theirs.pk}" not in indexed
