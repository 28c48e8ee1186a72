"""Receivers: lockouts and unlocks into the audit log; sessions remembered per person."""

from __future__ import annotations

import datetime as dt

from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from workflow.audit.models import AuditEntry
from workflow.audit.services import record

from . import lockout, sessions
from .models import UserSession


def _target(username: str, fallback):
    user = get_user_model().objects.filter(username=username).first() if username else None
    return user or fallback


def _key(username: str | None, address: str | None) -> str:
    # The username when one was typed (a lock follows the account), else the address.
    return f"username {username}" if username else f"address {address or '-'}"


def _open_lock(key: str) -> bool:
    """Whether the last lock event for ``key`` is a lockout not yet followed by an unlock."""
    last = (AuditEntry.objects.filter(action__in=(lockout.LOCKED, lockout.UNLOCKED),
                                      comment__contains=key + ";")
            .order_by("-at", "-pk").values_list("action", "at").first())
    if last is None or last[0] == lockout.UNLOCKED:
        return False
    # A lock older than the longest possible lock has run out on its own.
    return last[1] > timezone.now() - dt.timedelta(minutes=settings.MTTQ_LOCKOUT_MAX_MINUTES)


@receiver(user_locked_out, dispatch_uid="accounts-locked")
def _locked(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    key = _key(username, ip_address)
    # Every refused try while locked signals again; the log wants the lockout once.
    if _open_lock(key):
        return
    attempt = AccessAttempt.objects.filter(ip_address=ip_address).order_by("-pk").first()
    target = _target(username or "", attempt)
    if target is None:
        return
    record(target, lockout.LOCKED,
           comment=f"{key}; username {username or '-'}; address {ip_address or '-'}")


@receiver(post_delete, sender=AccessAttempt, dispatch_uid="accounts-unlocked")
def _unlocked(sender, instance: AccessAttempt, **kwargs) -> None:
    # Attempts are deleted on success, when they expire and when an administrator resets
    # them (admin, axes_reset*); only the end of an open lock is news, once.
    for key in {_key(instance.username, None), _key(None, instance.ip_address)}:
        if _open_lock(key):
            record(_target(instance.username or "", instance), lockout.UNLOCKED,
                   comment=f"{key}; username {instance.username or '-'}; "
                           f"address {instance.ip_address or '-'}")


@receiver(user_logged_in, dispatch_uid="accounts-session-start")
def _session_start(sender, request=None, user=None, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        sessions.started(request, user)


@receiver(post_delete, sender=TOTPDevice, dispatch_uid="accounts-2fa-reset")
def _device_removed(sender, instance: TOTPDevice, **kwargs) -> None:
    """A removed authenticator (an administrator's reset, a new phone) ends the sessions it
    verified: everywhere, except the session that is enrolling the new one."""
    if not instance.confirmed:
        return
    keep = getattr(instance, "_mttq_keep_session", None)
    sessions.end_others(instance.user, keep=keep)
    record(instance.user, "account.2fa_reset")


@receiver(user_logged_out, dispatch_uid="accounts-session-end")
def _session_end(sender, request=None, user=None, **kwargs) -> None:
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        UserSession.objects.filter(session_key=key).delete()
