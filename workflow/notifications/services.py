"""Notify people: one service for documents, meetings, oversight and incoming documents.

:func:`notify` writes the in-app rows inside the caller's transaction (a rolled-back
action notifies nobody) and, after commit, hands the e-mail to a Celery task. Each row
carries a dedup key: the same (person, key) is written once, so a retried task, a
double click or a beat task run twice never tells anyone twice.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Kind, Mail, Mode, Notification, Preference

DEFAULT_MODE = Mode.IMMEDIATE


def _people(recipients: Iterable, exclude) -> dict:
    skip = {getattr(p, "pk", p) for p in (exclude if isinstance(exclude, (list, tuple, set))
                                          else [exclude]) if p is not None}
    people = {}
    for person in recipients:
        if person is None or not getattr(person, "is_active", True) or person.pk in skip:
            continue
        people[person.pk] = person
    return people


def modes_for(user_ids: Iterable[int], kind: str) -> dict[int, str]:
    """Each person's e-mail mode for ``kind`` (immediately unless they chose otherwise)."""
    ids = list(user_ids)
    chosen = dict(Preference.objects.filter(user_id__in=ids, kind=kind)
                  .values_list("user_id", "mode"))
    return {uid: chosen.get(uid, DEFAULT_MODE) for uid in ids}


def notify(recipients: Iterable, event: str, obj: models.Model | None = None, *,
           text: str, url: str | None = None, kind: str = Kind.DOCUMENT,
           key: str | None = None, email: bool = True, subject: str = "",
           exclude=None) -> list[int]:
    """Tell ``recipients`` about ``event`` (e.g. ``document.returned``) on ``obj``.

    ``key`` names the event occurrence (e.g. the audit entry that recorded it); without
    one every call is a new event. People who already have a row with this key, the
    ``exclude`` d actor and inactive accounts are skipped. Returns the ids of the people
    newly notified. Call inside the changing transaction.
    """
    people = _people(recipients, exclude)
    if not people:
        return []
    key = (key or f"{event}:{uuid.uuid4().hex}")[:160]
    seen = set(Notification.objects.filter(dedup_key=key, recipient_id__in=list(people))
               .values_list("recipient_id", flat=True))
    fresh = [uid for uid in people if uid not in seen]
    if not fresh:
        return []
    if url is None:
        url = obj.get_absolute_url() if hasattr(obj, "get_absolute_url") else ""
    content_type = ContentType.objects.get_for_model(obj) if obj is not None else None
    modes = modes_for(fresh, kind) if email else {}
    now = timezone.now()
    rows = []
    for uid in fresh:
        mode = modes.get(uid, Mode.OFF)
        mail = Mail.NONE
        if email and people[uid].email and mode != Mode.OFF:
            mail = Mail.PENDING if mode == Mode.IMMEDIATE else Mail.DIGEST
        rows.append(Notification(
            recipient_id=uid, kind=kind, event=event[:60], text=text[:500], url=(url or "")[:300],
            content_type=content_type, object_id=str(obj.pk) if obj is not None else "",
            dedup_key=key, created_at=now, mail=mail))
    # A concurrent writer of the same key wins quietly (the unique constraint holds).
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    if any(r.mail == Mail.PENDING for r in rows):
        from .tasks import send_pending

        subject = subject or text
        transaction.on_commit(lambda: send_pending.delay(key, subject[:150]))
    return fresh


