"""Meeting papers: the file streamed to a reader (through a signed room link for one session and
file version, or the ordinary session check), the document body shown in the room, and the
reader's private note on a paper. It may call the meetings services, the access log and
:mod:`.common`.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import (
    HttpRequest,
    HttpResponse,
    JsonResponse,
)
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_safe,
)

from workflow.audit import access_log
from workflow.documents.errors import NotFound
from workflow.ops.files import serve_file

from ..services.links import paper_file_version, paper_link_version, paper_versions
from ..services.notes import get_note, get_paper, save_note
from .common import _body, json_view


@require_safe
def paper_file(request: HttpRequest, paper_id: int) -> HttpResponse:
    """Stream a paper's file to someone who may read it: inline for the viewer, or download.

    A link from the room state carries a token that already says so for this session
    (``paper_link_version``); it is served without touching the session or
    the user, which is what keeps 150 delegates opening one paper at once fast.
    Anything else goes through the full check.
    """
    token = request.GET.get("t")
    if token and "version" not in request.GET:
        version = paper_link_version(token, paper_id, request.session.session_key)
        if version is not None:
            # The token names the reader (under its MAC): logged with no session query.
            access_log.record_paper_read(
                version.link_reader_id, version.link_document_id, name=version.original_name,
                paper_id=paper_id, download=request.GET.get("download") == "1")
            return _file_response(request, version)
    return _paper_file_checked(request, paper_id)


@login_required
def _paper_file_checked(request: HttpRequest, paper_id: int) -> HttpResponse:
    try:
        paper = get_paper(request.user, paper_id)
    except NotFound as exc:
        return HttpResponse(exc.message, status=404, content_type="text/plain; charset=utf-8")
    version = paper_file_version(paper, request.GET.get("version"))
    if version is None:
        return HttpResponse(_("This paper has no file."), status=404,
                            content_type="text/plain; charset=utf-8")
    access_log.record_paper_read(request.user.pk, version.file.document_id,
                                 name=version.original_name, paper_id=paper.pk,
                                 download=request.GET.get("download") == "1")
    return _file_response(request, version)


def _file_response(request: HttpRequest, version) -> HttpResponse:
    download = request.GET.get("download") == "1" or version.content_type != "application/pdf"
    try:
        response = serve_file(version.blob, content_type=version.content_type,
                              as_attachment=download, filename=version.original_name)
    except OSError:
        return HttpResponse(_("The file could not be read from storage."), status=503,
                            content_type="text/plain; charset=utf-8")
    response["ETag"] = f'"{version.sha256}"'
    patch_cache_control(response, private=True, max_age=300)
    return response


@login_required
@require_GET
def paper_body(request: HttpRequest, paper_id: int) -> HttpResponse:
    """A paper drafted as text (no file): its body, to show in the viewer frame."""
    try:
        paper = get_paper(request.user, paper_id)
    except NotFound as exc:
        return render(request, "meetings/not_found.html", {"message": exc.message}, status=404)
    return render(request, "meetings/paper_body.html", {
        "paper": paper, "document": paper.document, "versions": paper_versions(paper)})


@login_required
@require_http_methods(["GET", "POST"])
@json_view
def paper_note(request: HttpRequest, paper_id: int) -> HttpResponse:
    if request.method == "POST":
        note = save_note(request.user, paper_id, text=str(_body(request).get("text",
                                                                                      "")))
        return JsonResponse({"saved": True,
                             "at": timezone.localtime(note.updated_at).strftime("%H:%M:%S")})
    return JsonResponse({"text": get_note(request.user, paper_id)})
