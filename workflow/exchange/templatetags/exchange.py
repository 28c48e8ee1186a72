"""Recall banners, replacement links and exchange actions on the document pages."""

from __future__ import annotations

from django import template

from workflow import access

register = template.Library()


@register.inclusion_tag("exchange/_document_panel.html", takes_context=True)
def exchange_panel(context, document) -> dict:
    """On an outgoing document: recall banner, replacement links, recall/replace/export."""
    from workflow.exchange import services
    from workflow.exchange.models import Recall, RecallNotice

    user = context["request"].user
    item = Recall.objects.select_related("recalled_by").filter(document=document).first()
    notices = list(RecallNotice.objects.filter(recall=item).select_related("unit")) \
        if item and access.can_see_deliveries(user, document) else []
    return {
        "document": document, "recall": item, "notices": notices,
        "can_recall": access.can_recall(user, document),
        "can_replace": access.can_replace(user, document),
        "can_export": access.can_export_edxml(user, document),
        "partners": services.partner_rows(user, document),
        "csrf_token": context.get("csrf_token"), "request": context["request"],
    }


@register.inclusion_tag("exchange/_document_banner.html")
def exchange_banner(document) -> dict:
    """At the top of an outgoing document: the red recall banner, replacement links."""
    from workflow.exchange import recall as recall_ops
    from workflow.exchange.models import Recall

    return {"recall": Recall.objects.select_related("recalled_by").filter(
        document=document).first(), "links": recall_ops.links_for_document(document)}


@register.inclusion_tag("exchange/_incoming_panel.html", takes_context=True)
def incoming_exchange_panel(context, incoming) -> dict:
    """On an incoming document: the red recall banner with its acknowledgement, links."""
    from workflow.exchange import recall as recall_ops

    user = context["request"].user
    notice = recall_ops.notice_for(incoming)
    return {"incoming": incoming, "notice": notice,
            "can_ack": bool(notice) and access.can_acknowledge_recall(user, notice),
            "links": recall_ops.links_for_incoming(incoming),
            "csrf_token": context.get("csrf_token")}


@register.inclusion_tag("exchange/_recall_tasks.html", takes_context=True)
def recall_tasks(context) -> dict:
    """Recalls waiting for the clerk's (or leader's) acknowledgement, on the task page."""
    from workflow.exchange.models import RecallNotice

    user = context["request"].user
    notices = list(RecallNotice.objects.filter(access.recall_notices_waiting_q(user))
                   .select_related("recall", "incoming", "unit").order_by("-sent_at")[:100])
    return {"notices": notices}
