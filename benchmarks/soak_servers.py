"""The fault soak's own servers and the supervised programs it kills (benchmarks/fault_soak.py).

A PostgreSQL 15 cluster on port 5433 (data in var/soak/pg, run as the ``postgres`` user)
and a Redis on port 6380 (append-only file in var/soak/redis): restarting them disturbs
no other PostgreSQL or Redis on the machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOAK = ROOT / "var" / "soak"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_PORT, REDIS_PORT = 5433, 6380

# --- the separate PostgreSQL and Redis ----------------------------------------------------------


def pg(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    # No pipes: the server started by pg_ctl would hold them open.
    return subprocess.run(["runuser", "-u", "postgres", "--", *args], check=check,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)


def pg_start() -> None:
    data = SOAK / "pg"
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        shutil.chown(data, "postgres", "postgres")
        pg(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
    pg(str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(data / "server.log"), "-w", "-o",
       f"-p {PG_PORT} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=200", "start")


def pg_restart() -> None:
    # Fast shutdown (sessions are cut, as on a service restart), then start.
    pg_stop()
    pg_start()


def pg_stop() -> None:
    pg(str(PG_BIN / "pg_ctl"), "-D", str(SOAK / "pg"), "-w", "-m", "fast", "stop", check=False)


def redis_start() -> None:
    folder = SOAK / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    # Append-only file, fsync every second: a restart keeps queued messages and sessions.
    subprocess.run(["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1",
                    "--dir", str(folder), "--appendonly", "yes", "--appendfsync", "everysec",
                    "--save", "", "--daemonize", "yes", "--pidfile", str(folder / "redis.pid"),
                    "--logfile", str(folder / "redis.log")], check=True)
    for _ in range(100):
        if subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "ping"],
                          capture_output=True).stdout.strip() == b"PONG":
            return
        time.sleep(0.1)
    raise RuntimeError("redis did not start")


def redis_stop() -> None:
    subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "shutdown"], capture_output=True)
    pidfile = SOAK / "redis" / "redis.pid"
    for _ in range(100):
        if not pidfile.exists():
            return
        time.sleep(0.1)


def supervised_pid(program: str) -> int:
    out = subprocess.run(["supervisorctl", "-c", str(SOAK / "production" / "supervisord.conf"),
                          "pid", program], capture_output=True, timeout=30)
    return int(out.stdout.strip() or 0)


def kill_program(program: str) -> int:
    """kill -9 a supervised program with its children (supervisord restarts it)."""
    pid = supervised_pid(program)
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True).stdout.split()
    for victim in [pid, *(int(c) for c in children)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
    return pid


def task_name(entry: bytes) -> str:
    """The task of a message kombu keeps in its ``unacked`` hash ([payload, exchange, key])."""
    try:
        payload = json.loads(entry)[0]
        payload = json.loads(payload) if isinstance(payload, str) else payload
        return payload["headers"].get("task", "?")
    except (ValueError, KeyError, IndexError, TypeError):
        return "?"


def routing_key(entry: bytes) -> str:
    try:
        return json.loads(entry)[2]
    except (ValueError, IndexError, TypeError):
        return ""


def restarted(program: str, old: int, limit: float = 60) -> float:
    """Seconds until supervisord runs ``program`` again under a new process id."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        pid = supervised_pid(program)
        if pid and pid != old:
            return time.monotonic() - start
        time.sleep(0.2)
    return float("nan")
