"""REST API of two-step signing, mounted at /api/signing/.

The signing client (``signing/client/mttq_sign.py``) or any remote signing
device uses it: prepare → (device signs the digest) → complete. Views are
thin: everything is decided in :mod:`signing.remote`.
"""

from __future__ import annotations

import base64
import binascii

from django.core.files.uploadhandler import StopUpload
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from workflow.api.serializers import ErrorSerializer
from workflow.api.views import ApiView
from workflow.documents import uploads
from workflow.documents.errors import InvalidInput

from . import remote, validation, verdicts
from .models import PendingSignature


class PrepareSerializer(serializers.Serializer):
    certificate = serializers.CharField(
        required=False, allow_blank=True,
        help_text="Signer certificate, PEM or base64 DER (read from the token). Optional when "
                  "the signing profile has one registered.")
    chain = serializers.ListField(child=serializers.CharField(), required=False,
                                  help_text="Further CA certificates, PEM or base64 DER.")
    capacity = serializers.ChoiceField(required=False, choices=["TM", "Q", "KT", "TUQ", "TL"],
                                       help_text="Signing capacity (Decree 30 Art. 13); by "
                                                 "default the first the signer holds.")


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
            chain=serializer.validated_data.get("chain"),
            capacity=serializer.validated_data.get("capacity"))
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


# --- verification: anyone, any PDF -----------------------------------------------------------


class VerifyRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The PDF to verify (at most MTTQ_MAX_UPLOAD_MB).")
    trust_root = serializers.FileField(
        required=False,
        help_text="A root certificate (PEM or DER) to trust for this request only, besides "
                  "the server's configured roots.")
    fetch = serializers.BooleanField(
        required=False, default=False,
        help_text="Fetch missing OCSP/CRL answers from the issuers (signed-in users only; "
                  "ignored for anonymous calls); otherwise revocation is checked only against "
                  "data embedded in the file.")


class EvidenceSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="ocsp or crl")
    source = serializers.ChoiceField(choices=[
        verdicts.SOURCE_DSS, verdicts.SOURCE_SIGNATURE, verdicts.SOURCE_FETCHED,
        verdicts.SOURCE_DEMO])
    time = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField(help_text="What it said: good or revoked.")
    description = serializers.CharField()


VERDICTS = [verdicts.PASSED, verdicts.INDETERMINATE, verdicts.FAILED]


class SignatureVerdictSerializer(serializers.Serializer):
    field = serializers.CharField()
    kind = serializers.CharField(help_text="signature, or timestamp (a document timestamp)")
    verdict = serializers.ChoiceField(choices=VERDICTS)
    sub_indication = serializers.CharField(
        help_text="ETSI EN 319 102-1 sub-indication (HASH_FAILURE, SIG_CRYPTO_FAILURE, "
                  "REVOKED, NO_CERTIFICATE_CHAIN_FOUND, TRY_LATER, OUT_OF_BOUNDS_NO_POE…); "
                  "empty when PASSED.")
    reason = serializers.CharField()
    signer = serializers.CharField()
    certificate = serializers.CharField()
    issuer = serializers.CharField()
    serial = serializers.CharField()
    signing_time = serializers.DateTimeField(allow_null=True,
                                             help_text="Claimed by the signer: not proof.")
    timestamp_time = serializers.DateTimeField(allow_null=True)
    timestamp_authority = serializers.CharField()
    intact = serializers.BooleanField()
    valid = serializers.BooleanField(help_text="Intact and the signature value verifies.")
    trusted = serializers.BooleanField(help_text="A path to a trusted root was built.")
    trust_anchor = serializers.CharField()
    trust_anchor_kind = serializers.ChoiceField(choices=["", "configured", "demo", "request"])
    revocation = serializers.ChoiceField(choices=[
        verdicts.REVOCATION_GOOD, verdicts.REVOCATION_REVOKED,
        verdicts.REVOCATION_NOT_CHECKED])
    revocation_time = serializers.DateTimeField(allow_null=True)
    revocation_evidence = EvidenceSerializer(many=True)
    validation_time = serializers.DateTimeField(allow_null=True)
    level = serializers.CharField()
    modification = serializers.CharField()
    modification_allowed = serializers.BooleanField(allow_null=True)
    coverage = serializers.CharField()


class VerifyReportSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=VERDICTS)
    sub_indication = serializers.CharField()
    ok = serializers.BooleanField(help_text="True only when every signature PASSED.")
    exit_code = serializers.IntegerField(help_text="What manage.py verify_pdf exits with.")
    message = serializers.CharField()
    fetched = serializers.BooleanField()
    signatures = SignatureVerdictSerializer(many=True)


class VerifyAnonThrottle(AnonRateThrottle):
    """Verification costs CPU (and network with fetching): a few per minute per address."""

    scope = "signing-verify-anon"
    rate = "10/min"


class VerifyUserThrottle(UserRateThrottle):
    scope = "signing-verify"
    rate = "30/min"


class VerifyView(ApiView):
    """The same report as ``manage.py verify_pdf --json`` and the verify page."""

    permission_classes = [AllowAny]
    throttle_classes = [VerifyAnonThrottle, VerifyUserThrottle]
    parser_classes = [MultiPartParser, FormParser]

    def initialize_request(self, request, *args, **kwargs):
        # Stop reading an oversized upload early instead of spooling it to disk first.
        request.upload_handlers.insert(0, uploads.SizeLimitUploadHandler(request))
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(operation_id="signing_verify", summary="Verify the signatures of a PDF",
                   request={"multipart/form-data": VerifyRequestSerializer},
                   responses={200: VerifyReportSerializer, **_errors(400, 429)})
    def post(self, request: Request) -> Response:
        try:
            payload = request.data
        except StopUpload:
            payload = None
        if payload is None or getattr(request._request, "upload_too_large", False):
            raise InvalidInput(uploads._too_large_message())
        serializer = VerifyRequestSerializer(data=payload)
        serializer.is_valid(raise_exception=True)
        try:
            report = validation.verify_upload(
                serializer.validated_data["file"],
                root_upload=serializer.validated_data.get("trust_root"),
                # The server calls URLs from the uploaded certificates: signed-in users only.
                fetch=serializer.validated_data["fetch"] and request.user.is_authenticated)
        except validation.VerifyInputError as exc:
            raise InvalidInput(str(exc)) from exc
        return Response(report.as_dict())
