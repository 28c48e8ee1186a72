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
