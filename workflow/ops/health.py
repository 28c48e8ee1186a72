"""What ``/healthz`` checks: database, cache, broker, search index, worker heartbeats, queues.

Every check is bounded (short socket timeouts, one trivial query) so the proxy and the
monitoring may call it every few seconds. The answer names no host, address, user or
error text: only which part answers, how long it took and how old the heartbeats are.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import caches
from django.db import connection

HEARTBEAT_KEY = "ops:heartbeat:%s"
_REDIS_CLIENTS: dict[str, object] = {}


def task_queues() -> list[str]:
    """The queues workers consume (one per queue group), in a stable order."""
    return list(dict.fromkeys(settings.MTTQ_TASK_QUEUES))


def broker_kind() -> str:
    url = settings.CELERY_BROKER_URL or ""
    if not url or settings.CELERY_TASK_ALWAYS_EAGER:
        return "in-process"
    return urlsplit(url).scheme or "unknown"


def broker_redis():
    """A client of the Redis broker with short timeouts (one per process), or None."""
    url = settings.CELERY_BROKER_URL or ""
    if broker_kind() not in ("redis", "rediss"):
        return None
    client = _REDIS_CLIENTS.get(url)
    if client is None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # One reconnect: a connection kept from before a Redis restart is dead, not Redis.
        client = _REDIS_CLIENTS[url] = redis.Redis.from_url(
            url, socket_timeout=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 1))
    return client


def queue_lengths() -> dict[str, int | None]:
    """Messages waiting per queue (None: not known for this broker).

    kombu's Redis transport keeps a queue as a list under its name, plus one list per
    priority step (``name\\x06\\x16<step>``); all are summed.
    """
    client = broker_redis()
    if client is None:
        return {queue: None for queue in task_queues()}
    steps = ["", "\x06\x163", "\x06\x166", "\x06\x169"]
    pipe = client.pipeline(transaction=False)
    for queue in task_queues():
        for step in steps:
            pipe.llen(queue + step)
    counts = pipe.execute()
    out = {}
    for index, queue in enumerate(task_queues()):
        out[queue] = sum(counts[index * len(steps):(index + 1) * len(steps)])
    return out


def record_heartbeat(queue: str) -> float:
    now = time.time()
    caches["shared"].set(HEARTBEAT_KEY % queue, now, timeout=24 * 3600)
    return now


def heartbeat_ages() -> dict[str, float | None]:
    """Seconds since a worker of each queue last ran the heartbeat task (None: never)."""
    found = caches["shared"].get_many([HEARTBEAT_KEY % q for q in task_queues()])
    now = time.time()
    return {q: (round(now - found[HEARTBEAT_KEY % q], 1) if HEARTBEAT_KEY % q in found
                else None) for q in task_queues()}


def _check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}


def _check_cache() -> dict:
    cache = caches["default"]
    cache.set("ops:healthz", "1", timeout=30)
    if cache.get("ops:healthz") != "1":
        raise RuntimeError("cache did not keep a value")
    return {}


def _check_broker() -> dict:
    kind = broker_kind()
    client = broker_redis()
    if client is not None:
        client.ping()
    return {"kind": kind}


def _check_search() -> dict:
    from search.service import get_backend

    backend = get_backend()
    client = getattr(backend, "client", None)
    if client is not None:
        if not client.options(request_timeout=2, max_retries=0).ping():
            raise RuntimeError("search cluster did not answer")
    else:
        backend.count()
    return {"kind": backend.name}


def _timed(check: Callable[[], dict]) -> dict:
    start = time.perf_counter()
    try:
        extra = check()
        ok = True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"; nothing leaks out
        extra, ok = {}, False
    return {"ok": ok, "ms": round((time.perf_counter() - start) * 1000, 1), **extra}


def report(*, web_only: bool = False) -> tuple[bool, dict]:
    """(healthy, the JSON body). ``web_only``: only what this web node needs to serve."""
    checks = {"database": _timed(_check_database), "cache": _timed(_check_cache)}
    body: dict = {"checks": checks}
    if not web_only:
        checks["broker"] = _timed(_check_broker)
        checks["search"] = _timed(_check_search)
        if broker_kind() != "in-process":
            limit = settings.MTTQ_HEARTBEAT_STALE_SECONDS
            try:
                ages = heartbeat_ages()
            except Exception:  # noqa: BLE001 - the shared cache being down is reported above
                ages = {q: None for q in task_queues()}
            checks["workers"] = {
                "ok": all(age is not None and age <= limit for age in ages.values()),
                "heartbeat_age_seconds": ages, "stale_after_seconds": limit,
            }
            try:
                body["queues"] = queue_lengths()
            except Exception:  # noqa: BLE001 - the broker being down is reported above
                body["queues"] = {q: None for q in task_queues()}
    healthy = all(check["ok"] for check in checks.values())
    body["status"] = "ok" if healthy else "fail"
    return healthy, body
