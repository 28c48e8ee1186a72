"""Browser pages: recall, acknowledge, replacement, edXML download and upload.

Thin views: parse input, call the services, turn each WorkflowError into a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from workflow import access
from workflow.documents import services as doc_services
from workflow.documents.errors import NotFound, WorkflowError

from . import recall as recall_ops
from . import services
from .models import RecallNotice


def _document(user, pk):
    try:
        return doc_services.get_for(user, pk)
    except NotFound:
        raise Http404() from None


@login_required
@require_POST
def recall(request: HttpRequest, pk: int) -> HttpResponse:
    _document(request.user, pk)
    try:
        item = recall_ops.recall(request.user, pk, reason=request.POST.get("reason", ""))
    except WorkflowError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Recalled from %(n)s recipient units.")
                         % {"n": item.notices.count()})
    return redirect("documents:detail", pk=pk)


@login_required
@require_POST
def replacement(request: HttpRequest, pk: int) -> HttpResponse:
    _document(request.user, pk)
    try:
        new = recall_ops.draft_replacement(request.user, pk)
    except WorkflowError as exc:
        messages.error(request, str(exc.message))
        return redirect("documents:detail", pk=pk)
    messages.success(request, _("The replacement was drafted; it replaces the old document "
                                "once issued."))
    return redirect("documents:detail", pk=new.pk)


@login_required
@require_POST
def acknowledge(request: HttpRequest, notice_id: int) -> HttpResponse:
    notice = RecallNotice.objects.filter(pk=notice_id).first()
    if notice is None or not access.actor_for(request.user).any_role_in(notice.unit_id):
        raise Http404()
    try:
        recall_ops.acknowledge(request.user, notice_id)
    except WorkflowError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Recall acknowledged."))
    if notice.incoming_id:
        return redirect("incoming:detail", pk=notice.incoming_id)
    return redirect("incoming:list")


@login_required
def export(request: HttpRequest, pk: int) -> HttpResponse:
    document = _document(request.user, pk)
    to = [line for line in request.GET.getlist("to") if line.strip()]
    try:
        data, package = services.export_document(request.user, document, to=to)
    except WorkflowError as exc:
        messages.error(request, str(exc.message))
        return redirect("documents:detail", pk=pk)
    response = HttpResponse(data, content_type="application/xml")
    name = (document.symbol or str(document.pk)).replace("/", "-")
    response["Content-Disposition"] = f'attachment; filename="edxml-{name}.xml"'
    return response


@login_required
def upload(request: HttpRequest) -> HttpResponse:
    """The clerk imports an edXML package received from another agency."""
    units = list(access.receiving_units(request.user))
    if not units:
        raise Http404()
    if request.method == "POST":
        unit = next((u for u in units if str(u.pk) == request.POST.get("unit")), units[0])
        upload_file = request.FILES.get("package")
        try:
            if upload_file is None:
                raise services.PackageError(_("Choose an edXML file."))
            services.check_size(upload_file.size)
            result = services.import_package(upload_file.read(), user=request.user,
                                             unit=unit, source="upload")
        except WorkflowError as exc:
            messages.error(request, str(exc.message))
            return render(request, "exchange/upload.html", {"units": units}, status=400)
        if result.incoming:
            messages.success(request, _("The package became incoming document(s) of your unit."))
            return redirect("incoming:detail", pk=result.incoming[0].pk)
        if result.duplicates:
            messages.warning(request, _("This package was imported before; nothing was added."))
            return redirect("incoming:detail", pk=result.duplicates[0].pk)
        messages.success(request, _("Status message read: %(n)s delivery rows updated.")
                         % {"n": result.updated})
        return redirect("incoming:list")
    return render(request, "exchange/upload.html", {"units": units})
