"""Prometheus metrics with the official client library (prometheus_client).

Why prometheus_client and not django-prometheus: the figures asked for are request
latency, Celery task durations and failures, and queue lengths; django-prometheus only
covers the first (and swaps database and cache backends to count queries, which this
project tunes itself), so the Celery and queue metrics would need prometheus_client
anyway. One small middleware and three signal handlers on the maintained client do all.

Several processes (gunicorn workers, Celery pool processes) each count their own:
with ``PROMETHEUS_MULTIPROC_DIR`` set (scripts/run-production.sh and the systemd units
set it, one empty folder per machine) the client writes them to files there and
``/metrics`` adds up all processes of the machine. Queue lengths are read from the
broker when scraped, never counted.
"""

from __future__ import annotations

import os
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

REQUEST_SECONDS = Histogram(
    "mttq_http_request_duration_seconds", "Time to answer a request, by view and status class",
    ["method", "view", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
TASK_SECONDS = Histogram(
    "mttq_celery_task_duration_seconds", "Time a Celery task ran, by task and outcome",
    ["task", "state"], buckets=(0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800),
)
TASK_FAILURES = Counter("mttq_celery_task_failures_total",
                        "Celery tasks that raised (after their retries, or not retried)",
                        ["task"])
TASK_RETRIES = Counter("mttq_celery_task_retries_total", "Celery task retries", ["task"])

_STARTED: dict[str, float] = {}
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


class MetricsMiddleware:
    """Request latency, labelled by the matched URL name (bounded: never the raw path)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or match.route) if match else "unmatched"
        method = request.method if request.method in _METHODS else "other"
        REQUEST_SECONDS.labels(method, view, f"{response.status_code // 100}xx").observe(
            time.perf_counter() - start)
        return response


def _task_name(sender=None, task=None) -> str:
    return getattr(task or sender, "name", None) or "unknown"


def _prerun(task_id=None, task=None, **kwargs) -> None:
    _STARTED[task_id] = time.perf_counter()


def _postrun(task_id=None, task=None, state=None, **kwargs) -> None:
    start = _STARTED.pop(task_id, None)
    if start is not None:
        TASK_SECONDS.labels(_task_name(task=task), state or "UNKNOWN").observe(
            time.perf_counter() - start)


def _failure(sender=None, **kwargs) -> None:
    TASK_FAILURES.labels(_task_name(sender)).inc()


def _retry(sender=None, **kwargs) -> None:
    TASK_RETRIES.labels(_task_name(sender)).inc()


def connect_celery_signals() -> None:
    from celery import signals

    signals.task_prerun.connect(_prerun, weak=False, dispatch_uid="mttq-metrics-prerun")
    signals.task_postrun.connect(_postrun, weak=False, dispatch_uid="mttq-metrics-postrun")
    signals.task_failure.connect(_failure, weak=False, dispatch_uid="mttq-metrics-failure")
    signals.task_retry.connect(_retry, weak=False, dispatch_uid="mttq-metrics-retry")


class QueueCollector:
    """Messages waiting per Celery queue, read from the broker at scrape time."""

    def collect(self):
        from . import health

        family = GaugeMetricFamily("mttq_celery_queue_length",
                                   "Messages waiting in a Celery queue", labels=["queue"])
        try:
            lengths = health.queue_lengths()
        except Exception:  # noqa: BLE001 - an unreachable broker shows as no samples
            lengths = {}
        for queue, length in lengths.items():
            if length is not None:
                family.add_metric([queue], length)
        yield family


def exposition() -> bytes:
    """The text exposition of this machine's processes plus the queue lengths."""
    from prometheus_client import REGISTRY

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    queues = CollectorRegistry()
    queues.register(QueueCollector())
    return generate_latest(registry) + generate_latest(queues)
