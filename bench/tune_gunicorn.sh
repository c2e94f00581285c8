#!/usr/bin/env bash
# Try several gunicorn worker/thread layouts against the same data and print the read
# figures of each, to pick the layout serve_gatehouse.sh uses by default.
#
#   bench/tune_gunicorn.sh RUN_ID [PACKAGES DEPS]
#
# RUN_ID is the run id of an earlier `bench.py` run against Gatehouse on this database
# (its packages are read, nothing is published). Results: bench/work/tune-<n>.json.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$ROOT/bench/work"
RUN_ID="${1:?usage: tune_gunicorn.sh RUN_ID [PACKAGES DEPS]}"
PACKAGES="${2:-200}"
DEPS="${3:-50}"
PORT="${PORT:-18100}"

LAYOUTS=(
  "--workers 2 --threads 8 --worker-class gthread"
  "--workers 3 --threads 4 --worker-class gthread"
  "--workers 4 --threads 2 --worker-class gthread"
  "--workers 4 --worker-class sync"
  "--workers 6 --worker-class sync"
)

n=0
for layout in "${LAYOUTS[@]}"; do
  n=$((n + 1))
  rm -f "$WORK/gatehouse.token"
  GUNICORN_ARGS="$layout" PORT="$PORT" setsid "$ROOT/bench/serve_gatehouse.sh" \
    >"$WORK/tune-$n.log" 2>&1 &
  server=$!
  for _ in $(seq 120); do
    [ -s "$WORK/gatehouse.token" ] && break
    sleep 0.5
  done
  echo "== layout $n: $layout"
  python3 "$ROOT/bench/bench.py" run --registry "http://127.0.0.1:$PORT/" \
    --token-file "$WORK/gatehouse.token" --label "tune-$n" --out "$WORK/tune-$n.json" \
    --run-id "$RUN_ID" --packages "$PACKAGES" --deps "$DEPS" \
    --skip-publish --skip-install --skip-versions \
    --server-pid-file "$WORK/gatehouse.pid" --db-name "${DB_NAME:-gatehouse_bench}" \
    --note "$(cat "$WORK/gatehouse.code")" \
    --concurrency "${CONCURRENCY:-16,64}" --duration "${DURATION:-3}" --repeat "${REPEAT:-3}" \
    2>&1 | grep -E 'req/s' || true
  kill -- "-$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  sleep 1
done
python3 "$ROOT/bench/bench.py" compare "$WORK"/tune-[0-9]*.json
