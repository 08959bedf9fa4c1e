#!/usr/bin/env bash
# The load test on this machine: a scratch PostgreSQL database with the demo study, gunicorn
# with the production settings, a Celery worker, and 20 simulated researchers for 60 seconds.
#   deploy/loadtest.sh [--think 0.5] [--max-requests N]   (extra arguments go to loadtest)
# Needs PostgreSQL (PG_URL, default postgres://postgres@127.0.0.1:5432) and Redis on this machine.
# Loopback only; the database is dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
DB=casestudy_loadtest_$$
PORT=${PORT:-$(.venv/bin/python -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")}
WORK=$(mktemp -d)
export DATABASE_URL="$PG_URL/$DB"
export SECRET_KEY=$(.venv/bin/python -c "import secrets; print(secrets.token_urlsafe(50))")
export ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=0 SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0
export SECURE_HSTS_SECONDS=0 AXES_ENABLED=0 LOG_LEVEL=WARNING GUNICORN_ACCESS_LOG=/dev/null
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/13} CELERY_QUEUE=casestudy-loadtest-$$
export MEDIA_ROOT=$WORK/media STATIC_ROOT=$WORK/static GUNICORN_BIND=127.0.0.1:$PORT
export WEB_CONCURRENCY=${WEB_CONCURRENCY:-$(( $(nproc) * 2 + 1 ))}
export DEMO_PASSWORD_FILE=$WORK/demo-passwords

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  .venv/bin/python - <<PY || true
import psycopg
with psycopg.connect("$PG_URL/postgres", autocommit=True) as c:
    c.execute('DROP DATABASE IF EXISTS "$DB" WITH (FORCE)')
PY
  rm -rf "$WORK"
}
trap cleanup EXIT

.venv/bin/python - <<PY
import psycopg
with psycopg.connect("$PG_URL/postgres", autocommit=True) as c:
    c.execute('CREATE DATABASE "$DB"')
PY
echo "== scratch database $DB: migrate, demo study, static files"
.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py load_demo >/dev/null
.venv/bin/python manage.py collectstatic --noinput -v0
echo "== gunicorn ($WEB_CONCURRENCY workers) on 127.0.0.1:$PORT and a Celery worker"
.venv/bin/gunicorn casestudy.wsgi --config deploy/gunicorn.conf.py >"$WORK/gunicorn.log" 2>&1 &
pids+=($!)
.venv/bin/celery -A casestudy worker --concurrency=1 --loglevel=WARNING >"$WORK/worker.log" 2>&1 &
pids+=($!)
for _ in $(seq 60); do
  curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  sleep 0.5
done
kill -0 "${pids[0]}" || { echo "gunicorn did not start:" >&2; cat "$WORK/gunicorn.log" >&2; exit 1; }
echo "== load"
.venv/bin/python manage.py loadtest --url "http://127.0.0.1:$PORT" --users "${USERS:-20}" --seconds 60 "$@"
