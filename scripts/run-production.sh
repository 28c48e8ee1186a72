#!/usr/bin/env bash
# The production topology on one machine, run for real: nginx in front of two gunicorn
# "nodes", two Celery workers on separate queues (indexing; signing, deliveries and the
# rest), beat, one shared media folder; against PostgreSQL and Redis. The same parts and
# settings as deploy/ (systemd units, nginx site), under a user-level supervisord with
# every file in $PROD_DIR (default var/production): configs, logs, media, index.
#
#   bash scripts/run-production.sh            # start (or restart), wait for /healthz
#   bash scripts/run-production.sh --status   # what runs, /healthz
#   bash scripts/run-production.sh --stop     # stop everything it started
#
# Environment (defaults in brackets):
#   DATABASE_URL [postgres://postgres@127.0.0.1:5432/mttq_prod]  created when missing
#   CACHE_URL [redis://127.0.0.1:6379/1]   CELERY_BROKER_URL [redis://127.0.0.1:6379/0]
#   PROD_DIR [var/production]  PROD_PORT [8480]  WEB_PORTS ["8481 8482"]
#   WEB_WORKERS [2] WEB_THREADS [4] per node; PROD_EXTRA_ENV: a file of more KEY=value lines
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

PROD_DIR="$(mkdir -p "${PROD_DIR:-var/production}" && cd "${PROD_DIR:-var/production}" && pwd)"
PROD_PORT="${PROD_PORT:-8480}"
WEB_PORTS="${WEB_PORTS:-8481 8482}"
SOCK="$PROD_DIR/supervisor.sock"
CTL=(supervisorctl -c "$PROD_DIR/supervisord.conf")
VENV="$ROOT/.venv/bin"

command -v supervisord >/dev/null || apt_install supervisor || die "supervisor is needed"
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || apt_install nginx || die "nginx is needed"
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

running() { [ -S "$SOCK" ] && "${CTL[@]}" pid >/dev/null 2>&1; }

# supervisord stops its programs (each gets TERM, then KILL after stopwaitsecs) and
# then exits: wait for that, so ports and files are free when this returns.
shutdown_all() {
    local pid
    pid="$(cat "$PROD_DIR/supervisord.pid" 2>/dev/null || true)"
    "${CTL[@]}" shutdown >/dev/null || true
    for _ in $(seq 1 240); do
        { [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; } || break
        sleep 0.5
    done
}

health() {
    curl -s -m 5 "http://127.0.0.1:$PROD_PORT/healthz" || echo '{"status": "unreachable"}'
}

case "${1:-}" in
    --stop)
        if running; then
            log "Stopping (supervisord in $PROD_DIR)"
            shutdown_all
        else
            log "Not running"
        fi
        exit 0 ;;
    --status)
        running || { log "Not running"; exit 3; }
        "${CTL[@]}" status || true
        health; echo
        exit 0 ;;
    "") ;;
    *) die "usage: $0 [--stop|--status]" ;;
esac

# --- environment: the documented production settings, pointed at this folder ----------------
mkdir -p "$PROD_DIR"/{logs,media,static,metrics,nginx/tmp}
ENV_FILE="$PROD_DIR/env"
SECRET_FILE="$PROD_DIR/secret_key"
[ -s "$SECRET_FILE" ] || (umask 077; "$VENV/python" -c \
    'import secrets; print(secrets.token_urlsafe(64))' > "$SECRET_FILE")
umask 027
cat > "$ENV_FILE" <<EOF
# Written by scripts/run-production.sh; PROD_EXTRA_ENV adds or overrides lines.
MTTQ_PRODUCTION=1
DEBUG=0
SECRET_KEY=$(cat "$SECRET_FILE")
ALLOWED_HOSTS=127.0.0.1,localhost
MTTQ_VAR_DIR=$PROD_DIR
MEDIA_ROOT=$PROD_DIR/media
STATIC_ROOT=$PROD_DIR/static
DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/mttq_prod}
DB_CONN_MAX_AGE=60
DB_CONN_HEALTH_CHECKS=1
CACHE_URL=${CACHE_URL:-redis://127.0.0.1:6379/1}
CACHE_KEY_PREFIX=mttq-$(basename "$PROD_DIR")
CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}
SEARCH_URL=
MTTQ_X_ACCEL=1
MTTQ_TRUSTED_PROXIES=1
PROMETHEUS_MULTIPROC_DIR=$PROD_DIR/metrics
LOG_LEVEL=WARNING
EOF
[ -n "${PROD_EXTRA_ENV:-}" ] && cat "$PROD_EXTRA_ENV" >> "$ENV_FILE"
set -a
# shellcheck disable=SC1090
. "$ENV_FILE"
set +a

if running; then
    log "Already running: restarting"
    shutdown_all
