"""The targets dashboard's unit table: paged, sortable by name or by a target, with the
drill-down links kept, and no inline style attributes (Content-Security-Policy)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from workflow.organisation.models import Role
from workflow.oversight.views import board


@pytest.mark.django_db
def test_unit_table_pages_and_sorts(client, org, monkeypatch):
    monkeypatch.setattr(board, "UNIT_PAGE_SIZE", 2)
    client.force_login(org.person("province", Role.LEADER))
    url = reverse("oversight:dashboard") + "?year=2025"
    html = client.get(url).content.decode()
    assert 'style="' not in html
    rows = re.findall(r'<tr data-unit="(\d+)">', html)
    assert len(rows) == 2  # one page
    assert 'rel="next"' in html
    total = client.get(url).context["page_obj"].paginator.count
    assert total >= 3
    # Sorted by name, flat (with the level named), both directions.
    response = client.get(url + "&sort=name")
    names = [row.name for row in response.context["page_obj"].object_list]
    assert names == sorted(names, key=str.casefold)
    assert 'aria-sort="ascending"' in response.content.decode()
    response = client.get(url + "&sort=-name")
    names_desc = [row.name for row in response.context["page_obj"].object_list]
    assert names_desc == sorted(names_desc, key=str.casefold, reverse=True)
    # Sorted by a target: best first, units with nothing to count last; drill-down kept.
    key = response.context["board"].metrics[0].key
    response = client.get(url + f"&sort=-{key}&page=1")
    html = response.content.decode()
    assert f"/oversight/drill/{key}/?unit=" in html
    assert 'aria-sort="descending"' in html
    # A made-up sort falls back to the tree order.
    assert client.get(url + "&sort=evil").context["sort"] == ""
