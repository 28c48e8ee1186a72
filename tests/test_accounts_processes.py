"""Lockout and the API login throttle hold across worker processes.

Two gunicorn servers (separate processes, as two workers of a deployment) share one
database and nothing else: failures counted by one must lock out at the other, and the
token endpoint's limit must be one limit for both, whatever X-Forwarded-For says.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow
LIMIT = 3
PASSWORD = "Mat-khau-2025-thu"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    var = tmp_path_factory.mktemp("two-processes")
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update({
        "MTTQ_VAR_DIR": str(var), "DATABASE_URL": f"sqlite:///{var / 'db.sqlite3'}",
        "MTTQ_LOGIN_FAILURE_LIMIT": str(LIMIT), "DJANGO_SETTINGS_MODULE": "config.settings",
        "LANGUAGE_CODE": "en",
    })
    if os.environ.get("ACCOUNTS_TEST_CACHE_URL"):
        # Optionally the Redis shared cache instead of the database table.
        env["CACHE_URL"] = os.environ["ACCOUNTS_TEST_CACHE_URL"]
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    subprocess.run([*manage, "shell", "-c",
                    "from workflow.organisation.models import User;"
                    f"User.objects.create_user('khach', password='{PASSWORD}');"
                    f"User.objects.create_user('khach2', password='{PASSWORD}')"],
                   env=env, check=True, cwd=ROOT)
    procs, urls = [], []
    for _ in range(2):
        port = _free_port()
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind",
             f"127.0.0.1:{port}", "--workers", "1", "--log-level", "warning"],
            env=env, cwd=ROOT))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url in urls:
            for _ in range(300):
                try:
                    requests.get(url + "/accounts/login/", timeout=10)
                    break
                except requests.RequestException:  # not listening yet
                    time.sleep(0.1)
            else:
                pytest.fail(f"{url} did not start")
        yield {"urls": urls, "env": env, "manage": manage}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)


def _login(base: str, username: str, password: str, forwarded: str = "") -> int:
    """The status of a login through the page (CSRF cookie and token as a browser does)."""
    browser = requests.Session()
    page = browser.get(base + "/accounts/login/", timeout=30).text
    token = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    headers = {"Referer": base + "/accounts/login/"}
    if forwarded:
        headers["X-Forwarded-For"] = forwarded
    return browser.post(base + "/accounts/login/", data={
        "username": username, "password": password, "csrfmiddlewaretoken": token,
    }, headers=headers, allow_redirects=False, timeout=30).status_code


def _token(base: str, forwarded: str) -> int:
    return requests.post(base + "/api/auth/token/", json={},
                         headers={"X-Forwarded-For": forwarded}, timeout=30).status_code


def _reset(servers) -> None:
    subprocess.run([*servers["manage"], "axes_reset"], env=servers["env"], check=True,
                   cwd=ROOT, capture_output=True)


def test_lockout_per_username_across_two_processes_then_unlock(servers):
    a, b = servers["urls"]
    assert _login(a, "khach", "sai-1") == 200
    assert _login(b, "khach", "sai-2", forwarded="203.0.113.9") == 200
    # The third failure, at the first process, reaches the limit counted by both.
    assert _login(a, "khach", "sai-3") == 429
    assert _login(b, "khach", PASSWORD) == 429
    _reset(servers)
    assert _login(b, "khach", PASSWORD) == 302


def test_lockout_per_address_across_two_processes(servers):
    a, b = servers["urls"]
    _reset(servers)
    for n, base in enumerate((a, b)):
        assert _login(base, f"doan-{n}", "sai", forwarded=f"198.51.100.{n}") == 200
    assert _login(a, "doan-x", "sai") == 429
    # A right password from this address waits too, at either process.
    assert _login(b, "khach2", PASSWORD) == 429
    _reset(servers)
    assert _login(b, "khach2", PASSWORD) == 302


def test_api_login_throttle_is_shared_and_ignores_forwarded_for(servers):
    a, b = servers["urls"]
    codes = [_token((a, b)[n % 2], f"192.0.2.{n}") for n in range(30)]
    # 20 a minute from one address, counted once for both processes.
    assert codes[:20] == [400] * 20, json.dumps(codes)
    assert set(codes[20:]) == {429}, json.dumps(codes)
