#!/bin/sh
# make bench-profile: instructions per signed request, per core.http POST
# and per full get_recommendations, counted by valgrind's callgrind (the
# counts do not depend on machine noise). Each is run with N1 and N2
# iterations; (count(N2) - count(N1)) / (N2 - N1) leaves out start-up.
# Usage: bench/profile.sh LUA   (lua5.4 or luajit; LUA_PATH/LUA_CPATH set)
# The callgrind files of the N2 runs stay in build/bench/ for
# callgrind_annotate.
set -eu
LUA=${1:-lua5.4}
N1=${PROFILE_N1:-500}
N2=${PROFILE_N2:-1500}
OUT=build/bench
mkdir -p "$OUT"

count() { # mode n -> instructions
	f="$OUT/callgrind.$LUA.$1.$2"
	valgrind --tool=callgrind --callgrind-out-file="$f" --trace-children=no \
		"$LUA" bench/profile.lua "$1" "$2" 2>"$f.log" >/dev/null
	sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$f.log"
}

echo "callgrind, $LUA: instructions per iteration ((N=$N2) - (N=$N1)) / $((N2 - N1))"
for mode in sign http call; do
	a=$(count "$mode" "$N1")
	b=$(count "$mode" "$N2")
	rm -f "$OUT/callgrind.$LUA.$mode.$N1" "$OUT/callgrind.$LUA.$mode.$N1.log"
	printf '  %-5s %10d instructions\n' "$mode" $(( (b - a) / (N2 - N1) ))
done
