#!/bin/sh
# The OpenResty example in one command: starts personalize-local, sets up
# a campaign and an event tracker on data/small, then runs nginx with the
# example configuration in the foreground (Ctrl-C stops both).
#
#   examples/openresty/run.sh            # listens on 127.0.0.1:8080 (a free port if 8080 is taken)
#   PORT=9000 ENGINE_PORT=9642 examples/openresty/run.sh
#
# personalize-local listens on a free port unless ENGINE_PORT names one
# (8642, the port the README starts it on, may be in use by your own).
# Run as root (from a clone under a private directory such as /root), nginx
# would switch its workers to `nobody`, who cannot read the clone: the
# workers then run as root too (`user root root;`). As any other user they
# run as that user, who can read the clone.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$ROOT"
ENGINE_PORT=${ENGINE_PORT:-0}
WORK=${WORK:-${TMPDIR:-/tmp}/lua-personalize-openresty}
NGINX=${NGINX:-/usr/sbin/nginx}

[ -f data/small/items.csv ] || lua5.4 tools/gen_small_data.lua data/small
[ -f build/lua5.4/personalize/core.so ] || make
[ -f build/luajit/personalize/core.so ] || make LUA=luajit

# 127.0.0.1:$1 free? (a connect that fails means nobody listens)
port_free() {
  lua5.4 -e "
    local s = require('socket').tcp(); s:settimeout(0.5)
    os.exit(s:connect('127.0.0.1', $1) and 1 or 0)"
}
free_port() {
  lua5.4 -e "local s = assert(require('socket').bind('127.0.0.1', 0)); print(select(2, s:getsockname())); s:close()"
}
if [ -z "${PORT:-}" ]; then
  if port_free 8080; then PORT=8080; else PORT=$(free_port); fi
fi

rm -rf "$WORK"
mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp"
out=$(bin/personalize-local start --data "$WORK/engine" --port "$ENGINE_PORT" \
  --timings pending=0.1,in_progress=0.2)
stop() { bin/personalize-local stop --data "$WORK/engine" >/dev/null 2>&1 || true; }
trap stop EXIT INT TERM

AWS_ENDPOINT_URL=$(printf '%s\n' "$out" | sed -n 's/^ *endpoint: *//p')
export AWS_ENDPOINT_URL AWS_REGION=us-east-1
AWS_ACCESS_KEY_ID=$(printf '%s\n' "$out" | sed -n 's/.*aws_access_key_id: *//p')
AWS_SECRET_ACCESS_KEY=$(printf '%s\n' "$out" | sed -n 's/.*aws_secret_access_key: *//p')
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY

echo "personalize-local: $AWS_ENDPOINT_URL"
echo "setting up a campaign on data/small ..."
settings=$(LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="build/lua5.4/?.so;;" \
  lua5.4 examples/openresty/setup.lua data/small)
eval "$settings"
export CAMPAIGN_ARN TRACKING_ID ITEMS_CSV="$ROOT/data/small/items.csv"

sed -e "s|@ROOT@|$ROOT|g" -e "s|@PORT@|$PORT|g" examples/openresty/nginx.conf.in >"$WORK/nginx/nginx.conf"
globals="daemon off;"
if [ "$(id -u)" = 0 ]; then globals="$globals user root root;"; fi
echo "campaign:  $CAMPAIGN_ARN"
echo "listening: http://127.0.0.1:$PORT  (try: curl 'http://127.0.0.1:$PORT/recommendations?user=1&n=5')"
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g "$globals" &
nginx_pid=$!
trap 'kill "$nginx_pid" 2>/dev/null; stop' EXIT
trap 'exit 130' INT TERM
wait "$nginx_pid"
