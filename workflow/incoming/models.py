"""Incoming documents (văn bản đến, Decree 30 Art. 20–24) and deliveries between units.

* :class:`Delivery`: one per (issued document, recipient unit), the sender's view
  of what happened to it there (sent → received with arrival number, or returned).
* :class:`IncomingFile`: the delivered bytes, stored once per SHA-256 and verified
  once per SHA-256, whichever number of units receive them.
* :class:`IncomingDocument`: the receiving unit's record: Appendix VI incoming
  fields, arrival number in :class:`IncomingRegister`, the handling flow
  (django-fsm), its participants and notes.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from workflow.documents.models import Document, Priority
from workflow.organisation.models import Department, Unit

URGENT_PRIORITIES = (Priority.URGENT, Priority.EXPRESS, Priority.FLASH)


class DeliveryState(models.TextChoices):
    SENT = "sent", _("Sent")
    RECEIVED = "received", _("Received")
    RETURNED = "returned", _("Returned")
    RECALLED = "recalled", _("Recalled")  # issue #15: the sender recalled the document


class Verdict(models.TextChoices):
    PENDING = "", _("Not checked yet")
    PASSED = "PASSED", _("Signature valid")
    FAILED = "FAILED", _("Signature invalid")
    INDETERMINATE = "INDETERMINATE", _("Signature could not be confirmed")


def incoming_file_upload_to(instance: IncomingFile, filename: str) -> str:
    return f"incoming/{instance.sha256[:2]}/{instance.sha256}"


class IncomingFile(models.Model):
    """Bytes that arrived, content-addressed: delivered to 3,321 units, stored once."""

    sha256 = models.CharField(max_length=64, unique=True)
    blob = models.FileField(upload_to=incoming_file_upload_to, max_length=200)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=120)
    verdict = models.CharField(_("signature check"), max_length=16, choices=Verdict.choices,
                               default=Verdict.PENDING, blank=True)
    signers = models.JSONField(default=list, blank=True)
    level = models.CharField(max_length=40, blank=True)
    signing_time = models.CharField(max_length=40, blank=True)
    verification_message = models.TextField(blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    ocr_text = models.TextField(blank=True)
    ocr_done = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("received file")
        verbose_name_plural = _("received files")

    def __str__(self) -> str:
        return self.sha256[:16]

    @property
    def flagged(self) -> bool:
        return self.content_type == "application/pdf" and self.verdict != Verdict.PASSED

    def read(self) -> bytes:
        with self.blob.open("rb") as handle:
            return handle.read()


class Delivery(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="deliveries")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="deliveries")
    state = models.CharField(_("delivery state"), max_length=10, choices=DeliveryState.choices,
                             default=DeliveryState.SENT, db_index=True)
    sent_at = models.DateTimeField(_("sent at"))
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    return_reason = models.TextField(_("reason for return"), blank=True)
    attempts = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["document", "unit__path"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["document", "unit"], name="delivery_once_per_unit"),
        ]

    def __str__(self) -> str:
        return f"{self.document_id} → {self.unit_id} ({self.state})"


class Source(models.TextChoices):
    SYSTEM = "system", _("Through the system")
    PAPER = "paper", _("On paper")
    EMAIL = "email", _("By e-mail")
    OTHER_SYSTEM = "other_system", _("From another agency's system")


class State(models.TextChoices):
    RECEIVED = "received", _("Received")
    REGISTERED = "registered", _("Registered")
    PRESENTED = "presented", _("Presented to the leader")
    ASSIGNED = "assigned", _("Assigned")
    IN_HANDLING = "in_handling", _("In handling")
    DONE = "done", _("Done")
    FILED = "filed", _("Filed")
    RETURNED = "returned", _("Returned to the sender")
    RECALLED = "recalled", _("Recalled by the sender")  # issue #15 (workflow/exchange)


REGISTERED_ONWARDS = [State.REGISTERED, State.PRESENTED, State.ASSIGNED, State.IN_HANDLING,
                      State.DONE, State.FILED]
OPEN_HANDLING = [State.ASSIGNED, State.IN_HANDLING]


def _allowed(action: str):
    def check(instance: IncomingDocument, user) -> bool:
        from workflow import access

        return access.can_incoming(user, action, instance)

    check.__name__ = f"can_incoming_{action}"
    return check


class IncomingRegister(models.Model):
    """The incoming register (sổ đăng ký văn bản đến) of one unit and year."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="incoming_registers")
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "year"], name="incoming_register_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.unit} {self.year}"


