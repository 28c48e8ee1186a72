"""REST API of recall, replacement and edXML exchange (under /api/), over the services."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from workflow.api.views import ApiView, _errors
from workflow.documents.errors import InvalidInput
from workflow.documents.services import get_for
from workflow.organisation.models import Unit

from . import recall, services

ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Document id.")
RESULT = inline_serializer("EdxmlImportResult", {
    "kind": serializers.CharField(help_text="document or status"),
    "incoming": serializers.ListField(child=serializers.IntegerField(),
                                      help_text="incoming documents created"),
    "duplicates": serializers.ListField(child=serializers.IntegerField(),
                                        help_text="imported before: nothing created"),
    "updated": serializers.IntegerField(help_text="sender's rows a status message updated"),
})


class EdxmlExportView(ApiView):
    @extend_schema(operation_id="document_edxml", summary="The edXML package of an issued "
                   "document", parameters=[ID, OpenApiParameter(
                       "to", OpenApiTypes.STR, many=True, description="Addressee: national "
                       "code (mã định danh) of a unit, or CODE|Name; default: the recipient "
                       "units that have a code.")],
                   responses={(200, "application/xml"): OpenApiTypes.BINARY,
                              **_errors(400, 401, 403, 404)})
    def get(self, request: Request, pk: int) -> HttpResponse:
        document = get_for(request.user, pk)
        data, package = services.export_document(request.user, document,
                                                 to=request.query_params.getlist("to"),
                                                 source="api")
        response = HttpResponse(data, content_type="application/xml")
        response["Content-Disposition"] = f'attachment; filename="{package.package_id}.xml"'
        return response


class EdxmlImportView(ApiView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(operation_id="edxml_import", summary="Import an edXML package (document "
                   "or status message) for a unit whose clerk you are",
                   request={"multipart/form-data": inline_serializer("EdxmlUpload", {
                       "package": serializers.FileField(),
                       "unit": serializers.IntegerField()})},
                   responses={200: RESULT, **_errors(400, 401, 403)})
    def post(self, request: Request) -> Response:
        upload = request.FILES.get("package")
        unit = Unit.objects.filter(pk=request.data.get("unit") or 0).first()
        if upload is None or unit is None:
            raise InvalidInput(_("Send the edXML file as “package” and the receiving unit "
                                 "as “unit”."))
        services.check_size(upload.size)
        result = services.import_package(upload.read(), user=request.user, unit=unit,
                                         source="api")
        return Response({"kind": result.kind, "incoming": [i.pk for i in result.incoming],
                         "duplicates": [i.pk for i in result.duplicates],
                         "updated": result.updated})


class RecallView(ApiView):
    @extend_schema(operation_id="document_recall", summary="Recall an issued document",
                   parameters=[ID], request=inline_serializer("RecallInput", {
                       "reason": serializers.CharField()}),
                   responses={200: inline_serializer("RecallResult", {
                       "recalled_at": serializers.DateTimeField(),
                       "notices": serializers.IntegerField()}), **_errors(400, 401, 403, 404,
                                                                          409)})
    def post(self, request: Request, pk: int) -> Response:
        item = recall.recall(request.user, pk, reason=request.data.get("reason", ""))
        return Response({"recalled_at": item.recalled_at, "notices": item.notices.count()})


class ReplacementView(ApiView):
    @extend_schema(operation_id="document_replacement", summary="Draft the document that "
                   "replaces an issued one", parameters=[ID], request=None,
                   responses={201: inline_serializer("ReplacementResult", {
                       "id": serializers.IntegerField()}), **_errors(401, 403, 404, 409)})
    def post(self, request: Request, pk: int) -> Response:
        new = recall.draft_replacement(request.user, pk)
        return Response({"id": new.pk}, status=201)


class RecallAckView(ApiView):
    @extend_schema(operation_id="recall_acknowledge", summary="Acknowledge a recall sent to "
                   "your unit", parameters=[OpenApiParameter(
                       "id", OpenApiTypes.INT, OpenApiParameter.PATH,
                       description="Recall notice id.")], request=None,
                   responses={200: inline_serializer("RecallAck", {
                       "acknowledged_at": serializers.DateTimeField()}),
                       **_errors(401, 403, 404, 409)})
    def post(self, request: Request, pk: int) -> Response:
        notice = recall.acknowledge(request.user, pk)
        return Response({"acknowledged_at": notice.acknowledged_at})