def unread_count(user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def mark_read(user, ids: Iterable[int] | None = None) -> int:
    """Mark the person's own notices read (all unread ones without ``ids``)."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=[int(i) for i in ids])
    return qs.update(read_at=timezone.now())


def set_preferences(user, modes: dict[str, str]) -> None:
    from workflow.audit.services import record
    from workflow.documents.errors import InvalidInput

    with transaction.atomic():
        for kind, mode in modes.items():
            if kind not in Kind.values or mode not in Mode.values:
                raise InvalidInput(_("Unknown notification kind or mode."))
            Preference.objects.update_or_create(user=user, kind=kind, defaults={"mode": mode})
        record(user, "notifications.preferences", actor=user,
               comment=", ".join(f"{k}={v}" for k, v in sorted(modes.items())))


def _absolute(url: str) -> str:
    if not url or url.startswith("http"):
        return url
    return getattr(settings, "SITE_URL", "").rstrip("/") + url


def send_pending_now(key: str, subject: str) -> int:
    """Send the immediate e-mails of one event; each row is claimed before it is sent."""
    from django.core.mail import send_mail

    sent = 0
    for row in (Notification.objects.filter(dedup_key=key, mail=Mail.PENDING)
                .select_related("recipient")):
        claimed = Notification.objects.filter(pk=row.pk, mail=Mail.PENDING).update(
            mail=Mail.SENT, mailed_at=timezone.now())
        if not claimed:
            continue  # another worker has it
        body = row.text + (f"\n\n{_absolute(row.url)}" if row.url else "")
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [row.recipient.email])
        except Exception:
            # Give the row back so the retry sends it.
            Notification.objects.filter(pk=row.pk).update(mail=Mail.PENDING, mailed_at=None)
            raise
        sent += 1
    return sent


def send_digests(now: dt.datetime | None = None) -> int:
    """One e-mail per person with everything waiting for their digest; safe to rerun."""
    from django.core.mail import send_mail

    now = now or timezone.now()
    people = (Notification.objects.filter(mail=Mail.DIGEST, created_at__lte=now)
              .values_list("recipient_id", flat=True).distinct())
    sent = 0
    for uid in list(people):
        with transaction.atomic():
            rows = list(Notification.objects.select_for_update(skip_locked=True)
                        .filter(recipient_id=uid, mail=Mail.DIGEST, created_at__lte=now)
                        .select_related("recipient").order_by("created_at", "pk"))
            if not rows:
                continue
            Notification.objects.filter(pk__in=[r.pk for r in rows]).update(
                mail=Mail.SENT, mailed_at=now)
            lines = [f"- {r.text}" + (f"\n  {_absolute(r.url)}" if r.url else "") for r in rows]
            # Inside the transaction: if sending fails the rows stay in the digest.
            send_mail(_("Your notifications (%(count)d)") % {"count": len(rows)},
                      "\n".join(lines), settings.DEFAULT_FROM_EMAIL, [rows[0].recipient.email])
            sent += 1
    return sent


# --- deadlines ------------------------------------------------------------------------------


@dataclass
class DeadlineItem:
    """Something due on a date that people should be reminded of.

    ``key`` names the item for good (e.g. ``document:12``, ``incoming:7``); the reminder
    for each stage is sent once per item, stage and due date (a moved deadline reminds
    again).
    """

    key: str
    due: dt.date
    title: str
    recipients: list = field(default_factory=list)
    url: str = ""
    obj: models.Model | None = None
    kind: str = Kind.DEADLINE
    stages: tuple[str, ...] = ("soon", "today", "overdue")


def deadline_stage(due: dt.date, today: dt.date) -> str | None:
    days = (due - today).days
    if days < 0:
        return "overdue"
    if days == 0:
        return "today"
    if days <= getattr(settings, "NOTIFICATIONS_REMIND_DAYS_BEFORE", 2):
        return "soon"
    return None


def remind_deadlines(items: Iterable[DeadlineItem], today: dt.date | None = None) -> int:
    """Remind each item's people at its stage: 2 days before, on the day, overdue.

    Idempotent (dedup key per item, due date and stage), so beat may run it hourly;
    the incoming-documents app calls it with its handling deadlines. Returns the
    number of notices written.
    """
    today = today or timezone.localdate()
    written = 0
    for item in items:
        stage = deadline_stage(item.due, today)
        if stage is None or stage not in item.stages:
            continue
        due = item.due.strftime("%d/%m/%Y")
        text = {
            "soon": _("Due on %(due)s: %(title)s"),
            "today": _("Due today (%(due)s): %(title)s"),
            "overdue": _("Overdue since %(due)s: %(title)s"),
        }[stage] % {"due": due, "title": item.title}
        written += len(notify(item.recipients, f"deadline.{stage}", item.obj, text=text,
                              url=item.url, kind=item.kind,
                              key=f"deadline:{item.key}:{item.due.isoformat()}:{stage}"))
    return written
