"""REST API of two-step signing, mounted at /api/signing/.

The signing client (``signing/client/mttq_sign.py``) or any remote signing
device uses it: prepare → (device signs the digest) → complete. Views are
thin: everything is decided in :mod:`signing.remote`.
"""

from __future__ import annotations

import base64
import binascii

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from workflow.api.serializers import ErrorSerializer
from workflow.api.views import ApiView
from workflow.documents.errors import InvalidInput

from . import remote
from .models import PendingSignature


class PrepareSerializer(serializers.Serializer):
    certificate = serializers.CharField(
        required=False, allow_blank=True,
        help_text="Signer certificate, PEM or base64 DER (read from the token). Optional when "
                  "the signing profile has one registered.")
    chain = serializers.ListField(child=serializers.CharField(), required=False,
                                  help_text="Further CA certificates, PEM or base64 DER.")


class PendingSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="token", read_only=True)
    document = serializers.IntegerField(source="document_id", read_only=True)
    subject = serializers.CharField(source="document.subject", read_only=True)
    digest_algorithm = serializers.SerializerMethodField()
    digest = serializers.SerializerMethodField(
        help_text="Base64 SHA-256 of the DER signed attributes: this is what the key signs "
                  "(RSA PKCS#1 v1.5 over DigestInfo, or ECDSA).")
    signed_attributes = serializers.SerializerMethodField(
        help_text="Base64 DER of the CMS signed attributes, for clients that hash themselves.")
    certificate = serializers.CharField(source="certificate_pem", read_only=True)

    class Meta:
        model = PendingSignature
        fields = ["id", "document", "subject", "status", "digest_algorithm", "digest",
                  "signed_attributes", "certificate", "created_at", "expires_at"]

    def get_digest_algorithm(self, obj: PendingSignature) -> str:
        return remote.DIGEST_ALGORITHM

    def get_digest(self, obj: PendingSignature) -> str:
        return base64.b64encode(bytes.fromhex(obj.data_to_sign_digest)).decode("ascii")

    def get_signed_attributes(self, obj: PendingSignature) -> str:
        return base64.b64encode(bytes(obj.signed_attrs)).decode("ascii")


class CompleteSerializer(serializers.Serializer):
    signature = serializers.CharField(help_text="Base64 raw signature value.")
    certificate = serializers.CharField(required=False, allow_blank=True,
                                        help_text="The signer certificate (checked against "
                                                  "the prepared one).")

    def signature_bytes(self) -> bytes:
        try:
            return base64.b64decode(self.validated_data["signature"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput(_("The signature is not valid base64.")) from exc


class CompletedSerializer(serializers.Serializer):
    document = serializers.IntegerField()
    state = serializers.CharField()
    pdf_sha256 = serializers.CharField()


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(ErrorSerializer) for code in codes}


DOCUMENT_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH,
                               description="Document id.")
PENDING_ID = OpenApiParameter("token", OpenApiTypes.UUID, OpenApiParameter.PATH,
                              description="Pending signature id.")


class PrepareView(ApiView):
    @extend_schema(operation_id="signing_prepare", summary="Prepare a two-step signature",
                   parameters=[DOCUMENT_ID], request=PrepareSerializer,
                   responses={201: PendingSerializer, **_errors(400, 401, 404, 409)})
    def post(self, request: Request, pk: int) -> Response:
        serializer = PrepareSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pending = remote.prepare_remote_signature(
            request.user, pk, certificate=serializer.validated_data.get("certificate"),
            chain=serializer.validated_data.get("chain"))
        return Response(PendingSerializer(pending).data, status=status.HTTP_201_CREATED)


class PendingListView(ApiView):
    @extend_schema(operation_id="signing_pending_list", summary="Your signatures waiting",
                   responses={200: PendingSerializer(many=True), **_errors(401)})
    def get(self, request: Request) -> Response:
        return Response(PendingSerializer(remote.waiting_for(request.user), many=True).data)


class PendingDetailView(ApiView):
    @extend_schema(operation_id="signing_pending_retrieve", parameters=[PENDING_ID],
                   responses={200: PendingSerializer, **_errors(401, 404)})
    def get(self, request: Request, token) -> Response:
        remote.purge_expired()
        return Response(PendingSerializer(remote.get_pending(request.user, token)).data)


class CompleteView(ApiView):
    @extend_schema(operation_id="signing_complete", summary="Send the signature value",
                   parameters=[PENDING_ID], request=CompleteSerializer,
                   responses={200: CompletedSerializer, **_errors(400, 401, 404, 409)})
    def post(self, request: Request, token) -> Response:
        serializer = CompleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        document = remote.complete_remote_signature(
            request.user, token, serializer.signature_bytes(),
            certificate=serializer.validated_data.get("certificate"))
        pdf = document.pdf_versions.filter(stage="signed").order_by("-created_at", "-pk").first()
        return Response({"document": document.pk, "state": document.state,
                         "pdf_sha256": pdf.sha256 if pdf else ""})
