"""Social critique (phản biện xã hội), supervision (giám sát), recommendations (kiến nghị).

Cases keep links to foundation :class:`~workflow.documents.models.Document` rows
for everything that is a document (plans, decisions, conclusions, reports); they
never copy those documents. States move only through the services, which check
:mod:`workflow.access`, write audit records and run inside transactions.

Critique conferences, dialogues and voter meetings are meetings of the
meetings app (``workflow.meetings``), linked by a nullable foreign key.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition

from workflow.documents.models import Document
from workflow.organisation.models import Unit


def _allowed(action: str):
    """django-fsm permission callable deferring to the one access module."""

    def check(instance, user) -> bool:
        from workflow import access

        return access.can_case(user, action, instance)

    check.__name__ = f"can_case_{action}"
    return check


def _system(instance, user) -> bool:
    # Moves caused by a document (its approval or issue) are made by the system;
    # services call them with user=None after checking the document itself.
    return user is None


def today() -> dt.date:
    return timezone.localdate()


class MeetingRefMixin(models.Model):
    """The meeting (critique conference, dialogue, voter meeting) a record came from."""

    meeting = models.ForeignKey(
        "meetings.Meeting", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("meeting"),
    )

    class Meta:
        abstract = True


# --- social critique ------------------------------------------------------------------------


class CritiqueState(models.TextChoices):
    RECEIVED = "received", _("Received")
    PLANNED = "planned", _("Planned")
    IN_PROGRESS = "in_progress", _("In progress")
    CONCLUSION_DRAFTED = "conclusion_drafted", _("Conclusion drafted")
    APPROVED = "approved", _("Conclusion approved")
    ISSUED = "issued", _("Conclusion issued")
    AWAITING_REPLY = "awaiting_reply", _("Awaiting reply")
    REPLY_RECEIVED = "reply_received", _("Reply received")
    CLOSED = "closed", _("Closed")


class CritiqueForm(models.TextChoices):
    CONFERENCE = "conference", _("Critique conference")
    WRITTEN = "written", _("Written round")
    DIALOGUE = "dialogue", _("Dialogue")


class CritiqueCase(MeetingRefMixin, models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="critique_cases",
                             verbose_name=_("unit"))
    title = models.CharField(_("draft policy under critique"), max_length=500)
    agency = models.CharField(_("drafting agency"), max_length=255, blank=True)
    self_initiated = models.BooleanField(_("self-initiated"), default=False)
    received_on = models.DateField(_("received on"), null=True, blank=True)
    form = models.CharField(_("form"), max_length=20, choices=CritiqueForm.choices, blank=True)
    state = FSMField(_("state"), default=CritiqueState.RECEIVED, choices=CritiqueState.choices,
                     db_index=True)
    plan_document = models.ForeignKey(Document, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+", verbose_name=_("plan document"))
    conclusion_document = models.ForeignKey(
        Document, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("critique conclusion"))
    held_on = models.DateField(_("conclusion issued on"), null=True, blank=True)
    sent_on = models.DateField(_("sent to the agency on"), null=True, blank=True)
    reply_due = models.DateField(_("reply due"), null=True, blank=True)
    reply_received_on = models.DateField(_("reply received on"), null=True, blank=True)
    reply_accepted = models.TextField(_("points accepted"), blank=True)
    reply_explained = models.TextField(_("points explained (not accepted)"), blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("responsible person"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    overdue_notified_on = models.DateField(null=True, blank=True, editable=False)
    reminded_on = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("critique case")
        verbose_name_plural = _("critique cases")
        indexes = [models.Index(fields=["unit", "held_on"]),
                   models.Index(fields=["state", "reply_due"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        return (self.state == CritiqueState.AWAITING_REPLY and self.reply_due is not None
                and self.reply_due < today())

    @transition(field=state, source=CritiqueState.RECEIVED, target=CritiqueState.PLANNED,
                permission=_allowed("work"), conditions=[lambda c: c.plan_document_id])
    def plan(self) -> None:
        pass

    @transition(field=state, source=CritiqueState.PLANNED, target=CritiqueState.IN_PROGRESS,
                permission=_allowed("work"))
    def start(self, form: str) -> None:
        self.form = form

    @transition(field=state, source=CritiqueState.IN_PROGRESS,
                target=CritiqueState.CONCLUSION_DRAFTED, permission=_allowed("work"),
                conditions=[lambda c: c.conclusion_document_id])
    def draft_conclusion(self) -> None:
        pass

    @transition(field=state, source=CritiqueState.CONCLUSION_DRAFTED,
                target=CritiqueState.APPROVED, permission=_allowed("approve"))
    def approve(self) -> None:
        pass

    @transition(field=state, source=[CritiqueState.CONCLUSION_DRAFTED, CritiqueState.APPROVED],
                target=CritiqueState.ISSUED, permission=_system)
    def issue(self, on: dt.date) -> None:
        self.held_on = on

    @transition(field=state, source=CritiqueState.ISSUED, target=CritiqueState.AWAITING_REPLY,
                permission=_allowed("work"))
    def send(self, on: dt.date, due: dt.date) -> None:
        self.sent_on = on
        self.reply_due = due

    @transition(field=state, source=CritiqueState.AWAITING_REPLY,
                target=CritiqueState.REPLY_RECEIVED, permission=_allowed("work"))
    def receive_reply(self, on: dt.date, accepted: str, explained: str) -> None:
        self.reply_received_on = on
        self.reply_accepted = accepted
        self.reply_explained = explained

    @transition(field=state, source=CritiqueState.REPLY_RECEIVED, target=CritiqueState.CLOSED,
                permission=_allowed("approve"))
    def close(self, on: dt.date) -> None:
        self.closed_on = on


class WrittenOpinion(models.Model):
    """An opinion asked from a named expert or member in a written critique round."""

    case = models.ForeignKey(CritiqueCase, on_delete=models.CASCADE, related_name="opinions")
    name = models.CharField(_("expert or member"), max_length=255)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    text = models.TextField(_("opinion"), blank=True)
    received_on = models.DateField(_("received on"), null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("written opinion")
        verbose_name_plural = _("written opinions")

    def __str__(self) -> str:
        return self.name

    @property
    def is_overdue(self) -> bool:
        return self.received_on is None and self.deadline is not None and self.deadline < today()


# --- supervision ----------------------------------------------------------------------------


class SupervisionState(models.TextChoices):
    PLANNED = "planned", _("Planned")
    TEAM_FORMED = "team_formed", _("Team formed")
    IN_PROGRESS = "in_progress", _("Under way")
    REPORTED = "reported", _("Report drafted")
    FOLLOWING_UP = "following_up", _("Recommendations issued, following up")
    CLOSED = "closed", _("Closed")


class SupervisionCase(MeetingRefMixin, models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="supervision_cases",
                             verbose_name=_("unit"))
    title = models.CharField(_("topic"), max_length=500)
    supervised_body = models.CharField(_("supervised body"), max_length=255)
    planned_start = models.DateField(_("planned start"), null=True, blank=True)
    planned_end = models.DateField(_("planned end"), null=True, blank=True)
    state = FSMField(_("state"), default=SupervisionState.PLANNED,
                     choices=SupervisionState.choices, db_index=True)
    plan_document = models.ForeignKey(Document, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+", verbose_name=_("plan document"))
    decision_document = models.ForeignKey(
        Document, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("decision forming the team"))
    report_document = models.ForeignKey(
        Document, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("supervision report"))
    held_on = models.DateField(_("report issued on"), null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("responsible person"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("supervision case")
        verbose_name_plural = _("supervision cases")
        indexes = [models.Index(fields=["unit", "held_on"])]

    def __str__(self) -> str:
        return self.title

    @transition(field=state, source=SupervisionState.PLANNED, target=SupervisionState.TEAM_FORMED,
                permission=_system)
    def form_team(self) -> None:
        pass

    @transition(field=state, source=SupervisionState.TEAM_FORMED,
                target=SupervisionState.IN_PROGRESS, permission=_allowed("work"))
    def start(self) -> None:
        pass

    @transition(field=state, source=SupervisionState.IN_PROGRESS,
                target=SupervisionState.REPORTED, permission=_allowed("work"),
                conditions=[lambda c: c.report_document_id])
    def report(self) -> None:
        pass

    @transition(field=state, source=SupervisionState.REPORTED,
                target=SupervisionState.FOLLOWING_UP, permission=_system)
    def issue_recommendations(self, on: dt.date) -> None:
        self.held_on = on

    @transition(field=state, source=SupervisionState.FOLLOWING_UP,
                target=SupervisionState.CLOSED, permission=_allowed("approve"))
    def close(self, on: dt.date) -> None:
        self.closed_on = on


class ActivityKind(models.TextChoices):
    VISIT = "visit", _("Field visit")
    REVIEW = "review", _("Document review")
    MEETING = "meeting", _("Meeting")


class SupervisionActivity(MeetingRefMixin, models.Model):
    case = models.ForeignKey(SupervisionCase, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(_("kind"), max_length=20, choices=ActivityKind.choices)
    on = models.DateField(_("date"))
    place = models.CharField(_("place"), max_length=255, blank=True)
    description = models.TextField(_("description"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["on", "pk"]
        verbose_name = _("supervision activity")
        verbose_name_plural = _("supervision activities")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.on}"


# --- recommendations ------------------------------------------------------------------------


class Source(models.TextChoices):
    SUPERVISION = "supervision", _("Supervision")
    DIALOGUE = "dialogue", _("Dialogue")
    VOTER_MEETING = "voter_meeting", _("Voter meeting")
    CRITIQUE = "critique", _("Social critique")


class RecField(models.TextChoices):
    LAND = "land", _("Land and environment")
    ECONOMY = "economy", _("Economy and infrastructure")
    SOCIAL = "social", _("Social policy")
    HEALTH = "health", _("Health and education")
    SECURITY = "security", _("Security and order")
    ADMINISTRATION = "administration", _("Administration")
    OTHER = "other", _("Other")


class RecStatus(models.TextChoices):
    NEW = "new", _("New")
    AGGREGATED = "aggregated", _("Aggregated")
    FORWARDED = "forwarded", _("Forwarded")
    RESPONDED = "responded", _("Responded")
    RESOLVED = "resolved", _("Resolved")
    OVERDUE = "overdue", _("Overdue")
    ESCALATED = "escalated", _("Escalated")


OPEN_REC_STATUSES = [RecStatus.NEW, RecStatus.AGGREGATED, RecStatus.FORWARDED,
                     RecStatus.RESPONDED, RecStatus.OVERDUE, RecStatus.ESCALATED]


class RecommendationReport(models.Model):
    """An aggregation of recommendations for one period, issued as an outgoing report."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="recommendation_reports",
                             verbose_name=_("unit"))
    title = models.CharField(_("title"), max_length=500)
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    filters = models.JSONField(default=dict, blank=True)
    document = models.ForeignKey(Document, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("report document"))
    forwarded_on = models.DateField(_("forwarded on"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("recommendation report")
        verbose_name_plural = _("recommendation reports")

    def __str__(self) -> str:
        return self.title


class Recommendation(MeetingRefMixin, models.Model):
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="recommendations",
                             verbose_name=_("responsible unit"))
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    supervision = models.ForeignKey(SupervisionCase, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="recommendations")
    critique = models.ForeignKey(CritiqueCase, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="recommendations")
    topic = models.CharField(_("topic"), max_length=500)
    content = models.TextField(_("content"), blank=True)
    field = models.CharField(_("field"), max_length=20, choices=RecField.choices,
                             default=RecField.OTHER)
    addressee = models.CharField(_("competent body"), max_length=255)
    raised_on = models.DateField(_("raised on"))
    forward_due = models.DateField(_("forward by"), null=True, blank=True)
    forwarded_on = models.DateField(_("forwarded on"), null=True, blank=True)
    due_date = models.DateField(_("resolve by"), null=True, blank=True)
    responded_on = models.DateField(_("responded on"), null=True, blank=True)
    resolved_on = models.DateField(_("resolved on"), null=True, blank=True)
    reply_text = models.TextField(_("reply"), blank=True)
    status = FSMField(_("status"), default=RecStatus.NEW, choices=RecStatus.choices,
                      db_index=True)
    legitimate = models.BooleanField(_("legitimate"), default=True)
    report = models.ForeignKey(RecommendationReport, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="items")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("responsible person"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    escalated_on = models.DateField(null=True, blank=True, editable=False)
    overdue_notified_on = models.DateField(null=True, blank=True, editable=False)
    reminded_on = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-raised_on", "-pk"]
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")
        indexes = [models.Index(fields=["source", "raised_on"]),
                   models.Index(fields=["unit", "status"])]

    def __str__(self) -> str:
        return self.topic

    @property
    def resolved_on_time(self) -> bool | None:
        """True/False once decidable; None while it is open and not yet due."""
        if self.resolved_on is not None:
            return self.due_date is None or self.resolved_on <= self.due_date
        if self.due_date is not None and self.due_date < today():
            return False
        return None

    @property
    def current_deadline(self) -> dt.date | None:
        return self.forward_due if self.forwarded_on is None else self.due_date

    @property
    def is_overdue(self) -> bool:
        if self.status in (RecStatus.RESOLVED,):
            return False
        deadline = self.current_deadline
        return self.status == RecStatus.OVERDUE or (deadline is not None and deadline < today())

    @transition(field=status, source=RecStatus.NEW, target=RecStatus.AGGREGATED,
                permission=_allowed("work"))
    def aggregate(self, report: RecommendationReport) -> None:
        self.report = report

    @transition(field=status, source=[RecStatus.NEW, RecStatus.AGGREGATED, RecStatus.OVERDUE,
                                      RecStatus.ESCALATED],
                target=RecStatus.FORWARDED, permission=_allowed("work"),
                conditions=[lambda r: r.forwarded_on is None])
    def forward(self, on: dt.date) -> None:
        self.forwarded_on = on

    @transition(field=status, source=[RecStatus.FORWARDED, RecStatus.OVERDUE,
                                      RecStatus.ESCALATED],
                target=RecStatus.RESPONDED, permission=_allowed("work"),
                conditions=[lambda r: r.forwarded_on is not None])
    def respond(self, on: dt.date, text: str) -> None:
        self.responded_on = on
        self.reply_text = text

    @transition(field=status, source=[RecStatus.FORWARDED, RecStatus.RESPONDED,
                                      RecStatus.OVERDUE, RecStatus.ESCALATED],
                target=RecStatus.RESOLVED, permission=_allowed("work"),
                conditions=[lambda r: r.forwarded_on is not None])
    def resolve(self, on: dt.date) -> None:
        self.resolved_on = on

    @transition(field=status, source=[RecStatus.NEW, RecStatus.AGGREGATED, RecStatus.FORWARDED,
                                      RecStatus.RESPONDED],
                target=RecStatus.OVERDUE, permission=_system)
    def mark_overdue(self) -> None:
        pass

    @transition(field=status, source=RecStatus.OVERDUE, target=RecStatus.ESCALATED,
                permission=_allowed("work"))
    def escalate(self, on: dt.date) -> None:
        self.escalated_on = on


# --- periodic reports, files, notices ---------------------------------------------------------


class PeriodicReport(models.Model):
    """A unit's filing of one periodic report (for the "units filing reports" target)."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="periodic_reports",
                             verbose_name=_("unit"))
    year = models.PositiveSmallIntegerField(_("year"))
    period = models.CharField(_("period"), max_length=10)
    filed_on = models.DateField(_("filed on"))
    document = models.ForeignKey(Document, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("report document"))
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                 related_name="+")

    class Meta:
        ordering = ["-year", "period", "unit"]
        verbose_name = _("periodic report")
        verbose_name_plural = _("periodic reports")
        constraints = [models.UniqueConstraint(fields=["unit", "year", "period"],
                                               name="periodic_report_unique")]

    def __str__(self) -> str:
        return f"{self.unit} {self.year} {self.period}"


class FileKind(models.TextChoices):
    DRAFT = "draft", _("Draft policy")
    DOSSIER = "dossier", _("Dossier")
    REPLY = "reply", _("Reply")
    EVIDENCE = "evidence", _("Evidence")
    OTHER = "other", _("Other")


def case_file_upload_to(instance: CaseFile, filename: str) -> str:
    return f"oversight/{instance.uuid}/{filename}"


class CaseFile(models.Model):
    """A file attached to a case, an activity or a recommendation (checked on upload)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    critique = models.ForeignKey(CritiqueCase, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="files")
    supervision = models.ForeignKey(SupervisionCase, null=True, blank=True,
                                    on_delete=models.CASCADE, related_name="files")
    activity = models.ForeignKey(SupervisionActivity, null=True, blank=True,
                                 on_delete=models.CASCADE, related_name="files")
    recommendation = models.ForeignKey(Recommendation, null=True, blank=True,
                                       on_delete=models.CASCADE, related_name="files")
    kind = models.CharField(_("kind"), max_length=20, choices=FileKind.choices)
    blob = models.FileField(upload_to=case_file_upload_to, max_length=400)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=120)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.original_name
