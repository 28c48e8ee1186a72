"""REST API for paperless meetings: list, detail, agenda, papers, attendance, speaking, votes.

Thin views over :mod:`workflow.meetings.services`; who may see or do what is decided by
:mod:`workflow.access` through those services (``get_meeting``, ``get_paper``,
``readable_papers``, ``cast_ballot``), exactly as in the browser.
"""

from __future__ import annotations

from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from workflow import access
from workflow.access import MeetingAction as A
from workflow.audit import access_log
from workflow.documents.errors import InvalidInput, NotFound
from workflow.meetings.models import Ballot, Choice, Participant, SpeakRequest, SpeakState, Vote
from workflow.meetings.services.attendance import check_in, respond
from workflow.meetings.services.common import get_meeting, visible_meetings_for
from workflow.meetings.services.links import PAPER_LINK_SECONDS, paper_file_version
from workflow.meetings.services.notes import get_paper
from workflow.meetings.services.room import readable_papers
from workflow.meetings.services.session import request_to_speak, withdraw_speak_request
from workflow.meetings.services.votes import cast_ballot, vote_result
from workflow.ops.files import serve_file
from workflow.organisation.models import User

from .views import ApiView, Pagination, _errors

MEETING_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH,
                              description="Meeting id.")
PAPER_LINK_SALT = "workflow.api.paper-link"


class MeetingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    kind = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField(source="get_state_display")
    unit = serializers.IntegerField(source="unit_id")
    unit_name = serializers.CharField(source="unit.name")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(allow_null=True)
    place = serializers.CharField()
    chair = serializers.CharField(allow_null=True)
    secretary = serializers.CharField(allow_null=True)


class PaperSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    item = serializers.IntegerField(source="item_id")
    document = serializers.IntegerField(source="document_id")
    subject = serializers.CharField(source="document.subject")
    document_state = serializers.CharField(source="document.state")
    link = serializers.SerializerMethodField(
        help_text="Signed link to the paper's file for you, valid 15 minutes.")

    def get_link(self, paper) -> str | None:
        version = self.context["versions"].get(paper.pk)
        if version is None:
            return None
        token = signing.dumps({"p": paper.pk, "v": version, "u": self.context["user_id"]},
                              salt=PAPER_LINK_SALT, compress=True)
        return self.context["request"].build_absolute_uri(
            reverse("api:meeting-paper-file", args=[paper.pk]) + f"?sig={token}")


class AgendaItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    order = serializers.IntegerField()
    title = serializers.CharField()
    presenter = serializers.CharField(allow_null=True)
    current = serializers.BooleanField()
    papers = PaperSerializer(many=True)


class MeetingDetailSerializer(MeetingSerializer):
    actions = serializers.ListField(child=serializers.CharField(),
                                    help_text="What you may do in this meeting now.")
    agenda = AgendaItemSerializer(many=True)


class ParticipantSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    role = serializers.CharField()
    attendance = serializers.CharField()
    checked_in_at = serializers.DateTimeField(allow_null=True)


class RespondSerializer(serializers.Serializer):
    answer = serializers.ChoiceField(choices=["confirm", "decline", "delegate", "check_in"])
    delegate_to = serializers.IntegerField(required=False, allow_null=True)


class VoteSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    question = serializers.CharField()
    item = serializers.IntegerField(source="item_id", allow_null=True)
    secret = serializers.BooleanField()
    state = serializers.CharField()
    result = serializers.DictField(help_text="Counts; names only for open (non-secret) votes.")
    my_ballot = serializers.BooleanField(help_text="Whether you have already voted.")


class BallotSerializer(serializers.Serializer):
    choice = serializers.ChoiceField(choices=Choice.values)


def _agenda(request: Request, meeting) -> list[dict]:
    papers = readable_papers(request.user, meeting)
    versions = {}
    for paper in papers:
        version = paper_file_version(paper)
        if version is not None:
            versions[paper.pk] = version.pk
    context = {"request": request, "versions": versions, "user_id": request.user.pk}
    by_item: dict[int, list] = {}
    for paper in papers:
        by_item.setdefault(paper.item_id, []).append(paper)
    return [{
        "id": item.pk, "order": item.order, "title": item.title,
        "presenter": str(item.presenter) if item.presenter_id else (item.presenter_name or None),
        "current": item.pk == meeting.current_item_id,
        "papers": PaperSerializer(by_item.get(item.pk, []), many=True, context=context).data,
    } for item in meeting.items.select_related("presenter").order_by("order", "pk")]


def _actions(user, meeting) -> list[str]:
    return [a.value for a in A if access.can_meeting(user, a, meeting)]


