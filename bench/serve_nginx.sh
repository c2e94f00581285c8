#!/usr/bin/env bash
# Run bench/nginx.conf in the foreground on 127.0.0.1:18080, in front of the gunicorn
# started by `MIRROR=1 GATEHOUSE_URL=http://127.0.0.1:18080/ TRUST_X_FORWARDED_FOR=true
# bench/serve_gatehouse.sh`. Prefix (pid, temp files, mirror) is bench/work/.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$ROOT/bench/work"
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  echo "nginx is not installed: apt-get install -y nginx" >&2
  exit 1
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
mkdir -p "$WORK/nginx" "$WORK/mirror"
echo $$ >"$WORK/nginx.pid"  # exec keeps the pid: this is nginx's master (see bench.py --server-pid-file)
"$NGINX" -t -q -p "$WORK/" -c "$ROOT/bench/nginx.conf"
exec "$NGINX" -p "$WORK/" -c "$ROOT/bench/nginx.conf"
