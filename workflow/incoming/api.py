"""REST API of incoming documents (mounted under /api/incoming/), over the same services."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from workflow import access
from workflow.access import IncomingAction
from workflow.api.views import ApiView, Pagination, _errors
from workflow.documents.errors import InvalidInput
from workflow.organisation.models import Unit

from . import intake, services
from .models import Delivery, IncomingAttachment, IncomingDocument, Source


class AttachmentSerializer(serializers.ModelSerializer):
    sha256 = serializers.CharField(source="file.sha256")
    size = serializers.IntegerField(source="file.size")
    content_type = serializers.CharField(source="file.content_type")
    verdict = serializers.CharField(source="file.verdict",
                                    help_text="PASSED, FAILED, INDETERMINATE or empty "
                                              "(not checked yet).")
    signers = serializers.ListField(source="file.signers", child=serializers.CharField())
    level = serializers.CharField(source="file.level")
    signing_time = serializers.CharField(source="file.signing_time")

    class Meta:
        model = IncomingAttachment
        fields = ["id", "name", "main", "sha256", "size", "content_type", "verdict", "signers",
                  "level", "signing_time"]


class IncomingSerializer(serializers.ModelSerializer):
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    urgent = serializers.BooleanField(read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)
    participants = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()

    class Meta:
        model = IncomingDocument
        fields = ["id", "unit", "unit_name", "source", "origin", "issuer_name", "number_symbol",
                  "issued_on", "type_name", "subject", "priority", "urgent", "confidential",
                  "page_count", "signer_name", "signer_position", "description", "deadline",
                  "arrived_at", "arrival_number", "arrival_year", "registered_at", "state",
                  "state_label", "direction", "directed_by", "presented_to", "result",
                  "done_at", "reply", "return_reason", "attachments", "participants",
                  "allowed_actions"]

    def get_participants(self, obj) -> list[dict]:
        return [{"user": p.user_id, "name": str(p.user), "role": p.role}
                for p in obj.participants.select_related("user")]

    def get_allowed_actions(self, obj) -> list[str]:
        user = self.context["request"].user
        return sorted(a.value for a in IncomingAction if a != IncomingAction.VIEW
                      and access.can_incoming(user, a, obj))


class ActionSerializer(serializers.Serializer):
    expected_state = serializers.CharField(required=False, allow_blank=True)
    reason = serializers.CharField(required=False, allow_blank=True)
    leader = serializers.IntegerField(required=False, allow_null=True)
    direction = serializers.CharField(required=False, allow_blank=True)
    lead = serializers.IntegerField(required=False)
    co = serializers.ListField(child=serializers.IntegerField(), required=False)
    info = serializers.ListField(child=serializers.IntegerField(), required=False)
    deadline = serializers.DateField(required=False, allow_null=True)
    to = serializers.IntegerField(required=False)
    note = serializers.CharField(required=False, allow_blank=True)
    text = serializers.CharField(required=False, allow_blank=True)
    result = serializers.CharField(required=False, allow_blank=True)
    confirm_duplicate = serializers.BooleanField(required=False, default=False)


class ExternalSerializer(serializers.Serializer):
    unit = serializers.IntegerField()
    source = serializers.ChoiceField(choices=[c for c in Source.values if c != Source.SYSTEM])
    issuer_name = serializers.CharField()
    number_symbol = serializers.CharField(required=False, allow_blank=True)
    issued_on = serializers.DateField(required=False, allow_null=True)
    type_name = serializers.CharField(required=False, allow_blank=True)
    subject = serializers.CharField()
    priority = serializers.CharField(required=False)
    confidential = serializers.BooleanField(required=False)
    deadline = serializers.DateField(required=False, allow_null=True)
    confirm_duplicate = serializers.BooleanField(required=False, default=False)


class DeliverySerializer(serializers.ModelSerializer):
    unit_name = serializers.CharField(source="unit.name")
    arrival_number = serializers.SerializerMethodField()
    answered_by = serializers.SerializerMethodField()

    class Meta:
        model = Delivery
        fields = ["id", "unit", "unit_name", "state", "sent_at", "received_at", "returned_at",
                  "return_reason", "attempts", "arrival_number", "answered_by"]

    def get_arrival_number(self, obj) -> int | None:
        row = self.context["rows"].get(obj.pk, {})
        return row["incoming"].arrival_number if row.get("incoming") else None

    def get_answered_by(self, obj) -> str | None:
        row = self.context["rows"].get(obj.pk, {})
        return row["answered_by"].symbol if row.get("answered_by") else None


INCOMING_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH,
                               description="Incoming document id.")


class IncomingListView(ApiView, GenericAPIView):
    serializer_class = IncomingSerializer
    pagination_class = Pagination

    @extend_schema(operation_id="incoming_list", summary="Incoming documents you may see, "
                   "urgent first", responses={200: IncomingSerializer(many=True), **_errors(401)})
    def get(self, request: Request) -> Response:
        qs = services.urgent_first(services.visible(request.user)).select_related("unit")
        if request.query_params.get("inbox"):
            qs = qs.filter(access.incoming_inbox_q(request.user))
        page = self.paginate_queryset(qs.prefetch_related("attachments__file"))
        return self.get_paginated_response(
            IncomingSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(operation_id="incoming_register_external",
                   summary="Register a document received from outside the system",
                   request=ExternalSerializer,
                   responses={201: IncomingSerializer, **_errors(400, 401, 403, 409)})
    def post(self, request: Request) -> Response:
        data = ExternalSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        unit = Unit.objects.filter(pk=values.pop("unit")).first()
        if unit is None:
            raise InvalidInput()
        confirm = values.pop("confirm_duplicate", False)
        source = values.pop("source")
        incoming = intake.register_external(request.user, unit, data=values, source=source,
                                            confirm_duplicate=confirm)
        return Response(IncomingSerializer(incoming, context={"request": request}).data,
                        status=201)


class IncomingDetailView(ApiView):
    @extend_schema(operation_id="incoming_retrieve", parameters=[INCOMING_ID],
                   responses={200: IncomingSerializer, **_errors(401, 404)})
    def get(self, request: Request, pk: int) -> Response:
        incoming = services.get_for(request.user, pk)
        return Response(IncomingSerializer(incoming, context={"request": request}).data)


ACTIONS = {
    "register": lambda u, pk, d: services.register(
        u, pk, expected_state=d.get("expected_state"),
        confirm_duplicate=d.get("confirm_duplicate", False),
        data={"deadline": d["deadline"]} if "deadline" in d else {}),
    "return": lambda u, pk, d: services.return_to_sender(
        u, pk, reason=d.get("reason", ""), expected_state=d.get("expected_state")),
    "present": lambda u, pk, d: services.present(u, pk, leader_id=d.get("leader"),
                                                 expected_state=d.get("expected_state")),
    "assign": lambda u, pk, d: services.assign(
        u, pk, direction=d.get("direction", ""), lead_id=d.get("lead"), co_ids=d.get("co", []),
        info_ids=d.get("info", []), deadline=d.get("deadline"),
        expected_state=d.get("expected_state")),
    "start": lambda u, pk, d: services.start(u, pk, expected_state=d.get("expected_state")),
    "forward": lambda u, pk, d: services.forward(u, pk, to_id=d.get("to"),
                                                 note=d.get("note", ""),
                                                 expected_state=d.get("expected_state")),
    "note": lambda u, pk, d: services.add_note(u, pk, text=d.get("text", "")).incoming,
    "complete": lambda u, pk, d: services.complete(u, pk, result=d.get("result", ""),
                                                   expected_state=d.get("expected_state")),
    "file": lambda u, pk, d: services.file(u, pk, expected_state=d.get("expected_state")),
}


class IncomingActionView(ApiView):
    @extend_schema(operation_id="incoming_action", summary="Apply one handling step",
                   parameters=[INCOMING_ID, OpenApiParameter(
                       "action", OpenApiTypes.STR, OpenApiParameter.PATH, enum=sorted(ACTIONS))],
                   request=ActionSerializer,
                   responses={200: IncomingSerializer, **_errors(400, 401, 403, 404, 409)})
    def post(self, request: Request, pk: int, action: str) -> Response:
        if action not in ACTIONS:
            raise InvalidInput()
        data = ActionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.get_for(request.user, pk)
        ACTIONS[action](request.user, pk, dict(data.validated_data))
        incoming = services.get_for(request.user, pk)
        return Response(IncomingSerializer(incoming, context={"request": request}).data)


class DeliveriesView(ApiView):
    @extend_schema(operation_id="document_deliveries",
                   summary="Each recipient's delivery state of an issued document",
                   parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH,
                                                description="Document id.")],
                   responses={200: DeliverySerializer(many=True), **_errors(401, 404)})
    def get(self, request: Request, pk: int) -> Response:
        from workflow.documents.services import get_for

        document = get_for(request.user, pk)
        rows = services.deliveries_for(request.user, document)
        by_id = {r["delivery"].pk: r for r in rows}
        return Response(DeliverySerializer([r["delivery"] for r in rows], many=True,
                                           context={"rows": by_id}).data)
