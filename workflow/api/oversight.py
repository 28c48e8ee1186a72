"""REST API for oversight: critique and supervision cases, recommendations, targets.

Records are listed with ``access.visible_cases_q`` and opened with
``oversight.services.common.get_object`` (which asks ``access.can_case``); the targets are
the dashboard's own figures (``targets.compute`` restricted to ``access.dashboard_units``).
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from workflow import access, query
from workflow.documents.errors import InvalidInput, NotFound
from workflow.oversight import targets
from workflow.oversight.models import CritiqueCase, Recommendation, RecStatus, SupervisionCase
from workflow.oversight.services.common import get_object

from .views import ApiView, Pagination, _errors

RECORD_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH,
                             description="Record id.")


class CaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    title = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField(source="get_state_display")
    unit = serializers.IntegerField(source="unit_id")
    unit_name = serializers.CharField(source="unit.name")
    held_on = serializers.DateField(allow_null=True)
    closed_on = serializers.DateField(allow_null=True)
    counterpart = serializers.CharField(help_text="Drafting agency or supervised body.")
    reply_due = serializers.DateField(allow_null=True, required=False)


class RecommendationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    topic = serializers.CharField()
    source = serializers.CharField()
    field = serializers.CharField()
    addressee = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    unit = serializers.IntegerField(source="unit_id")
    unit_name = serializers.CharField(source="unit.name")
    raised_on = serializers.DateField()
    forward_due = serializers.DateField(allow_null=True)
    forwarded_on = serializers.DateField(allow_null=True)
    due_date = serializers.DateField(allow_null=True)
    resolved_on = serializers.DateField(allow_null=True)


class FigureSerializer(serializers.Serializer):
    num = serializers.IntegerField()
    den = serializers.IntegerField()
    target = serializers.FloatField()
    pct = serializers.FloatField(allow_null=True)
    light = serializers.CharField()
    display = serializers.CharField()


def _case(obj) -> dict:
    critique = isinstance(obj, CritiqueCase)
    data = dict(CaseSerializer({
        "id": obj.pk, "kind": "critique" if critique else "supervision", "title": obj.title,
        "state": obj.state, "get_state_display": obj.get_state_display(),
        "unit_id": obj.unit_id, "unit": obj.unit, "held_on": obj.held_on,
        "closed_on": obj.closed_on,
        "counterpart": obj.agency if critique else obj.supervised_body,
        "reply_due": obj.reply_due if critique else None}).data)
    return data


def _figure(fig) -> dict:
    return {"num": fig.num, "den": fig.den, "target": fig.target, "pct": fig.pct,
            "light": fig.light, "display": fig.display}


CASE_EXAMPLE = {"id": 4, "kind": "critique", "title": "Dự thảo Nghị quyết đất đai",
                "state": "awaiting_reply", "state_label": "Awaiting the reply", "unit": 3,
                "unit_name": "Ủy ban MTTQ Việt Nam tỉnh Nghệ An", "held_on": "2026-02-10",
                "closed_on": None, "counterpart": "Sở Tài nguyên và Môi trường",
                "reply_due": "2026-03-10"}


class CaseListView(ApiView, GenericAPIView):
    serializer_class = CaseSerializer
    pagination_class = Pagination

    @extend_schema(
        operation_id="oversight_cases_list",
        summary="Critique and supervision cases you may see",
        parameters=[OpenApiParameter("kind", str, enum=["critique", "supervision"],
                                     description="Only one kind (both by default)."),
                    OpenApiParameter("state", str, description="Only this state.")],
        responses={200: CaseSerializer(many=True), **_errors(400, 401)},
        examples=[OpenApiExample("A page of cases", response_only=True, value={
            "count": 1, "next": None, "previous": None, "results": [CASE_EXAMPLE]})],
    )
    def get(self, request: Request) -> Response:
        kind = request.query_params.get("kind", "")
        if kind not in ("", "critique", "supervision"):
            raise InvalidInput(_("Unknown kind of case."))
        state = request.query_params.get("state", "")
        rows = []
        for model, name in ((CritiqueCase, "critique"), (SupervisionCase, "supervision")):
            if kind and kind != name:
                continue
            qs = model.objects.filter(access.visible_cases_q(request.user)).select_related("unit")
            if state:
                qs = qs.filter(state=state)
            rows += list(qs.order_by("-created_at", "-pk")[:1000])
        rows.sort(key=lambda o: o.created_at, reverse=True)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response([_case(o) for o in page])


class CaseDetailView(ApiView):
    @extend_schema(
        operation_id="oversight_cases_retrieve", summary="One case",
        parameters=[OpenApiParameter("kind", str, OpenApiParameter.PATH,
                                     enum=["critique", "supervision"]), RECORD_ID],
        responses={200: CaseSerializer, **_errors(401, 404)},
        examples=[OpenApiExample("A critique", response_only=True, value=CASE_EXAMPLE)],
    )
    def get(self, request: Request, kind: str, pk: int) -> Response:
        model = {"critique": CritiqueCase, "supervision": SupervisionCase}.get(kind)
        if model is None:
            raise NotFound(_("The record does not exist or you cannot see it."))
        return Response(_case(get_object(request.user, model, pk)))


REC_EXAMPLE = {"id": 9, "topic": "Sửa đường liên xã", "source": "voter_meeting", "field": "other",
               "addressee": "UBND huyện Nam Đàn", "status": "forwarded",
               "status_label": "Forwarded", "unit": 5,
               "unit_name": "Ủy ban MTTQ Việt Nam huyện Nam Đàn", "raised_on": "2026-01-05",
               "forward_due": "2026-01-20", "forwarded_on": "2026-01-15",
               "due_date": "2026-03-15", "resolved_on": None}


class RecommendationListView(ApiView, GenericAPIView):
    serializer_class = RecommendationSerializer
    pagination_class = Pagination

    @extend_schema(
        operation_id="oversight_recommendations_list", summary="Recommendations you may see",
        parameters=[OpenApiParameter("status", str,
                                     description="A status, or `late` for the overdue ones."),
                    OpenApiParameter("q", str, description="Words in topic or addressee.")],
        responses={200: RecommendationSerializer(many=True), **_errors(401)},
        examples=[OpenApiExample("A page of recommendations", response_only=True, value={
            "count": 1, "next": None, "previous": None, "results": [REC_EXAMPLE]})],
    )
    def get(self, request: Request) -> Response:
        qs = Recommendation.objects.filter(access.visible_cases_q(request.user)).select_related(
            "unit")
        status = request.query_params.get("status", "")
        if status in RecStatus.values:
            qs = qs.filter(status=status)
        elif status == "late":
            today = timezone.localdate()
            qs = qs.exclude(status=RecStatus.RESOLVED).filter(
                Q(forwarded_on__isnull=True, forward_due__lt=today)
                | Q(forwarded_on__isnull=False, due_date__lt=today))
        q = (request.query_params.get("q") or "").strip()
        if q:
            qs = qs.filter(Q(topic__icontains=q) | Q(addressee__icontains=q))
        page = self.paginate_queryset(qs.order_by("-raised_on", "-pk"))
        return self.get_paginated_response(RecommendationSerializer(page, many=True).data)


class RecommendationDetailView(ApiView):
    @extend_schema(operation_id="oversight_recommendations_retrieve", summary="One recommendation",
                   parameters=[RECORD_ID],
                   responses={200: RecommendationSerializer, **_errors(401, 404)},
                   examples=[OpenApiExample("Forwarded", response_only=True, value=REC_EXAMPLE)])
    def get(self, request: Request, pk: int) -> Response:
        rec = get_object(request.user, Recommendation, pk)
        return Response(RecommendationSerializer(rec).data)


class TargetsView(ApiView):
    @extend_schema(
        operation_id="oversight_targets",
        summary="The targets dashboard's figures (the same as the page and its export)",
        parameters=[OpenApiParameter("unit", int, description="Root unit (default: your "
                                                              "highest unit)."),
                    OpenApiParameter("year", int, description="Year (default: this year).")],
        responses={200: OpenApiTypes.OBJECT, **_errors(401, 404)},
        examples=[OpenApiExample("Figures", response_only=True, value={
            "year": 2026, "root": 3,
            "metrics": [{"key": "supervisions", "label": "Supervisions held", "kind": "quota"}],
            "units": [{"id": 3, "name": "Ủy ban MTTQ Việt Nam tỉnh Nghệ An", "level": "tinh",
                       "parent": None, "light": "green", "figures": {"supervisions": {
                           "num": 2, "den": 2, "target": 2, "pct": 100.0, "light": "green",
                           "display": "2/2"}}}],
            "levels": [{"code": "tinh", "name": "Tỉnh", "units": 1, "figures": {}}]})],
    )
    def get(self, request: Request) -> Response:
        units = access.dashboard_units(request.user).select_related("level").order_by("path")
        unit_param = request.query_params.get("unit")
        if unit_param:
            # Not str.isdigit: it accepts "²", which int() refuses.
            unit_id = query.int_value(unit_param)
            root = units.filter(pk=unit_id).first() if unit_id is not None else None
            if root is None:
                raise NotFound(_("The unit does not exist or you cannot see it."))
        else:
            root = min(units, key=lambda u: (u.path.count("/"), u.path), default=None)
        this_year = timezone.localdate().year
        year_param = request.query_params.get("year", "")
        year = query.year_value(year_param, this_year)
        if not 2000 <= year <= this_year + 1:
            raise InvalidInput(_("Choose a year between 2000 and next year."))
        if root is None:
            return Response({"year": year, "root": None, "metrics": [], "units": [],
                             "levels": []})
        board = targets.restrict(targets.compute(year, root),
                                 set(units.values_list("pk", flat=True)))
        return Response({
            "year": board.year, "root": root.pk,
            "metrics": [{"key": m.key, "label": str(m.label), "kind": m.kind}
                        for m in board.metrics],
            "units": [{"id": r.id, "name": r.name, "level": r.level_code,
                       "parent": r.parent_id, "light": r.light,
                       "figures": {k: _figure(f) for k, f in r.figures.items()}}
                      for r in board.rows],
            "levels": [{"code": lv.code, "name": lv.name, "units": lv.units,
                        "figures": {k: _figure(f) for k, f in lv.figures.items()}}
                       for lv in board.levels],
        })
