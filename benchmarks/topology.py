"""Start, stop and use the one-machine production topology (scripts/run-production.sh).

Shared by the fault soak (benchmarks/fault_soak.py) and the topology smoke test
(tests/test_production_topology.py): the environment file the script writes, Django
set up against it in this process, and sessions for simulated people.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "run-production.sh"


def start(prod_dir: Path, *, port: int, web_ports: tuple[int, ...], database_url: str,
          cache_url: str, broker_url: str, extra_env: dict[str, str] | None = None,
          timeout: float = 600) -> None:
    """Run scripts/run-production.sh (migrate, collectstatic, supervisord) and wait."""
    prod_dir.mkdir(parents=True, exist_ok=True)
    extra = prod_dir / "extra.env"
    extra.write_text("".join(f"{k}={v}\n" for k, v in (extra_env or {}).items()))
    env = {**os.environ, "PROD_DIR": str(prod_dir), "PROD_PORT": str(port),
           "WEB_PORTS": " ".join(str(p) for p in web_ports), "DATABASE_URL": database_url,
           "CACHE_URL": cache_url, "CELERY_BROKER_URL": broker_url,
           "PROD_EXTRA_ENV": str(extra)}
    subprocess.run(["bash", str(SCRIPT)], env=env, cwd=ROOT, check=True, timeout=timeout,
                   stdout=subprocess.DEVNULL)


def stop(prod_dir: Path) -> None:
    subprocess.run(["bash", str(SCRIPT), "--stop"], cwd=ROOT, timeout=120, check=False,
                   env={**os.environ, "PROD_DIR": str(prod_dir)},
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def environment(prod_dir: Path) -> dict[str, str]:
    """The variables of the topology's env file (later lines win, as when sourced)."""
    out = {}
    for line in (prod_dir / "env").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            out[key.strip()] = value
    return out


def setup_django(prod_dir: Path) -> None:
    """Django in this process, against the topology's database, cache, broker and media."""
    import sys

    env = environment(prod_dir)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # this process's counters are not the app's
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def wait_healthy(port: int, timeout: float = 120, scope: str = "") -> dict:
    import json

    deadline = time.monotonic() + timeout
    last: dict = {}
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz{scope}",
                                        timeout=5) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            last = json.loads(exc.read() or b"{}")
        except OSError:
            pass
        time.sleep(1)
    raise TimeoutError(f"/healthz not 200 within {timeout} s: {last}")


def session_for(user) -> str:
    """A session key for ``user`` as after logging in (and the second factor if required)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.utils.module_loading import import_string
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from workflow.accounts import twofactor

    store = import_string(settings.SESSION_ENGINE + ".SessionStore")()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = next(b for b in settings.AUTHENTICATION_BACKENDS
                                      if "axes" not in b)
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if twofactor.is_required(user):
        device = (TOTPDevice.objects.filter(user=user, confirmed=True).first()
                  or twofactor.enrol_with_secret(user, os.urandom(20)))
        store[DEVICE_ID_SESSION_KEY] = device.persistent_id
    store.create()
    return store.session_key
