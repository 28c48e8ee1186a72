"""The "Lập hồ sơ / Đưa vào hồ sơ" control on a document's or incoming document's page."""

from __future__ import annotations

from django import template

register = template.Library()


@register.inclusion_tag("records/_file_control.html", takes_context=True)
def filing_control(context, document=None, incoming=None, heading: str = "") -> dict:
    from workflow.records import access
    from workflow.records.access import FileAction
    from workflow.records.models import CaseFile, CaseState

    request = context["request"]
    user = request.user
    target = document or incoming
    if target is None:
        return {"show": False}
    field = "document" if document is not None else "incoming"
    filed_in = access.visible_case_files(user).filter(**{f"items__{field}": target}).distinct()
    may_file = (access.can_file_document(user, document) if document is not None
                else access.can_file_incoming(user, incoming))
    choices = []
    if may_file:
        choices = [f for f in CaseFile.objects.filter(unit_id=target.unit_id, state=CaseState.OPEN)
                   .exclude(**{f"items__{field}": target}).select_related("unit")
                   .order_by("-year", "code")[:100]
                   if access.can_case_file(user, FileAction.FILE, f)]
    return {"show": bool(filed_in) or may_file, "filed_in": list(filed_in), "choices": choices,
            "may_file": may_file, "field": field, "target": target,
            "next": request.get_full_path(), "csrf_token": context.get("csrf_token"),
            "heading": heading, "key": f"{field}-{target.pk}"}
