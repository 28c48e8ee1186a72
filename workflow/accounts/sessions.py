"""Session limits (idle timeout, absolute lifetime) and the person's list of sessions."""

from __future__ import annotations

import datetime as dt
from importlib import import_module

from django.conf import settings
from django.contrib.sessions.models import Session
from django.http import HttpRequest
from django.utils import timezone

from .client import client_ip
from .models import UserSession

AUTH_AT = "_mttq_auth_at"
SEEN_AT = "_mttq_seen_at"
# The last-seen time is written at most this often: the meeting room polls every second
# and must not save its session each time.
SEEN_EVERY = 60


def _store(session_key: str):
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key)


def started(request: HttpRequest, user) -> None:
    """Called on every login: stamp the session and list it under the person."""
    now = timezone.now()
    request.session[AUTH_AT] = now.timestamp()
    request.session[SEEN_AT] = now.timestamp()
    if request.session.session_key is None:
        request.session.save()
    UserSession.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={"user": user, "ip_address": client_ip(request),
                  "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300]},
    )


def expired(request: HttpRequest) -> bool:
    """Whether the signed-in session passed its idle timeout or absolute lifetime."""
    session = request.session
    auth_at = session.get(AUTH_AT)
    if auth_at is None:
        return False
    now = timezone.now().timestamp()
    if now - auth_at > settings.MTTQ_SESSION_ABSOLUTE_SECONDS:
        return True
    seen = session.get(SEEN_AT, auth_at)
    if now - seen > settings.MTTQ_SESSION_IDLE_SECONDS:
        return True
    if now - seen > SEEN_EVERY:
        session[SEEN_AT] = now
        if session.session_key:
            UserSession.objects.filter(session_key=session.session_key).update(
                last_seen=timezone.now())
    return False


def active(user) -> list[UserSession]:
    """The person's sessions that still exist and have not expired."""
    rows = list(UserSession.objects.filter(user=user))
    if not rows:
        return []
    if settings.SESSION_ENGINE.endswith(("db", "cached_db")):
        alive = set(Session.objects.filter(
            session_key__in=[r.session_key for r in rows], expire_date__gt=timezone.now()
        ).values_list("session_key", flat=True))
    else:
        alive = {r.session_key for r in rows if _store(r.session_key).exists(r.session_key)}
    limit = timezone.now() - dt.timedelta(seconds=settings.MTTQ_SESSION_IDLE_SECONDS)
    gone = [r for r in rows if r.session_key not in alive or r.last_seen < limit
            - dt.timedelta(seconds=SEEN_EVERY)]
    if gone:
        UserSession.objects.filter(pk__in=[r.pk for r in gone]).delete()
    return [r for r in rows if r not in gone]


def end_others(user, keep: str | None = None) -> int:
    """Sign the person out everywhere except the session ``keep``; how many ended."""
    rows = UserSession.objects.filter(user=user)
    if keep:
        rows = rows.exclude(session_key=keep)
    ended = 0
    for row in list(rows):
        _store(row.session_key).delete()
        row.delete()
        ended += 1
    return ended
