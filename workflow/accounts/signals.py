"""Receivers: lockouts and unlocks into the audit log; sessions remembered per person."""

from __future__ import annotations

from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete
from django.dispatch import receiver

from workflow.audit.services import record

from . import lockout, sessions


def _target(username: str, fallback):
    user = get_user_model().objects.filter(username=username).first() if username else None
    return user or fallback


@receiver(user_locked_out, dispatch_uid="accounts-locked")
def _locked(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    attempt = AccessAttempt.objects.filter(ip_address=ip_address).order_by("-pk").first()
    target = _target(username or "", attempt)
    if target is None:
        return
    record(target, lockout.LOCKED,
           comment=f"username {username or '-'}; address {ip_address or '-'}")


@receiver(post_delete, sender=AccessAttempt, dispatch_uid="accounts-unlocked")
def _unlocked(sender, instance: AccessAttempt, **kwargs) -> None:
    # Attempts are deleted on success, when they expire and when an administrator resets
    # them (admin, axes_reset*, unlock_account); only the end of an actual lock is news.
    if instance.failures_since_start < settings.AXES_FAILURE_LIMIT:
        return
    record(_target(instance.username or "", instance), lockout.UNLOCKED,
           comment=f"username {instance.username or '-'}; address {instance.ip_address or '-'}")


@receiver(user_logged_in, dispatch_uid="accounts-session-start")
def _session_start(sender, request=None, user=None, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        sessions.started(request, user)
