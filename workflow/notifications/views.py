"""The notification centre's pages: the list, mark read, and e-mail preferences."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from workflow.documents.errors import InvalidInput

from . import services
from .models import Kind, Mode, Notification


@login_required
@require_http_methods(["GET", "POST"])
def notice_list(request: HttpRequest) -> HttpResponse:
    mine = Notification.objects.filter(recipient=request.user)
    if request.method == "POST":
        services.mark_read(request.user)
        return redirect("notifications:list")
    only_unread = request.GET.get("unread") == "1"
    if only_unread:
        mine = mine.filter(read_at__isnull=True)
    chosen = dict(request.user.notice_preferences.values_list("kind", "mode"))
    return render(request, "notifications/list.html", {
        "notices": mine[:200], "only_unread": only_unread, "current": "notifications",
        "preferences": [(value, label, chosen.get(value, services.DEFAULT_MODE))
                        for value, label in Kind.choices],
        "modes": Mode.choices,
    })


@login_required
@require_POST
def open_notice(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notice read and follow its link (only the person's own, only local links)."""
    notice = Notification.objects.filter(recipient=request.user, pk=pk).first()
    if notice is None:
        raise Http404()
    services.mark_read(request.user, [notice.pk])
    local = url_has_allowed_host_and_scheme(notice.url, allowed_hosts={request.get_host()})
    if notice.url and local:
        return redirect(notice.url)
    return redirect("notifications:list")


@login_required
@require_POST
def preferences(request: HttpRequest) -> HttpResponse:
    modes = {kind: request.POST[kind] for kind in Kind.values if kind in request.POST}
    try:
        services.set_preferences(request.user, modes)
    except InvalidInput as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Your notification settings are saved."))
    return redirect("notifications:list")
