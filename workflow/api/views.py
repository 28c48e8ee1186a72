"""REST API over the document services.

Views stay thin: they parse input with serializers, call :mod:`workflow.documents.services`
or :mod:`workflow.access`, and serialise what comes back. Access is never decided here;
``services.get_for`` answers 404 for documents the person cannot see, so another unit's
draft is indistinguishable from one that does not exist.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.files.uploadhandler import StopUpload
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.defaults import page_not_found
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from knox.auth import TokenAuthentication
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from workflow import access
from workflow.access import TRANSITIONS
from workflow.accounts import lockout, stepup, twofactor
from workflow.accounts.throttles import SharedAnonThrottle
from workflow.audit import access_log
from workflow.documents import services, uploads
from workflow.documents.errors import InvalidInput, NotFound
from workflow.documents.models import DocumentType, FileVersion
from workflow.ops.files import serve_file
from workflow.organisation.models import Unit

from . import tokens
from .parsers import LimitedJSONParser
from .serializers import (
    AuditEntrySerializer,
    CommentSerializer,
    DocumentCreateSerializer,
    DocumentFileSerializer,
    DocumentFilterSerializer,
    DocumentSerializer,
    DocumentTypeSerializer,
    DocumentUpdateSerializer,
    ErrorSerializer,
    FileUploadSerializer,
    IssuedTokenSerializer,
    TokenInfoSerializer,
    TransitionSerializer,
    UnitSerializer,
)

DOCUMENT_RELATED = ("unit", "document_type", "drafter", "drafting_department", "approver",
                    "signer")


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    # Schema descriptions are for integrators and stay English; the error bodies the
    # API actually sends carry translated messages.
    descriptions = {
        400: "The input is not valid; see message and fields.",
        401: "Not signed in: send a token or a session cookie.",
        403: "You can see the document but not do this.",
        404: "The document does not exist or you cannot see it.",
        409: "The document changed in the meantime (edit_version or expected_state).",
    }
    return {
        code: OpenApiResponse(ErrorSerializer, description=descriptions[code]) for code in codes
    }


# drf-spectacular names the <int:pk> of every path "id"; describe it under that name.
DOCUMENT_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH,
                               description="Document id.")


class ApiView(APIView):
    # Token first so that an anonymous call answers 401 with a WWW-Authenticate header
    # (session authentication has no challenge and would turn it into 403).
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


class DocumentPageView(ApiView, GenericAPIView):
    # A GenericAPIView with a paginator, so that the schema shows the page envelope
    # (count, next, previous, results) instead of a bare array.

    serializer_class = DocumentSerializer
    pagination_class = Pagination

    def page_of(self, queryset) -> Response:
        page = self.paginate_queryset(
            queryset.select_related(*DOCUMENT_RELATED).prefetch_related("recipients")
        )
        data = DocumentSerializer(page, many=True, context={"request": self.request}).data
        return self.get_paginated_response(data)


def _document_response(request: Request, document, status_code: int = 200) -> Response:
    return Response(DocumentSerializer(document, context={"request": request}).data,
                    status=status_code)


# --- authentication -----------------------------------------------------------------------


class LoginThrottle(SharedAnonThrottle):
    """Slows down password guessing on the token endpoint, across all worker processes."""

    scope = "api-login"
    rate = "20/min"


class TokenView(APIView):
    """Exchange a username and password for an API token (send it as ``Authorization: Token …``).

    The token is django-rest-knox's: stored as a digest, valid until ``expiry``.
    django-axes counts the failures here as on the login page (its backend sees the
    request); a locked-out username or address gets 429 with the lockout message.
    """

    throttle_classes = [LoginThrottle]
    permission_classes = [AllowAny]
    authentication_classes: list = []
    parser_classes = [LimitedJSONParser, FormParser, MultiPartParser]

    @extend_schema(
        operation_id="auth_token_create",
        summary="Get an API token",
        description=("Send it as `Authorization: Token <token>`. It expires at `expiry`; list "
                     "and revoke your tokens at `/api/auth/tokens/`."),
        request=AuthTokenSerializer,
        responses={200: IssuedTokenSerializer, **_errors(400)},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        try:
            serializer.is_valid(raise_exception=True)
        except ValidationError:
            if getattr(request, "axes_locked_out", False):
                return lockout.lockout_response(request._request)
            raise
        user = serializer.validated_data["user"]
        # People with a second factor send its code too ("otp"): a password alone does
        # not open their account, on the API either.
        twofactor.require_for_api_login(user, str(request.data.get("otp") or ""))
        instance, token = tokens.issue_token(user)
        return Response(IssuedTokenSerializer({"token": token, "id": instance.token_key,
                                               "created": instance.created,
                                               "expiry": instance.expiry}).data)


class TokenListView(ApiView):
    @extend_schema(operation_id="auth_tokens_list", summary="Your API tokens that still work",
                   responses={200: TokenInfoSerializer(many=True), **_errors(401)})
    def get(self, request: Request) -> Response:
        current = getattr(request.auth, "token_key", None)
        rows = [{"id": t.token_key, "created": t.created, "expiry": t.expiry,
                 "current": t.token_key == current} for t in tokens.live_tokens(request.user)]
        return Response(TokenInfoSerializer(rows, many=True).data)

    @extend_schema(operation_id="auth_tokens_revoke_all", summary="Revoke all your API tokens",
                   request=None, responses={204: None, **_errors(401)})
    def delete(self, request: Request) -> Response:
        tokens.revoke(request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenDetailView(ApiView):
    http_method_names = ["delete", "options"]

    @extend_schema(operation_id="auth_tokens_revoke", summary="Revoke one of your API tokens",
                   parameters=[OpenApiParameter("token_id", OpenApiTypes.STR,
                                                OpenApiParameter.PATH,
                                                description="The token's id from the list.")],
                   request=None, responses={204: None, **_errors(401, 404)})
    def delete(self, request: Request, token_id: str) -> Response:
        tokens.revoke(request.user, token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SecondFactorSerializer(serializers.Serializer):
    otp = serializers.CharField(help_text=gettext_lazy("The current code of your authenticator "
                                                       "app."))


class SecondFactorView(ApiView):
    """Prove the second factor now: signing and issuing need no code for a few minutes."""

    @extend_schema(operation_id="auth_second_factor", request=SecondFactorSerializer,
                   responses={204: None, **_errors(400, 401, 403)})
    def post(self, request: Request) -> Response:
        data = SecondFactorSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        stepup.require(request, action="api_proof", code=data.validated_data["otp"])
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- documents ----------------------------------------------------------------------------


class DocumentListView(DocumentPageView):
    @extend_schema(
        operation_id="documents_list",
        summary="Documents you may see",
        parameters=[DocumentFilterSerializer],
        responses={200: DocumentSerializer(many=True), **_errors(400, 401)},
    )
    def get(self, request: Request) -> Response:
        filters = DocumentFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return self.page_of(filters.apply(access.visible_documents(request.user)))

    @extend_schema(
        operation_id="documents_create",
        summary="Start a new draft",
        request=DocumentCreateSerializer,
        responses={201: DocumentSerializer, **_errors(400, 401, 403)},
    )
    def post(self, request: Request) -> Response:
        serializer = DocumentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data, recipients = serializer.service_data()
        document = services.create_document(
            request.user, unit=serializer.validated_data["unit"], data=data,
            recipient_unit_ids=recipients or (),
        )
        response = _document_response(request, document, status.HTTP_201_CREATED)
        response["Location"] = reverse("api:document-detail", args=[document.pk])
        return response


class DocumentDetailView(ApiView):
    http_method_names = ["get", "patch", "head", "options"]

    @extend_schema(
        operation_id="documents_retrieve",
        parameters=[DOCUMENT_ID],
        responses={200: DocumentSerializer, **_errors(401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return _document_response(request, services.get_for(request.user, pk))

    @extend_schema(
        operation_id="documents_update",
        summary="Edit a draft",
        parameters=[DOCUMENT_ID],
        request=DocumentUpdateSerializer,
        responses={200: DocumentSerializer, **_errors(400, 401, 403, 404, 409)},
    )
    def patch(self, request: Request, pk: int) -> Response:
        serializer = DocumentUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data, recipients = serializer.service_data()
        document = services.update_document(
            request.user, pk, data=data,
            expected_version=serializer.validated_data["edit_version"],
            recipient_unit_ids=recipients,
        )
        return _document_response(request, document)


class DocumentFilesView(ApiView):
    parser_classes = [MultiPartParser, FormParser]

    def initialize_request(self, request, *args, **kwargs):
        # Stop reading an oversized upload early instead of spooling it to disk first.
        request.upload_handlers.insert(0, uploads.SizeLimitUploadHandler(request))
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        operation_id="documents_files_list",
        summary="Files of a document with every version",
        parameters=[DOCUMENT_ID],
        responses={200: DocumentFileSerializer(many=True), **_errors(401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        document = services.get_for(request.user, pk)
        files = document.files.select_related("current_version").prefetch_related(
            "versions__uploaded_by"
        )
        return Response(DocumentFileSerializer(files, many=True,
                                               context={"request": request}).data)

    @extend_schema(
        operation_id="documents_files_upload",
        summary="Upload a file or a new version of one",
        parameters=[DOCUMENT_ID],
        request={"multipart/form-data": FileUploadSerializer},
        responses={201: DocumentFileSerializer, **_errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        limit = uploads.max_upload_bytes()
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        # The multipart envelope adds a little; anything far beyond the limit is refused
        # before a byte of it is read.
        if declared > limit + 1024 * 1024:
            raise InvalidInput(uploads._too_large_message())
        try:
            payload = request.data
        except StopUpload:
            payload = None
        if payload is None or getattr(request._request, "upload_too_large", False):
            raise InvalidInput(uploads._too_large_message())
        serializer = FileUploadSerializer(data=payload)
        serializer.is_valid(raise_exception=True)
        version = services.add_file(
            request.user, pk,
            upload=serializer.validated_data["file"],
            kind=serializer.validated_data["kind"],
            file_id=serializer.validated_data.get("file_id"),
        )
        return Response(DocumentFileSerializer(version.file, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class VersionDownloadView(ApiView):
    def perform_content_negotiation(self, request, force=False):
        # The answer is the stored file whatever the client asks for (Accept: application/pdf).
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="documents_files_download",
        summary="Download one stored version of a file",
        parameters=[
            DOCUMENT_ID,
            OpenApiParameter("version_id", OpenApiTypes.INT, OpenApiParameter.PATH),
        ],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY),
            **_errors(401, 404),
        },
    )
    def get(self, request: Request, pk: int, version_id: int) -> HttpResponse:
        document = services.get_for(request.user, pk)
        version = FileVersion.objects.filter(file__document=document, pk=version_id).first()
        if version is None:
            raise NotFound(_("The file does not exist."))
        try:
            response = serve_file(version.blob, as_attachment=True,
                                  filename=version.original_name,
                                  content_type=version.content_type)
        except FileNotFoundError:
            raise NotFound(_("The stored file is missing; tell the administrator.")) from None
        access_log.record_download(document, request.user, version_hash=version.sha256,
                                   name=f"{version.original_name} (v{version.number})", via="API")
        return response


class DocumentCommentsView(ApiView):
    @extend_schema(
        operation_id="documents_comments_list",
        parameters=[DOCUMENT_ID],
        responses={200: CommentSerializer(many=True), **_errors(401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        document = services.get_for(request.user, pk)
        comments = document.comments.select_related("author")
        return Response(CommentSerializer(comments, many=True).data)

    @extend_schema(
        operation_id="documents_comments_create",
        parameters=[DOCUMENT_ID],
        request=CommentSerializer,
        responses={201: CommentSerializer, **_errors(400, 401, 403, 404)},
    )
    def post(self, request: Request, pk: int) -> Response:
        serializer = CommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.add_comment(request.user, pk, text=serializer.validated_data["text"])
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class DocumentTransitionView(ApiView):
    parser_classes = [LimitedJSONParser, FormParser, MultiPartParser]

    @extend_schema(
        operation_id="documents_transition",
        summary="Move a document along the approval flow",
        description=(
            "submit, forward, return, approve, sign, issue, archive or withdraw. "
            "Each document's allowed_actions lists what the caller may do now."
        ),
        parameters=[
            DOCUMENT_ID,
            OpenApiParameter("action", OpenApiTypes.STR, OpenApiParameter.PATH,
                             enum=[a.value for a in TRANSITIONS]),
        ],
        request=TransitionSerializer,
        responses={200: DocumentSerializer, **_errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, pk: int, action: str) -> Response:
        serializer = TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if action in ("sign", "issue"):
            # A fresh second factor: "otp" (or "token_pin") in the body, or a recent proof.
            stepup.require_from_post(request, action, services.get_for(request.user, pk))
        document = services.perform(
            request.user, pk, action,
            comment=serializer.validated_data.get("comment", ""),
            expected_state=serializer.validated_data.get("expected_state") or None,
            **({"capacity": serializer.validated_data["capacity"]}
               if action == "sign" and serializer.validated_data.get("capacity") else {}),
        )
        return _document_response(request, document)


class DocumentHistoryView(ApiView):
    @extend_schema(
        operation_id="documents_history",
        summary="Audit trail of a document",
        parameters=[DOCUMENT_ID],
        responses={200: AuditEntrySerializer(many=True), **_errors(401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        document = services.get_for(request.user, pk)
        return Response(AuditEntrySerializer(access_log.timeline(request.user, document),
                                             many=True).data)


class InboxView(DocumentPageView):
    @extend_schema(
        operation_id="inbox_list",
        summary="Documents waiting for your action",
        responses={200: DocumentSerializer(many=True), **_errors(401)},
    )
    def get(self, request: Request) -> Response:
        return self.page_of(access.inbox(request.user))


# --- reference data -----------------------------------------------------------------------


class DocumentTypeListView(ApiView):
    @extend_schema(
        operation_id="document_types_list",
        responses={200: DocumentTypeSerializer(many=True), **_errors(401)},
    )
    def get(self, request: Request) -> Response:
        return Response(DocumentTypeSerializer(DocumentType.objects.all(), many=True).data)


class UnitListView(ApiView):
    @extend_schema(
        operation_id="units_list",
        summary="The organisation tree, in tree order",
        description="Every unit with its parent, path and depth, including retired and "
        "merged ones (their documents stay reachable).",
        responses={200: UnitSerializer(many=True), **_errors(401)},
    )
    def get(self, request: Request) -> Response:
        units = Unit.objects.select_related("level").order_by("path")
        return Response(UnitSerializer(units, many=True).data)


def not_found(request, exception=None):
    """The site's 404 handler: JSON under /api/, the normal page everywhere else.

    A handler rather than a catch-all route, so API routes that other apps mount under
    /api/ after this one are never shadowed.
    """
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": NotFound.code, "message": _("There is nothing at this address.")},
            status=404,
        )
    return page_not_found(request, exception)


def bad_request(request, exception=None):
    """The site's 400 handler: says why when the request was too large (form fields over
    ``DATA_UPLOAD_MAX_MEMORY_SIZE``, Django's ``RequestDataTooBig``); JSON under /api/."""
    if isinstance(exception, (RequestDataTooBig, TooManyFieldsSent)):
        code, message = "too_large", _(
            "The request is too large (at most %(kb)d KB of form fields). Shorten the body or "
            "send the content as a file.") % {
                "kb": (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) // 1024}
    else:
        code, message = "bad_request", _("The request could not be understood.")
    if request.path.startswith("/api/"):
        return JsonResponse({"error": code, "message": message}, status=400)
    return render(request, "400.html", {"message": message}, status=400)
