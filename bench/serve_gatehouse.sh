#!/usr/bin/env bash
# Serve Gatehouse for benchmarking the way production runs it: gunicorn, PostgreSQL,
# Redis cache, DEBUG off, hashed static files. Runs in the foreground until Ctrl-C
# (or until its process group is killed); writes the bench user's token to
# bench/work/gatehouse.token once the server answers.
#
#   bench/serve_gatehouse.sh                       # defaults below
#   RESET=1 bench/serve_gatehouse.sh               # drop the bench database and files first
#   GUNICORN_ARGS="--workers 4" bench/serve_gatehouse.sh
#   MIRROR=1 bench/serve_gatehouse.sh              # also mirror public packages for nginx
#
# Everything it creates lives in the gatehouse_bench database and under bench/work/.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$ROOT/bench/work"
PY="$ROOT/.venv/bin/python"

PORT="${PORT:-18100}"
DB_NAME="${DB_NAME:-gatehouse_bench}"
BENCH_USER="${BENCH_USER:-bench}"
BENCH_PASSWORD="${BENCH_PASSWORD:-bench-password-0123}"
# gthread keeps client connections alive and overlaps DB waits; see RESULTS.md for the
# worker/thread combinations tried on a 2-core machine.
GUNICORN_ARGS="${GUNICORN_ARGS:---workers 2 --threads 8 --worker-class gthread}"

export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB_NAME"
export SECRET_KEY="${SECRET_KEY:-bench-only-not-a-secret-0123456789abcdefghijklmnop}"
export GATEHOUSE_URL="${GATEHOUSE_URL:-http://127.0.0.1:$PORT/}"
export CACHE_URL="${CACHE_URL:-redis://127.0.0.1:6379/3}"
# WebAuthn refuses a plain-http IP origin; the bench never uses the portal, so any
# localhost origin satisfies the system check.
export GATEHOUSE_WEBAUTHN_ORIGINS="${GATEHOUSE_WEBAUTHN_ORIGINS:-http://localhost:$PORT}"
export GATEHOUSE_VAR_DIR="$WORK/gatehouse-var"
export LOG_LEVEL="${LOG_LEVEL:-WARNING}"
export DEBUG=false
if [ "${MIRROR:-0}" = "1" ]; then
  export GATEHOUSE_MIRROR_DIR="${GATEHOUSE_MIRROR_DIR:-$WORK/mirror}"
  mkdir -p "$GATEHOUSE_MIRROR_DIR"
fi

cd "$ROOT"
mkdir -p "$WORK"
# bench.py --server-pid-file counts the CPU of this script and everything it starts.
echo $$ >"$WORK/gatehouse.pid"

if [ "${RESET:-0}" = "1" ]; then
  echo "serve_gatehouse: dropping database $DB_NAME and $GATEHOUSE_VAR_DIR"
  dropdb -h 127.0.0.1 -U postgres --if-exists "$DB_NAME"
  rm -rf "$GATEHOUSE_VAR_DIR" "$WORK/gatehouse.token"
  [ -n "${GATEHOUSE_MIRROR_DIR:-}" ] && rm -rf "${GATEHOUSE_MIRROR_DIR:?}"/*
fi
if ! psql -h 127.0.0.1 -U postgres -lqt | cut -d'|' -f1 | grep -qw "$DB_NAME"; then
  createdb -h 127.0.0.1 -U postgres "$DB_NAME"
fi

"$PY" manage.py migrate --noinput -v 0
# Production serves hashed static files (GATEHOUSE_MANIFEST_STATIC defaults on without DEBUG).
"$PY" manage.py collectstatic --noinput -v 0
DJANGO_SUPERUSER_PASSWORD="$BENCH_PASSWORD" "$PY" manage.py createsuperuser --noinput \
  --username "$BENCH_USER" --email "$BENCH_USER@example.com" >/dev/null 2>&1 || true

# Which code is being measured (the tree changes under a running bench otherwise unnoticed):
# a digest of the Python sources and the newest file, for RESULTS.md and bench.py --note.
CODE_DIGEST=$(find portal registry accounts -name '*.py' -print0 | sort -z | xargs -0 cat | sha256sum | cut -c1-12)
NEWEST=$(find portal registry accounts -name '*.py' -printf '%TY-%Tm-%Td %TH:%TM %p\n' | sort | tail -n1)
echo "gatehouse code $CODE_DIGEST, newest file $NEWEST, gunicorn $GUNICORN_ARGS" >"$WORK/gatehouse.code"

"$ROOT/.venv/bin/gunicorn" portal.wsgi --bind "127.0.0.1:$PORT" $GUNICORN_ARGS \
  --log-level warning --timeout 120 --logger-class portal.gunicorn_logging.RedactingLogger &
GUNICORN_PID=$!
trap 'kill "$GUNICORN_PID" 2>/dev/null; wait "$GUNICORN_PID" 2>/dev/null' EXIT INT TERM

# Log in the way `npm adduser --auth-type=legacy` does and keep the token for bench.py.
"$PY" "$ROOT/bench/bench.py" login --registry "$GATEHOUSE_URL" --user "$BENCH_USER" \
  --password "$BENCH_PASSWORD" --wait 60 >"$WORK/gatehouse.token"
echo "serve_gatehouse: $GATEHOUSE_URL (gunicorn $GUNICORN_ARGS), token in bench/work/gatehouse.token"
wait "$GUNICORN_PID"