class IncomingDocument(ConcurrentTransitionMixin, models.Model):
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="incoming_documents",
                             verbose_name=_("receiving unit"))
    source = models.CharField(_("received"), max_length=20, choices=Source.choices,
                              default=Source.SYSTEM)
    delivery = models.ForeignKey(Delivery, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="incoming")
    origin = models.ForeignKey(Document, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="incoming_copies",
                               verbose_name=_("original document"))
    # Appendix VI, part II (incoming metadata).
    issuer_name = models.CharField(_("issuing organisation"), max_length=255)
    number_symbol = models.CharField(_("number and symbol"), max_length=80, blank=True,
                                     db_index=True)
    issued_on = models.DateField(_("document date"), null=True, blank=True)
    type_name = models.CharField(_("document type"), max_length=120, blank=True)
    subject = models.CharField(_("subject"), max_length=500)
    priority = models.CharField(_("urgency"), max_length=10, choices=Priority.choices,
                                default=Priority.NORMAL)
    confidential = models.BooleanField(_("confidential"), default=False)
    page_count = models.PositiveIntegerField(_("pages"), null=True, blank=True)
    signer_name = models.CharField(_("signer"), max_length=150, blank=True)
    signer_position = models.CharField(_("signer's position"), max_length=100, blank=True)
    description = models.TextField(_("notes"), blank=True)
    deadline = models.DateField(_("handling deadline"), null=True, blank=True, db_index=True)
    arrived_at = models.DateTimeField(_("arrival time"))
    arrival_number = models.PositiveIntegerField(_("arrival number"), null=True, blank=True)
    arrival_year = models.PositiveSmallIntegerField(null=True, blank=True)
    registered_at = models.DateTimeField(_("registered at"), null=True, blank=True)
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="+")
    presented_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("presented to"))
    direction = models.TextField(_("leader's direction"), blank=True)
    directed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    directed_at = models.DateTimeField(null=True, blank=True)
    lead_department = models.ForeignKey(Department, null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    result = models.TextField(_("result"), blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    reply = models.ForeignKey(Document, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="replies_to", verbose_name=_("reply"))
    return_reason = models.TextField(_("reason for return"), blank=True)
    reminded_on = models.DateField(null=True, blank=True, editable=False)
    state = FSMField(_("state"), default=State.RECEIVED, choices=State.choices, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-arrived_at", "-pk"]
        verbose_name = _("incoming document")
        verbose_name_plural = _("incoming documents")
        constraints = [
            models.UniqueConstraint(fields=["unit", "arrival_year", "arrival_number"],
                                    name="incoming_arrival_number_unique"),
        ]
        indexes = [models.Index(fields=["unit", "state"]),
                   models.Index(fields=["unit", "issuer_name", "number_symbol"])]

    def __str__(self) -> str:
        return f"{self.number_symbol or '—'} {self.subject}"

    @property
    def urgent(self) -> bool:
        return self.priority in URGENT_PRIORITIES

    # The handling flow (Art. 22–24). The services lock, check expected state,
    # write the audit record; these only move state.

    @transition(field=state, source=State.RECEIVED, target=State.REGISTERED,
                permission=_allowed("register"))
    def register(self, *, number: int, year: int, at, user) -> None:
        self.arrival_number = number
        self.arrival_year = year
        self.registered_at = at
        self.registered_by = user

    @transition(field=state, source=State.RECEIVED, target=State.RETURNED,
                permission=_allowed("return"))
    def send_back(self, reason: str) -> None:
        self.return_reason = reason

    @transition(field=state, source=State.REGISTERED, target=State.PRESENTED,
                permission=_allowed("present"))
    def present(self, leader) -> None:
        self.presented_to = leader

    @transition(field=state, source=[State.REGISTERED, State.PRESENTED], target=State.ASSIGNED,
                permission=_allowed("assign"))
    def assign(self, *, user, direction: str, deadline, at) -> None:
        self.directed_by = user
        self.direction = direction
        self.deadline = deadline
        self.directed_at = at

    @transition(field=state, source=State.ASSIGNED, target=State.IN_HANDLING,
                permission=_allowed("start"))
    def start(self) -> None:
        pass

    @transition(field=state, source=OPEN_HANDLING, target=State.DONE,
                permission=_allowed("complete"))
    def complete(self, *, result: str, at) -> None:
        self.result = result
        self.done_at = at

    @transition(field=state, source=[State.REGISTERED, State.DONE], target=State.FILED,
                permission=_allowed("file"))
    def file(self) -> None:
        pass

    # Issue #15: the sender's recall closes whatever stage the handling reached; the
    # arrival number stays (numbers are never reused). workflow/exchange/recall.py decides.
    @transition(field=state, source=[s for s in State.values
                                     if s not in (State.RETURNED, State.RECALLED)],
                target=State.RECALLED)
    def recall(self) -> None:
        pass


class ParticipantRole(models.TextChoices):
    LEAD = "lead", _("Lead handler")
    CO = "co", _("Co-handler")
    INFO = "info", _("For information")
    FORWARDED = "forwarded", _("Forwarded it")


class IncomingParticipant(models.Model):
    incoming = models.ForeignKey(IncomingDocument, on_delete=models.CASCADE,
                                 related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="incoming_roles")
    role = models.CharField(max_length=10, choices=ParticipantRole.choices)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["incoming", "role", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["incoming", "user", "role"],
                                    name="incoming_participant_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role}"


class IncomingAttachment(models.Model):
    incoming = models.ForeignKey(IncomingDocument, on_delete=models.CASCADE,
                                 related_name="attachments")
    file = models.ForeignKey(IncomingFile, on_delete=models.PROTECT, related_name="uses")
    name = models.CharField(max_length=255)
    main = models.BooleanField(default=False)

    class Meta:
        ordering = ["incoming", "-main", "pk"]

    def __str__(self) -> str:
        return self.name


class HandlingNote(models.Model):
    incoming = models.ForeignKey(IncomingDocument, on_delete=models.CASCADE,
                                 related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                               related_name="+")
    text = models.TextField(_("note"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.text[:40]
