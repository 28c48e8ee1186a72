"""Periodic work: flag overdue replies and recommendations, remind owners (Celery beat)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="oversight.flag_overdue")
def flag_overdue() -> dict[str, int]:
    from .services.deadlines import flag_overdue as run

    return run()
