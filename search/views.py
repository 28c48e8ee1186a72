"""The search results page and symbol typeahead: thin views over search.service."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from . import service
from .backends.base import FACETS


def request_filters(params) -> dict[str, list[str]]:
    return {name: params.getlist(name) for name in FACETS if params.getlist(name)}


@login_required
@require_GET
def results(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:1000]
    filters = request_filters(request.GET)
    outcome = service.search(
        request.user, query, filters=filters, sort=request.GET.get("sort", "relevance"),
        page=request.GET.get("page", 1), per_page=20,
    )
    facet_titles = {"type": _("Type"), "unit": _("Issuing unit"), "year": _("Year"),
                    "state": _("State")}
    facets = [(name, facet_titles[name], outcome.facets.get(name, [])) for name in FACETS]
    return render(request, "search/results.html", {
        "q": query,
        "results": outcome,
        "facets": facets,
        "active_filters": filters,
        "searched": bool(query.strip() or filters),
        "first_number": (outcome.page - 1) * outcome.per_page + 1,
        "page_range": range(max(1, outcome.page - 3), min(outcome.pages, outcome.page + 3) + 1),
    })


@login_required
@require_GET
def suggest(request: HttpRequest) -> HttpResponse:
    symbols = service.suggest(request.user, request.GET.get("q", ""), limit=10)
    if request.GET.get("format") == "html":
        return render(request, "search/_suggestions.html", {"symbols": symbols})
    return JsonResponse({"suggestions": symbols})
