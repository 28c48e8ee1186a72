#!/usr/bin/env bash
# Quick start: create the environment, install, migrate, load the demo data and
# serve the app on http://127.0.0.1:8000 with the embedded defaults (SQLite,
# embedded search index; no other server needed). Background tasks (indexing, OCR of
# scans) run in one Celery worker started here on a file queue in var/celery-queue.
#
#   bash scripts/run.sh            # HOST / PORT / WEB_WORKERS may be set
#   SKIP_DEMO=1 bash scripts/run.sh   # do not load demo data
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
# var/ (database, media, index, static) is not in git: a fresh clone lacks it.
mkdir -p "${MTTQ_VAR_DIR:-var}"

# System packages the app needs at run time (others may add to this list).
# tesseract-ocr + tesseract-ocr-vie read scanned PDFs and pictures (OCR, in the worker);
# libreoffice-writer-nogui renders uploaded DOCX to PDF (inside bubblewrap).
RUN_APT_PACKAGES="fonts-liberation fonts-liberation2 poppler-utils tesseract-ocr tesseract-ocr-vie bubblewrap libreoffice-writer-nogui"

HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
WEB_WORKERS="${WEB_WORKERS:-2}"

# shellcheck disable=SC2086
apt_install $RUN_APT_PACKAGES || warn "could not install: $RUN_APT_PACKAGES (continuing)"
ensure_venv
pip_install .
build_assets

PY=.venv/bin/python
log "Compiling translations"
$PY manage.py compile_translations -v0
log "Migrating the database"
$PY manage.py migrate --noinput -v0
# Key secrets of earlier releases were encrypted with a key derived from SECRET_KEY.
$PY manage.py rotate_signing_secrets -v0 >/dev/null
$PY manage.py collectstatic --noinput -v0
if [ -z "${SKIP_DEMO:-}" ]; then
    log "Loading demo data"
    $PY manage.py seed_demo
else
    $PY manage.py load_document_types
fi

# The background worker (with beat: periodic re-index and OCR catch-up). A file queue
# needs no broker server; set CELERY_BROKER_URL (e.g. redis://) to use a real broker.
export CELERY_BROKER_URL="${CELERY_BROKER_URL:-filesystem://}"
if [ -z "${SKIP_WORKER:-}" ]; then
    log "Starting the background worker (Celery, $CELERY_BROKER_URL)"
    .venv/bin/celery -A config worker --beat --concurrency 1 --loglevel WARNING -Q celery,indexing \
        --schedule "${MTTQ_VAR_DIR:-var}/celerybeat-schedule" &
    WORKER_PID=$!
    trap 'kill "$WORKER_PID" 2>/dev/null || true' EXIT INT TERM
fi

log "Serving on http://$HOST:$PORT/ (Ctrl+C to stop)"
# A real WSGI server with DEBUG off; WhiteNoise serves the collected static files.
.venv/bin/gunicorn config.wsgi:application \
    --bind "$HOST:$PORT" \
    --workers "$WEB_WORKERS" \
    --threads 4 \
    --timeout 120 \
    --access-logfile - \
    --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}"
