"""The one notification centre: in-app notices, e-mail now or in a daily digest, or not at all.

Documents, meetings, oversight (and incoming documents) write rows through
:func:`workflow.notifications.services.notify`; nothing else creates them.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    """What a person chooses a delivery mode for (one preference per kind)."""

    DOCUMENT = "document", _("Documents to handle")
    COMMENT = "comment", _("Comments on my documents")
    MEETING = "meeting", _("Meetings")
    TASK = "task", _("Tasks assigned to me")
    DEADLINE = "deadline", _("Deadline reminders")
    OVERSIGHT = "oversight", _("Oversight")
    INCOMING = "incoming", _("Incoming documents")


class Mode(models.TextChoices):
    IMMEDIATE = "immediate", _("E-mail immediately")
    DIGEST = "digest", _("Daily e-mail digest")
    OFF = "off", _("No e-mail (in-app only)")


class Mail(models.TextChoices):
    """Where a row's e-mail stands; decided once, from the preference, when it is written."""

    NONE = "none", _("No e-mail")
    PENDING = "pending", _("To send")
    DIGEST = "digest", _("Waiting for the digest")
    SENT = "sent", _("Sent")


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="notices", verbose_name=_("recipient"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    event = models.CharField(_("event"), max_length=60)
    text = models.CharField(_("text"), max_length=500)
    url = models.CharField(max_length=300, blank=True)
    # The object the notice is about, when there is one (documents, meetings, cases…).
    content_type = models.ForeignKey(ContentType, null=True, blank=True,
                                     on_delete=models.CASCADE, related_name="+")
    object_id = models.CharField(max_length=64, blank=True)
    target = GenericForeignKey("content_type", "object_id")
    # Same (recipient, key) twice is the same event: the second write is ignored.
    dedup_key = models.CharField(max_length=160)
    created_at = models.DateTimeField(_("time"), db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    mail = models.CharField(max_length=10, choices=Mail.choices, default=Mail.NONE)
    mailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [models.UniqueConstraint(fields=["recipient", "dedup_key"],
                                               name="notification_once_per_event")]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread"),
            models.Index(fields=["mail", "recipient"], name="notification_mail"),
        ]

    def __str__(self) -> str:
        return self.text


class Preference(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="notice_preferences")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    mode = models.CharField(_("e-mail"), max_length=10, choices=Mode.choices,
                            default=Mode.IMMEDIATE)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [models.UniqueConstraint(fields=["user", "kind"],
                                               name="notice_preference_once")]

    def __str__(self) -> str:
        return f"{self.user} {self.kind}: {self.mode}"