EXAMPLE_MEETING = {
    "id": 12, "title": "Hội nghị Ủy ban MTTQ tỉnh lần thứ 5", "kind": "plenary",
    "state": "published", "state_label": "Published", "unit": 3,
    "unit_name": "Ủy ban MTTQ Việt Nam tỉnh Nghệ An", "starts_at": "2026-03-12T08:00:00+07:00",
    "ends_at": None, "place": "Hội trường tầng 3", "chair": "Nguyễn Văn A",
    "secretary": "Trần Thị B",
}


class MeetingListView(ApiView, GenericAPIView):
    serializer_class = MeetingSerializer
    pagination_class = Pagination

    @extend_schema(
        operation_id="meetings_list", summary="Meetings you may see",
        parameters=[OpenApiParameter("q", str, description="Words in the title or place."),
                    OpenApiParameter("state", str, description="Only meetings in this state.")],
        responses={200: MeetingSerializer(many=True), **_errors(401)},
        examples=[OpenApiExample("A page of meetings", response_only=True,
                                 value={"count": 1, "next": None, "previous": None,
                                        "results": [EXAMPLE_MEETING]})],
    )
    def get(self, request: Request) -> Response:
        qs = visible_meetings_for(request.user, q=request.query_params.get("q", ""),
                                  state=request.query_params.get("state", ""))
        page = self.paginate_queryset(
            qs.select_related("unit", "chair", "secretary").order_by("-starts_at", "-pk"))
        return self.get_paginated_response(MeetingSerializer(page, many=True).data)


class MeetingDetailView(ApiView):
    @extend_schema(
        operation_id="meetings_retrieve", summary="A meeting with its agenda and your papers",
        parameters=[MEETING_ID], responses={200: MeetingDetailSerializer, **_errors(401, 404)},
        examples=[OpenApiExample("A published meeting", response_only=True, value={
            **EXAMPLE_MEETING, "actions": ["view", "attend", "speak"],
            "agenda": [{"id": 40, "order": 1, "title": "Báo cáo tình hình",
                        "presenter": "Nguyễn Văn A", "current": False, "papers": [
                            {"id": 7, "item": 40, "document": 311, "subject": "Báo cáo số 1",
                             "document_state": "approved",
                             "link": "https://eoffice.example/api/meetings/papers/7/file/"
                                     "?sig=…"}]}]})],
    )
    def get(self, request: Request, pk: int) -> Response:
        meeting = get_meeting(request.user, pk)
        data = dict(MeetingSerializer(meeting).data)
        data["actions"] = _actions(request.user, meeting)
        data["agenda"] = _agenda(request, meeting)
        return Response(data)


class MeetingAgendaView(ApiView):
    @extend_schema(operation_id="meetings_agenda",
                   summary="The agenda with the papers you may read",
                   parameters=[MEETING_ID],
                   responses={200: AgendaItemSerializer(many=True), **_errors(401, 404)})
    def get(self, request: Request, pk: int) -> Response:
        meeting = get_meeting(request.user, pk)
        return Response(_agenda(request, meeting))


class MeetingPapersView(ApiView):
    @extend_schema(operation_id="meetings_papers",
                   summary="Papers you may read, each with a signed link (15 minutes)",
                   parameters=[MEETING_ID],
                   responses={200: PaperSerializer(many=True), **_errors(401, 404)})
    def get(self, request: Request, pk: int) -> Response:
        meeting = get_meeting(request.user, pk)
        return Response([p for item in _agenda(request, meeting) for p in item["papers"]])


class PaperFileView(ApiView):
    # The signed link is the credential (a viewer or browser opening it sends no token);
    # the person it names is checked afresh, as on the meeting page.
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        operation_id="meetings_paper_file", summary="A paper's file through its signed link",
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH,
                                     description="Paper id."),
                    OpenApiParameter("sig", str, required=True,
                                     description="The signature from the paper's link.")],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, **_errors(404)},
    )
    def get(self, request: Request, pk: int):
        try:
            data = signing.loads(request.query_params.get("sig", ""), salt=PAPER_LINK_SALT,
                                 max_age=PAPER_LINK_SECONDS)
        except signing.BadSignature:
            raise NotFound(_("This link is not valid or has expired.")) from None
        user = User.objects.filter(pk=data.get("u"), is_active=True).first()
        if user is None or data.get("p") != pk:
            raise NotFound(_("This link is not valid or has expired."))
        paper = get_paper(user, pk)
        version = paper_file_version(paper, data.get("v"))
        if version is None:
            raise NotFound(_("This paper has no file."))
        access_log.record_paper_read(user.pk, version.file.document_id,
                                     name=version.original_name, paper_id=paper.pk,
                                     download=True)
        return serve_file(version.blob, content_type=version.content_type,
                          as_attachment=version.content_type != "application/pdf",
                          filename=version.original_name)


