#!/usr/bin/env bash
# Install what the tests need and run the whole suite: lint, deploy check,
# migrations check, pytest on SQLite, then pytest on PostgreSQL.
#
# Environment:
#   PG_DATABASE_URL  PostgreSQL for the second run (default below; pytest-django
#                    creates and drops the test database itself)
#   CI=true          PostgreSQL is then required: the run fails when it is unreachable
#   PYTEST_WORKERS   parallel pytest workers for the non-browser tests (default 2)
#   PYTEST_ARGS      extra arguments for every pytest call
#   PG_BROWSER=1     also run the browser tests on PostgreSQL (by default they run on
#                    SQLite only: they test pages, and the PostgreSQL run tests the data)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
# var/ (database, media, index, static) is not in git: a fresh clone lacks it.
mkdir -p "${MTTQ_VAR_DIR:-var}"

# System packages the suite needs (browser, PDF tools, HSM, fonts, OCR, office
# conversion). Add to this list rather than installing elsewhere.
APT_PACKAGES="chromium poppler-utils qpdf softhsm2 fonts-liberation fonts-liberation2 gettext opensc tesseract-ocr tesseract-ocr-vie libreoffice-writer-nogui bubblewrap"

PG_DATABASE_URL="${PG_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/mttq_test}"
PYTEST_WORKERS="${PYTEST_WORKERS:-2}"
PYTEST_ARGS="${PYTEST_ARGS:-}"
CI="${CI:-}"
STARTED=$SECONDS

step() { log "$* (+$((SECONDS - STARTED))s)"; }

# pytest exits with 5 when a selection holds no tests: that is not a failure here.
run_pytest() {
    local rc=0
    # shellcheck disable=SC2086
    .venv/bin/python -m pytest -p no:cacheprovider --durations=10 $PYTEST_ARGS "$@" || rc=$?
    if [ "$rc" -eq 5 ]; then
        rc=0
    fi
    return "$rc"
}

# A failing suite does not stop the script: the other database still runs, so one CI
# run reports everything; the exit status says whether anything failed.
FAILED=""

# The suite on one database: parallel for everything but the browser tests, which
# drive one Chromium against a live server and run on their own. Tests marked
# ``postgres`` skip themselves on SQLite.
run_suite() {
    local label="$1" browser="${2:-1}"
    step "pytest on $label (-n $PYTEST_WORKERS)"
    if [ "$PYTEST_WORKERS" -gt 1 ]; then
        run_pytest -n "$PYTEST_WORKERS" -m "not browser" || FAILED="$FAILED $label"
    else
        run_pytest -m "not browser" || FAILED="$FAILED $label"
    fi
    if [ "$browser" = 1 ]; then
        step "pytest on $label: browser tests"
        run_pytest -m browser || FAILED="$FAILED $label-browser"
    fi
}

postgres_reachable() {
    PG_URL="$PG_DATABASE_URL" .venv/bin/python - <<'EOF'
import os
import sys

import dj_database_url
import psycopg

c = dj_database_url.parse(os.environ["PG_URL"])
try:
    psycopg.connect(
        host=c["HOST"] or None, port=c["PORT"] or None, user=c["USER"] or None,
        password=c["PASSWORD"] or None, dbname="postgres", connect_timeout=3,
    ).close()
except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
    print(f"PostgreSQL not reachable: {exc}", file=sys.stderr)
    sys.exit(1)
EOF
}

# The documented production environment (docs/production.env.example) with a fresh
# random secret: `check --deploy` must pass with it, warnings included.
deploy_check() {
    local secret
    secret="$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(64))')"
    (
        set -a
        # shellcheck disable=SC1091
        . docs/production.env.example
        SECRET_KEY="$secret"
        set +a
        .venv/bin/python manage.py check --deploy --fail-level WARNING
    )
}

step "System packages"
# shellcheck disable=SC2086
apt_install $APT_PACKAGES || {
    [ -n "$CI" ] && die "could not install the system packages: $APT_PACKAGES"
    warn "could not install some of: $APT_PACKAGES (tests needing them will fail or skip)"
}
ensure_venv
pip_install ".[test]"
build_assets

step "Translations"
.venv/bin/python manage.py compile_translations -v0

step "ruff"
.venv/bin/ruff check .

step "manage.py check --deploy (production environment)"
deploy_check

step "Migrations are up to date"
.venv/bin/python manage.py makemigrations --check --dry-run
# Static files collected once, so pages under test (DEBUG off) find them through WhiteNoise.
.venv/bin/python manage.py collectstatic --noinput -v0

# The SQLite run uses a throwaway database file; pytest-django makes its own test DB.
DATABASE_URL="sqlite:///$(mktemp -d)/db.sqlite3" run_suite SQLite

if postgres_reachable; then
    DATABASE_URL="$PG_DATABASE_URL" run_suite PostgreSQL "${PG_BROWSER:-0}"
elif [ -n "$CI" ] && [ "$CI" != "false" ]; then
    die "PostgreSQL is required in CI ($PG_DATABASE_URL)."
else
    warn "PostgreSQL not reachable at $PG_DATABASE_URL: skipped the PostgreSQL run."
fi

if [ -n "$FAILED" ]; then
    die "tests failed:$FAILED (+$((SECONDS - STARTED))s)"
fi
step "All checks passed"
