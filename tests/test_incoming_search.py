"""Incoming documents in search: their own kind, the receiving unit's permissions."""

import pytest
from django.urls import reverse

from search import service
from search.service import get_backend
from tests.incoming_helpers import arrived, issue_to
from workflow.incoming import services
from workflow.organisation.models import Role

WORDS = "chương trình hành động khuyến học"


def keys(results):
    return {(h.kind, h.id) for h in results.hits}


@pytest.mark.django_db(transaction=True)
def test_incoming_indexed_with_kind_facet_and_receiving_unit_acl(org):
    document = issue_to(org, ["commune", "commune2"],
                        subject="Chương trình hành động khuyến học năm 2026")
    ours = arrived(org, document, "commune")
    theirs = arrived(org, document, "commune2")
    indexed = get_backend().versions()
    assert f"incoming:{ours.pk}" in indexed and f"incoming:{theirs.pk}" in indexed

    clerk = org.person("commune", Role.CLERK)
    results = service.search(clerk, WORDS)
    found = keys(results)
    assert ("incoming", ours.pk) in found and ("incoming", theirs.pk) not in found
    hit = next(h for h in results.hits if h.kind == "incoming")
    assert hit.url == reverse("incoming:detail", args=[ours.pk])
    kinds = {v.value for v in results.facets["kind"]}
    assert "incoming" in kinds
    # Filter on the kind facet alone.
    only = service.search(clerk, WORDS, filters={"kind": ["incoming"]})
    assert keys(only) == {("incoming", ours.pk)}
    # The other commune sees its own record only; a specialist not named sees none.
    assert ("incoming", theirs.pk) in keys(service.search(org.person("commune2", Role.CLERK),
                                                          WORDS))
    specialist = org.person("commune", Role.SPECIALIST)
    assert not any(k == "incoming" for k, _ in keys(service.search(specialist, WORDS)))
    # Once assigned, the lead handler finds it, without accents too.
    services.register(clerk, ours.pk)
    services.assign(org.person("commune", Role.LEADER), ours.pk, direction="Giao xử lý",
                    lead_id=specialist.pk)
    assert ("incoming", ours.pk) in keys(service.search(specialist, "khuyen hoc"))
    assert ("incoming", ours.pk) in keys(service.search(specialist, "giao xu ly"))
