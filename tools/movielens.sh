#!/bin/sh
# Prepares MovieLens ml-latest-small (100,004 ratings, 9,066 movies) as
# Amazon Personalize CSVs:
#
#   sh tools/movielens.sh [OUTDIR]        (default data/movielens; `make data`)
#
#   OUTDIR/interactions.csv  USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE
#                            EVENT_TYPE "watch"; EVENT_VALUE = rating / 5, so the
#                            ratings 0.5..5 become 0.1..1
#   OUTDIR/items.csv         ITEM_ID,TITLE,GENRES (genres joined with "|")
#
# The data is the `movielens` data frame of Debian's r-cran-dslabs package
# (GroupLens' ml-latest-small: research and non-commercial use; cite F. M.
# Harper and J. A. Konstan, 2015, The MovieLens Datasets, ACM TiiS 5(4)).
# r-base-core and r-cran-dslabs are installed when missing (sudo when not
# root; `apt-get update` only when the install fails without it).
# Idempotent: does nothing when OUTDIR holds complete outputs; every file is
# written to a temporary name and renamed.
set -eu

OUTDIR=${1:-data/movielens}
HERE=$(cd "$(dirname "$0")" && pwd)
LUA=${LUA:-lua5.4}
case "$LUA" in *luajit*) LUA=lua5.4 ;; esac   # the converter runs on Lua 5.4

say() { echo "movielens: $*" >&2; }

mkdir -p "$OUTDIR"

# Complete = the manifest written last, and each file with its line count.
complete() {
	[ -f "$OUTDIR/MANIFEST" ] || return 1
	while read -r name lines; do
		[ -f "$OUTDIR/$name" ] || return 1
		[ "$(wc -l < "$OUTDIR/$name" | tr -d ' ')" = "$lines" ] || return 1
	done < "$OUTDIR/MANIFEST"
}

if complete; then
	say "$OUTDIR is up to date"
	exit 0
fi

missing=""
for p in r-base-core r-cran-dslabs; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
if [ -n "$missing" ]; then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	say "installing$missing"
	if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing; then
		$SUDO apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
	fi
fi

RAW="$OUTDIR/movielens-raw.csv"
if [ ! -s "$RAW" ]; then
	say "exporting dslabs::movielens with Rscript"
	Rscript --vanilla -e 'a <- commandArgs(TRUE); suppressMessages(library(dslabs)); data(movielens); t <- paste0(a[1], ".tmp"); write.csv(movielens, t, row.names = FALSE, na = "", fileEncoding = "UTF-8"); stopifnot(file.rename(t, a[1]))' "$RAW"
	[ -s "$RAW" ] || { say "Rscript wrote no $RAW"; exit 1; }
fi

say "converting to Personalize CSVs in $OUTDIR"
"$LUA" "$HERE/movielens.lua" "$RAW" "$OUTDIR"
rm -f "$RAW"
