"""The search results page and symbol typeahead: thin views over search.service."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from workflow import query as query_params

from . import service
from .backends.base import FACETS, FILTERS


def request_filters(params) -> dict[str, list[str]]:
    return {name: params.getlist(name) for name in (*FACETS, *FILTERS) if params.getlist(name)}


FACET_LIMIT = 12


def facet_links(params, name: str, values: list) -> list[dict]:
    """The most frequent values of one facet (selected ones always) with their links.

    Links are built here rather than with ``{% querystring %}`` per value: a broad
    query has hundreds of unit values, and rendering a tag for each was most of the
    results page's time.
    """
    base = [(k, v) for k in params for v in params.getlist(k) if k not in ("page", name)]
    selected_here = params.getlist(name)
    shown = [v for v in values if v.selected]
    shown += [v for v in values if not v.selected][: max(0, FACET_LIMIT - len(shown))]
    links = []
    for value in shown:
        if value.selected:  # the link removes this value
            pairs = base + [(name, v) for v in selected_here if v != value.value]
        else:
            pairs = base + [(name, v) for v in selected_here] + [(name, value.value)]
        links.append({"value": value.value, "label": value.label, "count": value.count,
                      "selected": value.selected, "href": "?" + urlencode(pairs)})
    return links


@login_required
@require_GET
def results(request: HttpRequest) -> HttpResponse:
    params = query_params.parse(request.GET, {
        "q": forms.CharField(strip=False), "sort": query_params.text_field(20),
        "page": query_params.page_field()})
    query = (params["q"] or "")[:1000]
    filters = request_filters(request.GET)
    # Kept as text: an id no meeting has narrows to nothing (the service decides).
    meeting = request.GET.get("meeting", "").strip()[:20]
    outcome = service.search(
        request.user, query, filters=filters, sort=params["sort"] or "relevance",
        page=params["page"] or 1, per_page=20, meeting=meeting or None,
    )
    facet_titles = {"kind": _("Kind"), "type": _("Type"), "unit": _("Issuing unit"),
                    "year": _("Year"), "state": _("State")}
    facets = [
        (name, facet_titles[name], facet_links(request.GET, name, outcome.facets.get(name, [])))
        for name in FACETS
    ]
    return render(request, "search/results.html", {
        "q": query,
        "results": outcome,
        "facets": facets,
        "active_filters": filters,
        "meeting": meeting,
        # The chip's link drops the meeting scope and keeps everything else.
        "meeting_remove_href": "?" + urlencode(
            [(k, v) for k in request.GET for v in request.GET.getlist(k)
             if k not in ("meeting", "page")]),
        "searched": bool(query.strip() or filters or meeting),
        # Narrowed to a case file's documents (workflow/records): a chip that drops it.
        "file_codes": filters.get("file", []),
        "file_remove_href": "?" + urlencode(
            [(k, v) for k in request.GET for v in request.GET.getlist(k)
             if k not in ("file", "page")]),
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


@login_required
@require_POST
def ocr_retry(request: HttpRequest, version_id: int) -> HttpResponse:
    """The clerk's "read the scan again" button on the document page."""
    from workflow.documents.errors import NotFound, WorkflowError
    from workflow.documents.models import FileVersion

    from .ocr import retry_ocr

    try:
        retry_ocr(request.user, version_id)
    except NotFound:
        raise Http404 from None
    except WorkflowError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The scan will be read again in the background."))
    document_id = FileVersion.objects.filter(pk=version_id).values_list(
        "file__document_id", flat=True).first()
    return redirect("documents:detail", document_id)
