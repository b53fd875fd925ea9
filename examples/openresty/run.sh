#!/bin/sh
# The OpenResty example in one command: starts personalize-local, sets up
# a campaign and an event tracker on data/small, then runs nginx with the
# example configuration in the foreground (Ctrl-C stops both).
#
#   examples/openresty/run.sh            # listens on 127.0.0.1:8080
#   PORT=9000 ENGINE_PORT=9642 examples/openresty/run.sh
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$ROOT"
PORT=${PORT:-8080}
ENGINE_PORT=${ENGINE_PORT:-8642}
WORK=${WORK:-${TMPDIR:-/tmp}/lua-personalize-openresty}
NGINX=${NGINX:-/usr/sbin/nginx}

[ -f data/small/items.csv ] || lua5.4 tools/gen_small_data.lua data/small
[ -f build/lua5.4/personalize/core.so ] || make
[ -f build/luajit/personalize/core.so ] || make LUA=luajit

rm -rf "$WORK"
mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp"
out=$(bin/personalize-local start --data "$WORK/engine" --port "$ENGINE_PORT" \
  --timings pending=0.1,in_progress=0.2)
stop() { bin/personalize-local stop --data "$WORK/engine" >/dev/null 2>&1 || true; }
trap stop EXIT INT TERM

export AWS_ENDPOINT_URL="http://127.0.0.1:$ENGINE_PORT" AWS_REGION=us-east-1
AWS_ACCESS_KEY_ID=$(printf '%s\n' "$out" | sed -n 's/.*aws_access_key_id: *//p')
AWS_SECRET_ACCESS_KEY=$(printf '%s\n' "$out" | sed -n 's/.*aws_secret_access_key: *//p')
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY

echo "setting up a campaign on data/small against $AWS_ENDPOINT_URL ..."
settings=$(LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="build/lua5.4/?.so;;" \
  lua5.4 examples/openresty/setup.lua data/small)
eval "$settings"
export CAMPAIGN_ARN TRACKING_ID ITEMS_CSV="$ROOT/data/small/items.csv"

sed -e "s|@ROOT@|$ROOT|g" -e "s|@PORT@|$PORT|g" examples/openresty/nginx.conf.in >"$WORK/nginx/nginx.conf"
echo "campaign:  $CAMPAIGN_ARN"
echo "listening: http://127.0.0.1:$PORT  (try: curl 'http://127.0.0.1:$PORT/recommendations?user=1&n=5')"
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g "daemon off;" &
nginx_pid=$!
trap 'kill "$nginx_pid" 2>/dev/null; stop' EXIT INT TERM
wait "$nginx_pid"
