"""Meetings without paper: schedule, agenda, papers, the room (speakers, votes), follow-up.

The meeting's state runs through django-fsm transitions whose permission
callables defer to :mod:`workflow.access`; :mod:`workflow.meetings.services`
locks the row, checks the expected state, writes the audit record and bumps
``room_version`` so that every open meeting room sees the change on its next poll.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from workflow.documents.models import Document
from workflow.organisation.models import Unit


class Kind(models.TextChoices):
    PLENARY = "plenary", _("Committee plenary")
    STANDING_BOARD = "standing_board", _("Standing board")
    THEMATIC = "thematic", _("Thematic meeting")
    DIALOGUE = "dialogue", _("Dialogue with citizens")
    CRITIQUE = "critique", _("Critique conference")


class MeetingState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PAPERS_UNDER_APPROVAL = "papers_under_approval", _("Papers under approval")
    PUBLISHED = "published", _("Published")
    IN_SESSION = "in_session", _("In session")
    CLOSED = "closed", _("Closed")
    CONCLUDED = "concluded", _("Concluded")
    CANCELLED = "cancelled", _("Cancelled")
    POSTPONED = "postponed", _("Postponed")


# States in which participants (not only the organisers) see the meeting and its papers.
PUBLIC_STATES = [
    MeetingState.PUBLISHED,
    MeetingState.IN_SESSION,
    MeetingState.CLOSED,
    MeetingState.CONCLUDED,
]
PREPARING_STATES = [MeetingState.DRAFT, MeetingState.PAPERS_UNDER_APPROVAL]
EDITABLE_STATES = [*PREPARING_STATES, MeetingState.PUBLISHED]


def _allowed(action: str):
    def check(instance: Meeting, user) -> bool:
        from workflow import access

        return access.can_meeting(user, action, instance)

    check.__name__ = f"can_meeting_{action}"
    return check


class Meeting(ConcurrentTransitionMixin, models.Model):
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="meetings",
                             verbose_name=_("unit"))
    title = models.CharField(_("title"), max_length=300)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.PLENARY)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    place = models.CharField(_("place"), max_length=255, blank=True)
    online_link = models.URLField(_("online link"), blank=True)
    chair = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="chaired_meetings", verbose_name=_("chair"))
    secretary = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="recorded_meetings", verbose_name=_("secretary"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    wants_invitation = models.BooleanField(
        _("issue an invitation document"), default=False,
        help_text=_("Publishing drafts the invitation (giấy mời) as an outgoing document."))

    state = FSMField(_("state"), default=MeetingState.DRAFT, choices=MeetingState.choices,
                     db_index=True)
    # Set by the secretary at closing: the paperless measure of DOMAIN §2.
    paperless = models.BooleanField(_("held without paper"), null=True, blank=True)
    paper_reason = models.TextField(_("why paper was used"), blank=True)
    current_item = models.ForeignKey("AgendaItem", null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+",
                                     verbose_name=_("current agenda item"))
    # Bumped on every change that an open meeting room must show; pollers compare it.
    room_version = models.PositiveIntegerField(default=1, editable=False)
    invitation = models.ForeignKey(Document, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("invitation"))
    minutes = models.ForeignKey(Document, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", verbose_name=_("minutes"))
    conclusion = models.ForeignKey(Document, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("conclusion notice"))
    published_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_at", "-pk"]
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        indexes = [models.Index(fields=["unit", "state"]), models.Index(fields=["starts_at"])]

    def __str__(self) -> str:
        return self.title

    @transition(field=state, source=MeetingState.DRAFT,
                target=MeetingState.PAPERS_UNDER_APPROVAL, permission=_allowed("send"))
    def send_for_approval(self) -> None:
        pass

    @transition(field=state, source=PREPARING_STATES, target=MeetingState.PUBLISHED,
                permission=_allowed("publish"))
    def publish(self, at) -> None:
        self.published_at = at

    @transition(field=state, source=MeetingState.PUBLISHED, target=MeetingState.IN_SESSION,
                permission=_allowed("start"))
    def start(self, at) -> None:
        self.opened_at = at

    @transition(field=state, source=MeetingState.IN_SESSION, target=MeetingState.CLOSED,
                permission=_allowed("close"))
    def close(self, *, at, paperless: bool, reason: str) -> None:
        self.closed_at = at
        self.paperless = paperless
        self.paper_reason = "" if paperless else reason

    @transition(field=state, source=MeetingState.CLOSED, target=MeetingState.CONCLUDED,
                permission=_allowed("conclude"))
    def conclude(self) -> None:
        pass

    @transition(field=state, source=[*EDITABLE_STATES, MeetingState.POSTPONED],
                target=MeetingState.CANCELLED, permission=_allowed("cancel"))
    def cancel(self) -> None:
        pass

    @transition(field=state, source=EDITABLE_STATES, target=MeetingState.POSTPONED,
                permission=_allowed("postpone"))
    def postpone(self) -> None:
        pass

    @transition(field=state, source=MeetingState.POSTPONED, target=MeetingState.DRAFT,
                permission=_allowed("reschedule"))
    def reschedule(self, *, starts_at, ends_at) -> None:
        self.starts_at = starts_at
        self.ends_at = ends_at
        self.published_at = None


class ParticipantRole(models.TextChoices):
    CHAIR = "chair", _("Chair")
    SECRETARY = "secretary", _("Secretary")
    DELEGATE = "delegate", _("Delegate")
    GUEST = "guest", _("Guest")
    OBSERVER = "observer", _("Observer")


class Attendance(models.TextChoices):
    INVITED = "invited", _("Invited")
    CONFIRMED = "confirmed", _("Confirmed")
    DECLINED = "declined", _("Declined")
    DELEGATED = "delegated", _("Delegated")
    CHECKED_IN = "checked_in", _("Checked in")


# Who may act in the room (vote, speak); a person who declined or sent a delegate may not.
ACTIVE_ATTENDANCE = [Attendance.INVITED, Attendance.CONFIRMED, Attendance.CHECKED_IN]
VOTING_ROLES = [ParticipantRole.CHAIR, ParticipantRole.SECRETARY, ParticipantRole.DELEGATE]


class Participant(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.PROTECT, related_name="meeting_seats",
                             verbose_name=_("person"))
    guest_name = models.CharField(_("guest name"), max_length=200, blank=True)
    role = models.CharField(_("role in meeting"), max_length=20, choices=ParticipantRole.choices,
                            default=ParticipantRole.DELEGATE)
    attendance = models.CharField(_("attendance"), max_length=20, choices=Attendance.choices,
                                  default=Attendance.INVITED)
    delegated_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("delegated to"))
    delegate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    # People of other units the organiser allows to attend in this participant's place.
    deputies = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+",
                                      verbose_name=_("deputies"))
    # A delegation across units, waiting for the organiser's confirmation.
    delegation_requested = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", verbose_name=_("delegate awaiting the organiser"))
    checked_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["meeting", "pk"]
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [
            models.UniqueConstraint(fields=["meeting", "user"], name="meeting_participant_unique",
                                    condition=models.Q(user__isnull=False)),
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | ~models.Q(guest_name=""),
                name="meeting_participant_named"),
        ]

    def __str__(self) -> str:
        return str(self.user) if self.user_id else self.guest_name

    @property
    def name(self) -> str:
        return str(self)


class AgendaItem(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="items")
    order = models.PositiveIntegerField(_("order"), default=0)
    title = models.CharField(_("title"), max_length=500)
    presenter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+",
                                  verbose_name=_("presenter"))
    presenter_name = models.CharField(_("presenter (outside the system)"), max_length=200,
                                      blank=True)
    starts_at = models.TimeField(_("from"), null=True, blank=True)
    ends_at = models.TimeField(_("to"), null=True, blank=True)

    class Meta:
        ordering = ["meeting", "order", "pk"]
        verbose_name = _("agenda item")
        verbose_name_plural = _("agenda items")

    def __str__(self) -> str:
        return self.title

    @property
    def presenter_label(self) -> str:
        return str(self.presenter) if self.presenter_id else self.presenter_name


class PaperSource(models.TextChoices):
    DRAFTED = "drafted", _("Drafted for this meeting")
    REFERENCE = "reference", _("Reference to an archived document")


class Paper(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="papers")
    item = models.ForeignKey(AgendaItem, on_delete=models.CASCADE, related_name="papers",
                             verbose_name=_("agenda item"))
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="meeting_papers",
                                 verbose_name=_("document"))
    source = models.CharField(_("source"), max_length=20, choices=PaperSource.choices)
    order = models.PositiveIntegerField(default=0)
    restricted_to = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("restricted to"),
        help_text=_("Leave empty to show the paper to every participant."))
    # Documents this paper pointed at before being replaced: still readable.
    previous_documents = models.JSONField(default=list, blank=True, editable=False)
    changed_after_publication = models.BooleanField(default=False, editable=False)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "order", "pk"]
        verbose_name = _("meeting paper")
        verbose_name_plural = _("meeting papers")
        constraints = [
            models.UniqueConstraint(fields=["item", "document"], name="meeting_paper_unique"),
        ]

    def __str__(self) -> str:
        return self.document.subject


class PrivateNote(models.Model):
    """A delegate's own note on a paper: shown to nobody else, kept after the meeting."""

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="notes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    text = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["paper", "user"], name="private_note_unique"),
        ]

    def __str__(self) -> str:
        return f"note {self.paper_id}/{self.user_id}"


