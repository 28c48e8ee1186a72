"""The sender's view of deliveries, included in the outgoing document's page."""

from __future__ import annotations

from collections import Counter

from django import template

from workflow import access

register = template.Library()


@register.inclusion_tag("incoming/_deliveries.html", takes_context=True)
def deliveries_panel(context, document) -> dict:
    from workflow.incoming import services

    user = context["request"].user
    rows = services.deliveries_for(user, document)
    counts = Counter(r["delivery"].state for r in rows)
    return {"rows": rows, "counts": {k: counts.get(k, 0) for k in ("sent", "received",
                                                                     "returned")},
            "can_resend": access.can_resend(user, document), "request": context["request"],
            "csrf_token": context.get("csrf_token")}


@register.inclusion_tag("incoming/_tasks.html", takes_context=True)
def incoming_tasks(context) -> dict:
    """Incoming documents waiting for the person, on the task page (until #20's inbox)."""
    from workflow.incoming.services import incoming_inbox_items

    return {"items": incoming_inbox_items(context["request"].user)}


@register.simple_tag(takes_context=True)
def incoming_count(context) -> int:
    """How many incoming documents wait for the person (the menu's badge)."""
    from workflow.incoming.models import IncomingDocument

    user = context["request"].user
    if not user.is_authenticated:
        return 0
    return IncomingDocument.objects.filter(access.incoming_inbox_q(user)).count()


@register.filter
def incoming_event(action: str) -> str:
    """A readable name for an incoming document's audit action."""
    from django.utils.translation import gettext as _

    labels = {
        "incoming.receive": _("Received from outside the system"),
        "incoming.register": _("Registered in the incoming register"),
        "incoming.return": _("Returned to the sender"),
        "incoming.present": _("Presented to the leader"),
        "incoming.assign": _("Direction and assignment"),
        "incoming.start": _("Started handling"),
        "incoming.forward": _("Forwarded within the department"),
        "incoming.note": _("Added a note"),
        "incoming.reply_drafted": _("Drafted the reply"),
        "incoming.complete": _("Handling done"),
        "incoming.file": _("Filed"),
        "incoming.edit": _("Corrected the details"),
    }
    if action not in labels:
        from workflow.audit.labels import LABELS  # e.g. filed into a case file (records)

        return str(LABELS.get(action, action))
    return str(labels[action])
