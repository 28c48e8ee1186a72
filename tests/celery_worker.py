"""A real Celery worker on the Redis broker, for task tests: environment, start.

Each test module takes its own Redis database (it is flushed before and after), so
modules running side by side under pytest-xdist never empty each other's queue.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings

REPO = Path(settings.BASE_DIR)


def redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def worker_environment(tmp_path: Path, redis_db: int, **extra: str) -> Iterator[dict]:
    """The environment of a worker and of the test's helper processes (migrated SQLite)."""
    if not redis_up():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    import redis

    broker = f"redis://127.0.0.1:6379/{redis_db}"
    redis.Redis.from_url(broker).flushdb()
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CELERY_BROKER_URL": broker,
        "CELERY_VISIBILITY_TIMEOUT": "3",
        "SEARCH_INDEX_DIR": str(tmp_path / "index"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "MTTQ_VAR_DIR": str(tmp_path),
        "PYTHONPATH": str(REPO),
        "SEARCH_URL": "",
        "ES_URL": "",
        **extra,
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=REPO,
                   env=environment, check=True, timeout=300)
    try:
        yield environment
    finally:
        redis.Redis.from_url(broker).flushdb()


def start_worker(env: dict) -> subprocess.Popen:
    """One solo worker reserving one message at a time: the queue length tracks progress."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo",
         "-Q", "celery,indexing",
         "--prefetch-multiplier", "1", "--without-gossip", "--without-mingle", "-l", "WARNING"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )
