"""Pages for signing delegations (Decree 30 Art. 13): thin views over signing.delegations."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from workflow import access, query
from workflow.documents.errors import WorkflowError
from workflow.documents.models import DocumentType

from . import delegations
from .models import Capacity


def _unit(request):
    units = access.delegation_units(request.user)
    number = query.int_value(request.GET.get("unit") or request.POST.get("unit"))
    # A unit asked for by number must be one of the person's: never a silent fallback.
    unit = units.filter(pk=number).first() if number else units.first()
    if unit is None:
        raise Http404(_("You record signing delegations for no unit."))
    return unit, units


@login_required
@require_http_methods(["GET", "POST"])
def delegation_list(request):
    unit, units = _unit(request)
    values = {}
    if request.method == "POST":
        values = request.POST
        people = {u.pk: u for u in delegations.members_of(unit)}
        try:
            delegations.create_delegation(
                request.user, unit=unit,
                grantor=people.get(query.int_value(values.get("grantor"))),
                grantee=people.get(query.int_value(values.get("grantee"))),
                capacity=str(values.get("capacity") or ""),
                valid_from=values.get("valid_from") or None,
                valid_to=values.get("valid_to") or None,
                document_types=[t for t in (query.int_value(v) for v in
                                            values.getlist("document_types")[:100]) if t],
                note=str(values.get("note") or ""))
            messages.success(request, _("The delegation was recorded."))
            return redirect(f"{reverse('signing:delegations')}?unit={unit.pk}")
        except WorkflowError as exc:
            messages.error(request, str(exc.message))
    return render(request, "signing/delegations.html", {
        "unit": unit, "units": units, "rows": delegations.listed(unit),
        "heads": delegations.heads_of(unit), "people": delegations.members_of(unit),
        "capacities": [c for c in Capacity if c != Capacity.TM],
        "types": DocumentType.objects.filter(is_active=True).order_by("name"),
        "values": values,
    }, status=400 if request.method == "POST" else 200)


@login_required
@require_POST
def delegation_end(request, pk: int):
    try:
        delegation = delegations.end_delegation(request.user, pk)
        messages.success(request, _("The delegation was ended."))
        return redirect(f"{reverse('signing:delegations')}?unit={delegation.unit_id}")
    except WorkflowError as exc:
        if exc.status == 404:
            raise Http404() from exc
        messages.error(request, str(exc.message))
    return redirect("signing:delegations")
