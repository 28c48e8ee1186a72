"""Reports: the recommendations of a period aggregated into one report, drafted as an outgoing
document grouped by field and competent body, forwarded with its items once that document is
issued; and the periodic reports a unit files (the dashboard counts them). It may call the
documents services and :mod:`.common`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from html import escape

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django_fsm import can_proceed

from workflow.audit.services import record
from workflow.documents import services as documents
from workflow.documents.errors import InvalidInput
from workflow.organisation.models import Unit

from .. import conf
from ..models import (
    PeriodicReport,
    RecField,
    Recommendation,
    RecommendationReport,
    RecStatus,
)
from .common import _date, _document_type, _int_or_none, _run, _text, _today, _unit


def report_selection(user, *, unit, period_start, period_end, sources: Iterable[str] = (),
                     fields: Iterable[str] = (), addressee: str = ""):
    """The recommendations a report for this period and filter would aggregate."""
    unit = _unit(user, unit)
    start = _date(period_start, _("From"), required=True)
    end = _date(period_end, _("To"), required=True)
    if end < start:
        raise InvalidInput(_("The period ends before it starts."))
    qs = Recommendation.objects.filter(unit=unit, raised_on__range=(start, end),
                                       status=RecStatus.NEW, report__isnull=True)
    sources = [s for s in sources if s]
    fields = [f for f in fields if f]
    if sources:
        qs = qs.filter(source__in=sources)
    if fields:
        qs = qs.filter(field__in=fields)
    if addressee:
        qs = qs.filter(addressee__icontains=addressee.strip())
    return unit, start, end, qs.order_by("field", "addressee", "raised_on", "pk")


def group_recommendations(recs: Iterable[Recommendation]) -> list[dict]:
    """Group by field, then by competent body (the layout of the report)."""
    groups: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    labels = dict(RecField.choices)
    for rec in recs:
        groups[rec.field][rec.addressee].append(rec)
    return [
        {"field": f, "label": labels.get(f, f),
         "addressees": [{"name": a, "items": items} for a, items in sorted(by.items())],
         "count": sum(len(items) for items in by.values())}
        for f, by in sorted(groups.items(), key=lambda kv: str(labels.get(kv[0], kv[0])))
    ]


def _report_body(unit: Unit, start: dt.date, end: dt.date, groups: list[dict]) -> str:
    total = sum(g["count"] for g in groups)
    parts = [
        "<p>" + escape(_("Recommendations raised from %(start)s to %(end)s: %(count)s.") % {
            "start": start.strftime("%d/%m/%Y"), "end": end.strftime("%d/%m/%Y"),
            "count": total}) + "</p>",
    ]
    number = 0
    for group in groups:
        parts.append(f"<h3>{escape(str(group['label']))} ({group['count']})</h3>")
        for addressee in group["addressees"]:
            parts.append(f"<p><strong>{escape(_('To'))}: {escape(addressee['name'])}</strong></p>")
            ordinal_head = escape(pgettext("ordinal column", "No."))
            parts.append("<table><thead><tr><th>" + ordinal_head + "</th><th>"
                         + escape(_("Topic")) + "</th><th>" + escape(_("Content"))
                         + "</th><th>" + escape(_("Source")) + "</th></tr></thead><tbody>")
            for rec in addressee["items"]:
                number += 1
                parts.append(
                    f"<tr><td>{number}</td><td>{escape(rec.topic)}</td>"
                    f"<td>{escape(rec.content)}</td><td>{escape(rec.get_source_display())}</td></tr>"
                )
            parts.append("</tbody></table>")
    return "".join(parts)


@transaction.atomic
def create_recommendation_report(user, *, unit, period_start, period_end, title="",
                                 sources=(), fields=(), addressee="") -> RecommendationReport:
    """Aggregate the selected recommendations into a report (an outgoing BC document)."""
    unit, start, end, qs = report_selection(
        user, unit=unit, period_start=period_start, period_end=period_end, sources=sources,
        fields=fields, addressee=addressee)
    recs = list(qs.select_for_update(of=("self",)))
    if not recs:
        raise InvalidInput(_("No new recommendations match this period and filter."))
    groups = group_recommendations(recs)
    title = _text(title, "") or _("Report aggregating voters' opinions and recommendations, "
                                  "%(start)s to %(end)s") % {
        "start": start.strftime("%d/%m/%Y"), "end": end.strftime("%d/%m/%Y")}
    document = documents.create_document(
        user, unit=unit,
        data={"subject": title, "document_type": _document_type("recommendation_report"),
              "body": _report_body(unit, start, end, groups)},
    )
    report = RecommendationReport.objects.create(
        unit=unit, title=title, period_start=start, period_end=end, document=document,
        filters={"sources": list(sources), "fields": list(fields), "addressee": addressee},
        created_by=user,
    )
    for rec in recs:
        _run(user, rec, "aggregate", report, comment=title)
    record(report, "recommendationreport.create", actor=user,
           comment=f"{len(recs)} / document {document.pk}")
    return report


def _forward_report(report: RecommendationReport, on: dt.date) -> None:
    report.forwarded_on = on
    report.save(update_fields=["forwarded_on"])
    record(report, "recommendationreport.forward", comment=str(on))
    for rec in report.items.select_for_update().filter(forwarded_on__isnull=True):
        method = rec.forward
        if can_proceed(method):
            before = rec.status
            method(on)
            rec.save()
            record(rec, "recommendation.forward", from_state=before, to_state=rec.status,
                   comment=report.title)


@transaction.atomic
def file_periodic_report(user, *, unit, year, period, filed_on=None,
                         document_id=None) -> PeriodicReport:
    unit = _unit(user, unit)
    periods = conf.get("PERIODIC_REPORT_PERIODS")
    if period not in periods:
        raise InvalidInput(_("Unknown reporting period."))
    year = _int_or_none(year, _("Year"))
    if year is None or not 2000 <= year <= 2100:
        raise InvalidInput(_("Year must be a number."))
    document = None
    if document_id:
        document = documents.get_for(user, _int_or_none(document_id, _("Document")))
    report, created = PeriodicReport.objects.update_or_create(
        unit=unit, year=year, period=period,
        defaults={"filed_on": _today(filed_on), "document": document, "filed_by": user},
    )
    record(report, "periodicreport.file" if created else "periodicreport.update", actor=user,
           comment=f"{year} {period}")
    return report
