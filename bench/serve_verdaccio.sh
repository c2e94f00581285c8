#!/usr/bin/env bash
# Serve Verdaccio 6.8.0 as the peer registry for the side-by-side benchmark: no uplinks
# (nothing leaves the machine), 127.0.0.1 only, htpasswd auth, `$authenticated` may
# publish and `$all` may read. Runs in the foreground; writes the bench user's token to
# bench/work/verdaccio.token once the server answers.
#
#   bench/serve_verdaccio.sh
#   RESET=1 bench/serve_verdaccio.sh      # empty storage and htpasswd first
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$ROOT/bench/work"
HOME_DIR="$WORK/verdaccio"
PORT="${PORT:-18273}"
BENCH_USER="${BENCH_USER:-bench}"
BENCH_PASSWORD="${BENCH_PASSWORD:-bench-password-0123}"

mkdir -p "$HOME_DIR"
cd "$HOME_DIR"

if [ ! -x node_modules/.bin/verdaccio ]; then
  # verdaccio 6.8.0 resolves node-fetch to a version that breaks on Node 20; 2.7.0 works.
  cat >package.json <<'EOF'
{
  "name": "gatehouse-bench-verdaccio",
  "private": true,
  "dependencies": { "verdaccio": "6.8.0" },
  "overrides": { "node-fetch": "2.7.0" }
}
EOF
  npm install --no-audit --no-fund
fi

if [ "${RESET:-0}" = "1" ]; then
  echo "serve_verdaccio: emptying storage and htpasswd"
  rm -rf storage htpasswd "$WORK/verdaccio.token"
fi

cat >config.yaml <<EOF
# Written by bench/serve_verdaccio.sh; edits are overwritten.
storage: ./storage
listen: 127.0.0.1:$PORT
web:
  enable: false
auth:
  htpasswd:
    file: ./htpasswd
    max_users: 1000
# No uplinks: every package is local, nothing is fetched from the internet.
uplinks: {}
packages:
  '@*/*':
    access: \$all
    publish: \$authenticated
    unpublish: \$authenticated
  '**':
    access: \$all
    publish: \$authenticated
    unpublish: \$authenticated
server:
  keepAliveTimeout: 60
max_body_size: 100mb
# The audit middleware proxies to registry.npmjs.org; the bench installs with --no-audit anyway.
middlewares:
  audit:
    enabled: false
# http-level logging of every request would be a cost gunicorn does not pay (no access log).
log:
  type: stdout
  format: pretty
  level: warn
EOF

node_modules/.bin/verdaccio --config "$HOME_DIR/config.yaml" &
VERDACCIO_PID=$!
trap 'kill "$VERDACCIO_PID" 2>/dev/null; wait "$VERDACCIO_PID" 2>/dev/null' EXIT INT TERM

python3 "$ROOT/bench/bench.py" login --registry "http://127.0.0.1:$PORT/" --user "$BENCH_USER" \
  --password "$BENCH_PASSWORD" --email "$BENCH_USER@example.com" --wait 60 >"$WORK/verdaccio.token"
echo "serve_verdaccio: http://127.0.0.1:$PORT/, token in bench/work/verdaccio.token"
wait "$VERDACCIO_PID"