class SpeakState(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    SPEAKING = "speaking", _("Speaking")
    DONE = "done", _("Done")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class SpeakRequest(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="speak_requests")
    item = models.ForeignKey(AgendaItem, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=20, choices=SpeakState.choices,
                             default=SpeakState.WAITING)
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "pk"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.state}"


class VoteState(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Choice(models.TextChoices):
    YES = "yes", _("In favour")
    NO = "no", _("Against")
    ABSTAIN = "abstain", _("Abstain")


class Vote(models.Model):
    """A vote (biểu quyết). Counts live on this row, updated under its lock.

    For a secret vote the ballot keeps only who voted (to refuse a second
    ballot), never the choice, so no query can link a person to an answer.
    """

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="votes")
    item = models.ForeignKey(AgendaItem, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="votes", verbose_name=_("agenda item"))
    question = models.CharField(_("question"), max_length=500)
    secret = models.BooleanField(_("secret ballot"), default=False)
    state = models.CharField(max_length=10, choices=VoteState.choices, default=VoteState.OPEN)
    yes_count = models.PositiveIntegerField(default=0)
    no_count = models.PositiveIntegerField(default=0)
    abstain_count = models.PositiveIntegerField(default=0)
    eligible_count = models.PositiveIntegerField(default=0)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+")
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["opened_at", "pk"]
        verbose_name = _("vote")
        verbose_name_plural = _("votes")

    def __str__(self) -> str:
        return self.question

    @property
    def cast_count(self) -> int:
        return self.yes_count + self.no_count + self.abstain_count


class Ballot(models.Model):
    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="ballots")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Empty for secret votes.
    choice = models.CharField(max_length=10, choices=Choice.choices, blank=True)
    cast_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vote", "voter"], name="ballot_one_per_voter"),
        ]

    def __str__(self) -> str:
        return f"ballot {self.vote_id}/{self.voter_id}"


class TaskState(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")


class FollowUpTask(models.Model):
    """A task from the meeting's conclusions, tracked to done."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(_("task"), max_length=500)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="meeting_tasks", verbose_name=_("owner"))
    due_date = models.DateField(_("due date"), null=True, blank=True)
    state = models.CharField(_("status"), max_length=10, choices=TaskState.choices,
                             default=TaskState.OPEN, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["state", "due_date", "pk"]
        verbose_name = _("follow-up task")
        verbose_name_plural = _("follow-up tasks")

    def __str__(self) -> str:
        return self.title
