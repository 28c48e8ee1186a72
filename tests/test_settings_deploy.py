"""Settings come from the environment with safe defaults; production passes
``check --deploy``; DEBUG is off unless asked for; translations compile without
gettext binaries."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = ROOT / "docs" / "production.env.example"


def production_env() -> dict[str, str]:
    """The documented production environment, with a fresh random secret."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    for line in PRODUCTION_ENV.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _sep, value = line.partition("=")
            env[key.strip()] = value.strip()
    env["SECRET_KEY"] = secrets.token_urlsafe(64)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_passes_with_the_production_environment():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env())
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_fails_without_https_settings():
    env = production_env()
    for key in ("SECURE_SSL_REDIRECT", "SECURE_COOKIES", "SECURE_HSTS_SECONDS"):
        env.pop(key)
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode != 0
    assert "security.W008" in result.stderr + result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = production_env()
    env["SECRET_KEY"] = ""
    env.pop("DJANGO_SECRET_KEY", None)
    result = run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


SHOW = (
    "import os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings');"
    "from django.conf import settings as s;"
    "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER,"
    " repr(s.SEARCH_URL), s.ALLOWED_HOSTS)"
)
CONFIG_VARS = ("DEBUG", "DATABASE_URL", "CELERY_BROKER_URL", "BROKER_URL", "SEARCH_URL",
               "ES_URL", "ALLOWED_HOSTS", "SECRET_KEY", "DJANGO_SECRET_KEY",
               "MTTQ_PRODUCTION", "DJANGO_SETTINGS_MODULE")


def bare_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}


def test_safe_embedded_defaults():
    result = run(["-c", SHOW], bare_env())
    assert result.returncode == 0, result.stderr
    debug, engine, eager, search, hosts = result.stdout.split(" ", 4)
    assert debug == "False"
    assert engine.endswith("sqlite3")
    assert eager == "True"  # no broker: tasks run in-process
    assert search == "''"  # embedded search index
    assert "127.0.0.1" in hosts


@pytest.mark.parametrize("value, expected", [("1", "True"), ("true", "True"), ("0", "False"),
                                             ("", "False")])
def test_debug_only_when_asked_for(value, expected):
    env = bare_env()
    env["DEBUG"] = value
    result = run(["-c", SHOW], env)
    assert result.stdout.split(" ", 1)[0] == expected


def test_environment_selects_the_servers():
    env = bare_env()
    env.update(
        DATABASE_URL="postgres://mttq:pw@db.example:5432/mttq",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        SEARCH_URL="http://127.0.0.1:9200",
        ALLOWED_HOSTS="a.example,b.example",
    )
    result = run(["-c", SHOW], env)
    assert result.returncode == 0, result.stderr
    debug, engine, eager, search, hosts = result.stdout.split(" ", 4)
    assert engine.endswith("postgresql")
    assert eager == "False"
    assert search == "'http://127.0.0.1:9200'"
    assert "b.example" in hosts


def test_compile_translations_without_gettext(tmp_path, settings):
    from django.core.management import call_command

    po = tmp_path / "vi" / "LC_MESSAGES" / "django.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Issue"\nmsgstr "Ban hành"\n\n#, fuzzy\nmsgid "Guess"\nmsgstr "Đoán"\n',
        encoding="utf-8",
    )
    settings.LOCALE_PATHS = [tmp_path]
    call_command("compile_translations", verbosity=0)
    import gettext

    with open(po.with_suffix(".mo"), "rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    assert catalogue.gettext("Issue") == "Ban hành"
    assert catalogue.gettext("Guess") == "Guess"  # fuzzy entries are left out
