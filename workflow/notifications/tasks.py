"""Celery tasks: e-mail after commit, the daily digest, reminders (beat). All idempotent."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="notifications.send_pending", autoretry_for=(Exception,),
             retry_backoff=True, max_retries=5)
def send_pending(key: str, subject: str) -> int:
    from .services import send_pending_now

    return send_pending_now(key, subject)


@shared_task(name="notifications.send_digests", autoretry_for=(Exception,),
             retry_backoff=True, max_retries=3)
def send_digests() -> int:
    from .services import send_digests as run

    return run()


@shared_task(name="notifications.remind_deadlines")
def remind_deadlines() -> int:
    from .events import remind_all

    return remind_all()


@shared_task(name="notifications.meetings_starting_soon")
def meetings_starting_soon() -> int:
    from .events import meetings_starting_soon as run

    return run()
