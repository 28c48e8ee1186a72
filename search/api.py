"""GET /api/search/ and /api/search/suggest/: the search service over REST."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import service
from .backends.base import FACETS, FILTERS


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)
    sort = serializers.ChoiceField(choices=service.SORTS, required=False, default="relevance")
    page = serializers.IntegerField(required=False, default=1, min_value=1,
                                    max_value=service.MAX_PAGE)
    per_page = serializers.IntegerField(required=False, default=20, min_value=1,
                                        max_value=service.PER_PAGE_LIMIT)
    meeting = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=20,
        help_text="Only this meeting's papers the caller may read (empty: everything).")


class HitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    subject = serializers.CharField()
    symbol = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField()
    type_name = serializers.CharField()
    unit_name = serializers.CharField()
    year = serializers.IntegerField(allow_null=True)
    score = serializers.FloatField()
    snippet = serializers.CharField()
    snippet_html = serializers.CharField(help_text="Escaped text with <mark> around matches.")
    highlights = serializers.ListField(child=serializers.CharField())
    page = serializers.IntegerField(allow_null=True, help_text="1-based page of the passage.")
    file_name = serializers.CharField()
    url = serializers.CharField()
    open_url = serializers.CharField(help_text="The file at the page (…#page=N).")
    viewer_url = serializers.CharField(help_text="The in-page PDF viewer at the page.")


class FacetValueSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()
    selected = serializers.BooleanField()


class SearchResultSerializer(serializers.Serializer):
    query = serializers.CharField()
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    per_page = serializers.IntegerField()
    pages = serializers.IntegerField()
    sort = serializers.CharField()
    relaxed = serializers.BooleanField(
        help_text="True when no document had every word and these have some of them.")
    results = HitSerializer(many=True)
    facets = serializers.DictField(child=FacetValueSerializer(many=True))


FACET_PARAMETERS = [
    OpenApiParameter(name, str, many=True, required=False,
                     description=f"Filter on the {name} facet (repeatable).")
    for name in FACETS
] + [OpenApiParameter("file", str, many=True, required=False,
                      description="Only items filed in the case file with this code "
                                  "(number and symbol, or Appendix VI FileCode; repeatable).")]


class SearchAPIView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Full-text search of the documents the caller may see",
        parameters=[SearchQuerySerializer, *FACET_PARAMETERS],
        responses=SearchResultSerializer,
    )
    def get(self, request: Request) -> Response:
        params = SearchQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        filters = {name: request.query_params.getlist(name) for name in (*FACETS, *FILTERS)}
        results = service.search(request.user, data["q"], filters=filters, sort=data["sort"],
                                 page=data["page"], per_page=data["per_page"],
                                 meeting=data["meeting"] or None)
        return Response(results.to_dict())


class SuggestAPIView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Numbers and symbols starting with q (e.g. 05/KH) among visible documents",
        parameters=[OpenApiParameter("q", str, required=True)],
        responses=inline_serializer("Suggestions", {
            "suggestions": serializers.ListField(child=serializers.CharField())}),
    )
    def get(self, request: Request) -> Response:
        return Response({"suggestions": service.suggest(request.user,
                                                        request.query_params.get("q", ""))})
