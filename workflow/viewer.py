"""The in-page PDF viewer (pdf.js) for any file the user may already open.

The viewer page only frames a same-site address; the file view behind that
address decides who may read it, so nothing here needs a permission rule.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe


def viewer_strings() -> dict[str, str]:
    """Labels of static/js/pdf_viewer.js, translated on the server."""
    return {
        "page": _("Page"),
        "previous": _("Previous page"),
        "next": _("Next page"),
        "zoom_in": _("Zoom in"),
        "zoom_out": _("Zoom out"),
        "fit_width": _("Fit to width"),
        "page_failed": _("This page could not be displayed."),
    }


def viewer_url(src: str, page: int | None = None, title: str = "") -> str:
    """Address of the viewer page showing ``src`` (a same-site path), at ``page``."""
    from urllib.parse import urlencode

    from django.urls import reverse

    query = {"src": src}
    if page:
        query["page"] = str(page)
    if title:
        query["title"] = title[:200]
    return f"{reverse('pdf_viewer')}?{urlencode(query)}"


@login_required
@require_safe
def pdf_viewer(request: HttpRequest) -> HttpResponse:
    src = request.GET.get("src", "")
    # Only this site's own paths: the viewer must not become a way to frame other sites.
    if (not src.startswith("/") or src.startswith("//") or "\\" in src
            or not url_has_allowed_host_and_scheme(src, allowed_hosts={request.get_host()})):
        return HttpResponseBadRequest(_("This address cannot be shown in the viewer."),
                                      content_type="text/plain; charset=utf-8")
    page = request.GET.get("page", "")
    return render(request, "viewer.html", {
        "src": src,
        "page": int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1,
        "title": request.GET.get("title", "")[:200],
        "i18n": viewer_strings(),
    })
