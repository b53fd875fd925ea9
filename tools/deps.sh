#!/bin/sh
# Installs the Debian packages lua-personalize needs, only those missing.
# Idempotent; uses sudo when not root. Never installs Debian's `luajit` or
# `libluajit-5.1-dev`: they conflict with libnginx-mod-http-lua.
set -eu

PACKAGES="lua5.4 liblua5.4-dev lua-cjson lua-expat libcurl4-openssl-dev libssl-dev libsqlite3-dev
lua-busted lua-check lua-socket lua-expat luarocks pkg-config make gcc
luajit2 libluajit2-5.1-dev nginx libnginx-mod-http-lua wrk"

missing=""
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "deps: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
