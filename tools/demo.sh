#!/bin/sh
# The main job (`make demo`): the Amazon Personalize tutorial in Lua
# (examples/tutorial.lua) against personalize-local, from schema to a table
# of recommendations, on MovieLens ml-latest-small.
#
#   sh tools/demo.sh [DATA_DIR]     (default data/movielens, else data/small)
#
# PERSONALIZE_LUA picks the interpreter (lua5.4 or luajit, default lua5.4);
# PERSONALIZE_CPATH the C path of its core (default build/<interpreter>/?.so);
# PERSONALIZE_LOCAL_TIMINGS (pending=S,in_progress=S) the engine's pace.
#
# Expects `make deps`, both cores and `make data` done (the Makefile's demo
# target does them). Starts personalize-local on a free loopback port with a
# fresh data directory, runs the tutorial signed with the engine's key pair,
# then stops the engine and removes the directory, whatever happened.
# The caller's AWS settings are left out so that nothing reaches AWS.
set -eu
cd "$(dirname "$0")/.."

LUA=${PERSONALIZE_LUA:-lua5.4}
CPATH=${PERSONALIZE_CPATH:-"build/$(basename "$LUA")/?.so;;"}
DATA=${1:-}
if [ -z "$DATA" ]; then
	if [ -f data/movielens/MANIFEST ]; then DATA=data/movielens; else DATA=data/small; fi
fi
[ -f "$DATA/interactions.csv" ] || { echo "demo: no $DATA/interactions.csv (run make data)" >&2; exit 1; }

RUN=$(mktemp -d "${TMPDIR:-/tmp}/personalize-demo.XXXXXX")
ENGINE_DIR="$RUN/engine"
cleanup() {
	bin/personalize-local stop --data "$ENGINE_DIR" >/dev/null 2>&1 || true
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bin/personalize-local start --data "$ENGINE_DIR" --port 0 >"$RUN/start.out" 2>&1 || {
	cat "$RUN/start.out" >&2
	exit 1
}
ENDPOINT=$(sed -n 's/^ *endpoint: *//p' "$RUN/start.out")
echo "personalize-local: $ENDPOINT (data $DATA)"

env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_CONFIG_FILE -u AWS_SHARED_CREDENTIALS_FILE \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
	AWS_ENDPOINT_URL="$ENDPOINT" AWS_REGION=us-east-1 \
	AWS_ACCESS_KEY_ID=AKIAPERSONALIZELOCAL \
	AWS_SECRET_ACCESS_KEY=personalize-local/secret/do-not-use-on-aws \
	LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="$CPATH" \
	"$LUA" examples/tutorial.lua "$DATA"