fi
# Counters of processes that are gone would add up forever.
rm -f "$PROD_DIR"/metrics/*.db

# --- database, static files ----------------------------------------------------------------
if [[ "$DATABASE_URL" == postgres* ]]; then
    "$VENV/python" - <<'EOF'
import os
import psycopg
url = os.environ["DATABASE_URL"]
name = url.rsplit("/", 1)[1].split("?")[0]
with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
        conn.execute(f'CREATE DATABASE "{name}"')
EOF
fi
log "Migrating, collecting static files"
"$VENV/python" manage.py compile_translations -v0
"$VENV/python" manage.py migrate --noinput -v0
"$VENV/python" manage.py collectstatic --noinput -v0
"$VENV/python" manage.py load_document_types >/dev/null

# --- nginx: the site's locations from deploy/, on loopback without TLS ----------------------
NG="$PROD_DIR/nginx"
sed -e "s#/var/lib/mttq/staticfiles/#$PROD_DIR/static/#" \
    -e "s#/var/lib/mttq/media/#$PROD_DIR/media/#" \
    -e "s#snippets/mttq-proxy.conf#$NG/mttq-proxy.conf#" \
    deploy/nginx/mttq-locations.conf > "$NG/mttq-locations.conf"
cp deploy/nginx/mttq-proxy.conf "$NG/mttq-proxy.conf"
UPSTREAMS=""
for port in $WEB_PORTS; do
    UPSTREAMS+="        server 127.0.0.1:$port max_fails=2 fail_timeout=5s;"$'\n'
done
# Started as root, nginx's workers take this user: the one owning the media files.
USER_LINE=""
[ "$(id -u)" -eq 0 ] && USER_LINE="user $(id -un) $(id -gn);"
cat > "$NG/nginx.conf" <<EOF
# Written by scripts/run-production.sh (run under supervisord: daemon off).
daemon off;
$USER_LINE
worker_processes 2;
pid $NG/nginx.pid;
error_log $PROD_DIR/logs/nginx-error.log warn;
events { worker_connections 2048; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    server_tokens off;
    client_body_temp_path $NG/tmp/body;
    proxy_temp_path $NG/tmp/proxy;
    fastcgi_temp_path $NG/tmp/fastcgi;
    uwsgi_temp_path $NG/tmp/uwsgi;
    scgi_temp_path $NG/tmp/scgi;
    log_format timed '\$remote_addr [\$time_local] "\$request" \$status \$body_bytes_sent '
                     'rt=\$request_time up=\$upstream_addr ut=\$upstream_response_time';
    access_log $PROD_DIR/logs/nginx-access.log timed;
    upstream mttq_web {
$UPSTREAMS        keepalive 32;
    }
    server {
        listen 127.0.0.1:$PROD_PORT;
        server_name _;
        include $NG/mttq-locations.conf;
    }
}
EOF
"$NGINX" -t -q -p "$NG" -c "$NG/nginx.conf" -g "error_log $PROD_DIR/logs/nginx-error.log;" \
    2>&1 | grep -v "^nginx: \[alert\] could not open error log" || true

# --- supervisord: nginx, the web nodes, the workers, beat -----------------------------------
SV="$PROD_DIR/supervisord.conf"
program() {  # name, command
    cat <<EOF

[program:$1]
command=$2
directory=$ROOT
autorestart=true
startsecs=2
startretries=100
stopasgroup=true
killasgroup=true
stopwaitsecs=30
redirect_stderr=true
stdout_logfile=$PROD_DIR/logs/$1.log
stdout_logfile_maxbytes=20MB
stdout_logfile_backups=2
EOF
}
{
    cat <<EOF
; Written by scripts/run-production.sh. Every program inherits the environment of $ENV_FILE.
[unix_http_server]
file=$SOCK
chmod=0700

[supervisord]
logfile=$PROD_DIR/logs/supervisord.log
pidfile=$PROD_DIR/supervisord.pid
childlogdir=$PROD_DIR/logs

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://$SOCK
EOF
    program nginx "$NGINX -p $NG -c $NG/nginx.conf"
    n=0
    for port in $WEB_PORTS; do
        n=$((n + 1))
        program "web$n" "$VENV/gunicorn config.wsgi:application --bind 127.0.0.1:$port \
--workers ${WEB_WORKERS:-2} --threads ${WEB_THREADS:-4} --timeout 120 --graceful-timeout 20 \
--forwarded-allow-ips 127.0.0.1 --access-logfile - --access-logformat '%%(h)s %%(r)s %%(s)s %%(M)sms'"
    done
    program worker-indexing "$VENV/celery -A config worker -Q indexing -n indexing@%%h \
--concurrency 1 --prefetch-multiplier 1 -O fair --without-gossip --without-mingle -l WARNING"
    program worker-default "$VENV/celery -A config worker -Q celery -n default@%%h \
--concurrency 2 --prefetch-multiplier 1 -O fair --without-gossip --without-mingle -l WARNING"
    program beat "$VENV/celery -A config beat -l WARNING --schedule $PROD_DIR/celerybeat-schedule"
} > "$SV"

log "Starting supervisord ($SV)"
supervisord -c "$SV"
for _ in $(seq 1 120); do
    code="$(curl -s -o /dev/null -w '%{http_code}' -m 3 "http://127.0.0.1:$PROD_PORT/healthz?scope=web" || true)"
    [ "$code" = "200" ] && break
    sleep 0.5
done
[ "$code" = "200" ] || { "${CTL[@]}" status || true; die "no healthy web node; see $PROD_DIR/logs/"; }
"${CTL[@]}" status
cat >&2 <<EOF

Serving on http://127.0.0.1:$PROD_PORT/ (nginx -> gunicorn on ${WEB_PORTS// /, })
  health:   curl http://127.0.0.1:$PROD_PORT/healthz   (workers report within ${MTTQ_HEARTBEAT_SECONDS:-30} s)
  metrics:  curl http://127.0.0.1:$PROD_PORT/metrics
  logs:     $PROD_DIR/logs/   control: supervisorctl -c $SV status|restart web1|...
  stop:     bash scripts/run-production.sh --stop
  no demo data: create an administrator with
            (set -a; . $ENV_FILE; .venv/bin/python manage.py createsuperuser)
EOF
