"""The worker heartbeat: beat sends one to each queue; the worker that runs it stamps the time."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="ops.heartbeat", ignore_result=True)
def heartbeat(queue: str) -> float:
    from .health import record_heartbeat

    return record_heartbeat(queue)
