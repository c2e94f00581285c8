#!/usr/bin/env bash
# Serve Verdaccio 6.8.0 as the peer registry for the side-by-side benchmark: no uplinks
# (nothing leaves the machine), 127.0.0.1 only, htpasswd auth, `$authenticated` may
# publish and `$all` may read. Runs in the foreground; writes the bench user's token to
# bench/work/verdaccio.token once the server answers.
#
#   bench/serve_verdaccio.sh
#   RESET=1 bench/serve_verdaccio.sh      # empty storage and htpasswd first
#   TOKENS=legacy bench/serve_verdaccio.sh  # Verdaccio's default token format (see below)
#   LOG_LEVEL=http bench/serve_verdaccio.sh # Verdaccio's default: one log line per request
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$ROOT/bench/work"
HOME_DIR="$WORK/verdaccio"
PORT="${PORT:-18273}"
BENCH_USER="${BENCH_USER:-bench}"
BENCH_PASSWORD="${BENCH_PASSWORD:-bench-password-0123}"
# Verdaccio's default ("legacy") tokens carry the encrypted password and are checked
# against htpasswd (bcrypt) on every request: about 10 authenticated requests/s. JWT
# tokens are checked by signature only; they are what Verdaccio recommends, so the
# bench uses them unless TOKENS=legacy.
TOKENS="${TOKENS:-jwt}"
# Verdaccio logs every request at its default level (http); gunicorn in the bench keeps
# no access log, so neither does Verdaccio unless LOG_LEVEL=http.
LOG_LEVEL="${LOG_LEVEL:-warn}"

mkdir -p "$HOME_DIR"
# bench.py --server-pid-file counts the CPU of this script and everything it starts.
echo $$ >"$WORK/verdaccio.pid"
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

if [ "$TOKENS" = "jwt" ]; then
  SECURITY=$'security:\n  api:\n    jwt:\n      sign:\n        expiresIn: 30d\n  web:\n    sign:\n      expiresIn: 1h'
else
  SECURITY="# security: Verdaccio's default (legacy) tokens"
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
$SECURITY
log:
  type: stdout
  format: pretty
  level: $LOG_LEVEL
EOF

node_modules/.bin/verdaccio --config "$HOME_DIR/config.yaml" &
VERDACCIO_PID=$!
trap 'kill "$VERDACCIO_PID" 2>/dev/null; wait "$VERDACCIO_PID" 2>/dev/null' EXIT INT TERM

python3 "$ROOT/bench/bench.py" login --registry "http://127.0.0.1:$PORT/" --user "$BENCH_USER" \
  --password "$BENCH_PASSWORD" --email "$BENCH_USER@example.com" --wait 60 >"$WORK/verdaccio.token"
echo "serve_verdaccio: http://127.0.0.1:$PORT/, token in bench/work/verdaccio.token"
wait "$VERDACCIO_PID"
