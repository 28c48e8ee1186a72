"""REST API for the notification centre: your notices, mark read, your e-mail preferences."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from workflow.notifications import services
from workflow.notifications.models import Kind, Mode, Notification

from .views import ApiView, Pagination, _errors


class NotificationSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(help_text="document, comment, meeting, task, deadline, "
                                           "oversight or incoming")

    class Meta:
        model = Notification
        fields = ["id", "kind", "event", "text", "url", "object_id", "created_at", "read_at"]


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(), required=False,
                                help_text="Notices to mark read; all unread ones if absent.")


class NotificationListView(ApiView, GenericAPIView):
    serializer_class = NotificationSerializer
    pagination_class = Pagination

    @extend_schema(
        operation_id="notifications_list", summary="Your notifications, newest first",
        parameters=[OpenApiParameter("unread", bool, description="Only unread ones.")],
        responses={200: NotificationSerializer(many=True), **_errors(401)},
        examples=[OpenApiExample("Returned draft", response_only=True, value={
            "count": 1, "next": None, "previous": None, "results": [{
                "id": 31, "kind": "document", "event": "document.returned",
                "text": "Trần Văn C returned “Kế hoạch thi đua”: Bổ sung số liệu",
                "url": "/documents/12/", "object_id": "12",
                "created_at": "2026-03-10T09:12:00+07:00", "read_at": None}]})],
    )
    def get(self, request: Request) -> Response:
        qs = Notification.objects.filter(recipient=request.user)
        if request.query_params.get("unread") in ("1", "true"):
            qs = qs.filter(read_at__isnull=True)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(NotificationSerializer(page, many=True).data)


class MarkReadView(ApiView):
    @extend_schema(operation_id="notifications_mark_read", summary="Mark notices read",
                   request=MarkReadSerializer,
                   responses={200: {"type": "object", "properties": {
                       "marked": {"type": "integer"}, "unread": {"type": "integer"}}},
                       **_errors(400, 401)},
                   examples=[OpenApiExample("Two of them", request_only=True,
                                            value={"ids": [31, 32]})])
    def post(self, request: Request) -> Response:
        body = MarkReadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        marked = services.mark_read(request.user, body.validated_data.get("ids"))
        return Response({"marked": marked, "unread": services.unread_count(request.user)})


class PreferencesView(ApiView):
    @extend_schema(operation_id="notifications_preferences",
                   summary="Your e-mail mode per kind (immediate, digest, off)",
                   responses={200: {"type": "object", "additionalProperties": {
                       "type": "string", "enum": Mode.values}}, **_errors(401)},
                   examples=[OpenApiExample("Modes", response_only=True, value={
                       k: "immediate" for k in Kind.values})])
    def get(self, request: Request) -> Response:
        chosen = dict(request.user.notice_preferences.values_list("kind", "mode"))
        return Response({kind: chosen.get(kind, services.DEFAULT_MODE) for kind in Kind.values})

    @extend_schema(operation_id="notifications_preferences_update",
                   summary="Change your e-mail modes",
                   request={"application/json": {"type": "object", "additionalProperties": {
                       "type": "string", "enum": Mode.values}}},
                   responses={200: {"type": "object"}, **_errors(400, 401)},
                   examples=[OpenApiExample("Deadlines in the digest", request_only=True,
                                            value={"deadline": "digest"})])
    def put(self, request: Request) -> Response:
        services.set_preferences(request.user, {str(k): str(v) for k, v in request.data.items()})
        return self.get(request)