class AttendanceView(ApiView):
    @extend_schema(operation_id="meetings_attendance",
                   summary="Participants and their attendance",
                   parameters=[MEETING_ID],
                   responses={200: ParticipantSerializer(many=True), **_errors(401, 404)})
    def get(self, request: Request, pk: int) -> Response:
        meeting = get_meeting(request.user, pk)
        seats = meeting.participants.select_related("user").order_by("role", "pk")
        return Response([{"id": s.pk, "name": str(s.user) if s.user_id else s.guest_name,
                          "role": s.role, "attendance": s.attendance,
                          "checked_in_at": s.checked_in_at} for s in seats])

    @extend_schema(
        operation_id="meetings_respond",
        summary="Confirm, decline, send a delegate, or check in",
        parameters=[MEETING_ID], request=RespondSerializer,
        responses={200: ParticipantSerializer, **_errors(400, 401, 403, 404)},
        examples=[OpenApiExample("Confirm", request_only=True, value={"answer": "confirm"}),
                  OpenApiExample("Send a delegate", request_only=True,
                                 value={"answer": "delegate", "delegate_to": 58})],
    )
    def post(self, request: Request, pk: int) -> Response:
        body = RespondSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        answer = body.validated_data["answer"]
        if answer == "check_in":
            seat = check_in(request.user, pk)
        else:
            seat = respond(request.user, pk, answer=answer,
                           delegate_to=body.validated_data.get("delegate_to"))
        seat = Participant.objects.select_related("user").get(pk=seat.pk)
        return Response({"id": seat.pk, "name": str(seat.user) if seat.user_id else
                         seat.guest_name, "role": seat.role, "attendance": seat.attendance,
                         "checked_in_at": seat.checked_in_at})


SPEAK_RESPONSE = inline_serializer("SpeakRequest", {
    "id": serializers.IntegerField(), "state": serializers.CharField(),
    "position": serializers.IntegerField(help_text="Place in the queue (1 = next).")})


class SpeakView(ApiView):
    @extend_schema(operation_id="meetings_speak_request", summary="Ask to speak",
                   parameters=[MEETING_ID], request=None,
                   responses={200: SPEAK_RESPONSE, **_errors(401, 403, 404)},
                   examples=[OpenApiExample("Queued", response_only=True,
                                            value={"id": 5, "state": "waiting", "position": 2})])
    def post(self, request: Request, pk: int) -> Response:
        req = request_to_speak(request.user, pk)
        ahead = SpeakRequest.objects.filter(meeting_id=pk, state=SpeakState.WAITING,
                                            requested_at__lte=req.requested_at).count()
        return Response({"id": req.pk, "state": req.state, "position": ahead})

    @extend_schema(operation_id="meetings_speak_withdraw", summary="Withdraw your request",
                   parameters=[MEETING_ID], request=None,
                   responses={204: None, **_errors(401, 404)})
    def delete(self, request: Request, pk: int) -> Response:
        withdraw_speak_request(request.user, pk)
        return Response(status=204)


def _vote_data(user, vote: Vote) -> dict:
    return {"id": vote.pk, "question": vote.question, "item": vote.item_id,
            "secret": vote.secret, "state": vote.state, "result": vote_result(vote),
            "my_ballot": Ballot.objects.filter(vote=vote, voter=user).exists()}


class VoteListView(ApiView):
    @extend_schema(operation_id="meetings_votes", summary="Votes of a meeting with results",
                   parameters=[MEETING_ID],
                   responses={200: VoteSerializer(many=True), **_errors(401, 404)})
    def get(self, request: Request, pk: int) -> Response:
        meeting = get_meeting(request.user, pk)
        return Response([_vote_data(request.user, v)
                         for v in meeting.votes.order_by("opened_at", "pk")])


class BallotView(ApiView):
    @extend_schema(
        operation_id="meetings_ballot",
        summary="Cast your ballot (one per person; a second one is refused with 409)",
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH,
                                     description="Vote id.")],
        request=BallotSerializer,
        responses={201: VoteSerializer, **_errors(400, 401, 403, 404, 409)},
        examples=[OpenApiExample("Yes", request_only=True, value={"choice": "yes"})],
    )
    def post(self, request: Request, pk: int) -> Response:
        body = BallotSerializer(data=request.data)
        if not body.is_valid():
            raise InvalidInput(_("Choose yes, no or abstain."))
        ballot = cast_ballot(request.user, pk, body.validated_data["choice"])
        vote = Vote.objects.get(pk=ballot.vote_id)
        return Response(_vote_data(request.user, vote), status=201)
