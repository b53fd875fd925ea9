#!/bin/sh
# capture_headers.sh - record real HTTP response heads for the
# fuzz_http_header seed corpus; writes fuzz/captured/*.txt (committed).
#
#   sh fuzz/capture_headers.sh
#
# Starts `python3 -m http.server` and `moto_server` on 127.0.0.1 (free
# ports, stopped on exit) and saves each response head exactly as curl
# received it (`curl -sD -`, CRLF line ends kept). Nothing leaves the
# machine. fuzz/make_corpus.sh splits the files into one line per input.
set -eu

cd "$(dirname "$0")/.."
out=fuzz/captured
mkdir -p "$out"
tmp=$(mktemp -d)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_port() {
	i=0
	while ! curl -s -o /dev/null "http://127.0.0.1:$1/" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 200 ] || { echo "nothing listens on $1" >&2; exit 1; }
		sleep 0.1
	done
}

# save NAME CURL-ARGS...: the response head(s) of one request.
save() {
	name=$1
	shift
	curl -s -D "$out/$name.txt" -o /dev/null "$@" || true
	echo "captured $out/$name.txt ($(wc -l <"$out/$name.txt") lines)"
}

# 1. python3 -m http.server: a plain static server (BaseHTTPRequestHandler).
mkdir -p "$tmp/www/dir"
printf 'hello\n' >"$tmp/www/hello.txt"
printf '{"a":1}\n' >"$tmp/www/data.json"
p1=$(free_port)
(cd "$tmp/www" && exec python3 -m http.server "$p1" --bind 127.0.0.1 >/dev/null 2>&1) &
pids="$pids $!"
wait_port "$p1"
save pyhttp-200-file "http://127.0.0.1:$p1/hello.txt"
save pyhttp-200-json "http://127.0.0.1:$p1/data.json"
save pyhttp-200-listing "http://127.0.0.1:$p1/"
save pyhttp-301-redirect "http://127.0.0.1:$p1/dir"
save pyhttp-404 "http://127.0.0.1:$p1/missing"
save pyhttp-501-post -X POST -d x "http://127.0.0.1:$p1/"
save pyhttp-304 -H "If-Modified-Since: Wed, 01 Jan 2100 00:00:00 GMT" "http://127.0.0.1:$p1/hello.txt"
save pyhttp-head -I "http://127.0.0.1:$p1/hello.txt"

# 2. moto_server: what an AWS-shaped server answers (awsJson1_1 and
# restJson1 errors, x-amzn-* headers).
if command -v moto_server >/dev/null 2>&1; then
	p2=$(free_port)
	moto_server -H 127.0.0.1 -p "$p2" >/dev/null 2>&1 &
	pids="$pids $!"
	wait_port "$p2"
	auth='AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/personalize/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000'
	json() {
		name=$1 target=$2 body=$3
		shift 3
		save "$name" -X POST "http://127.0.0.1:$p2/" \
			-H "Host: personalize.us-east-1.amazonaws.com" \
			-H "Content-Type: application/x-amz-json-1.1" \
			-H "X-Amz-Target: AmazonPersonalize.$target" \
			-H "X-Amz-Date: 20150830T123600Z" -H "Authorization: $auth" \
			-d "$body" "$@"
	}
	json moto-personalize-list-schemas ListSchemas '{}'
	json moto-personalize-create-schema CreateSchema \
		'{"name":"s1","schema":"{\"type\":\"record\",\"name\":\"Interactions\",\"namespace\":\"com.amazonaws.personalize.schema\",\"fields\":[{\"name\":\"USER_ID\",\"type\":\"string\"},{\"name\":\"ITEM_ID\",\"type\":\"string\"},{\"name\":\"TIMESTAMP\",\"type\":\"long\"}],\"version\":\"1.0\"}"}'
	json moto-personalize-describe-missing DescribeSchema \
		'{"schemaArn":"arn:aws:personalize:us-east-1:123456789012:schema/missing"}'
	json moto-personalize-unknown-op NoSuchOperation '{}'
	save moto-s3-list-buckets "http://127.0.0.1:$p2/" \
		-H "Host: s3.amazonaws.com" -H "Authorization: $auth"
	save moto-s3-missing-bucket "http://127.0.0.1:$p2/no-such-bucket" \
		-H "Host: s3.amazonaws.com" -H "Authorization: $auth"
	save moto-s3-create-bucket -X PUT "http://127.0.0.1:$p2/fuzz-bucket" \
		-H "Authorization: $auth"
	save moto-s3-put-object -X PUT -d 'a,b,c' "http://127.0.0.1:$p2/fuzz-bucket/k.csv" \
		-H "Authorization: $auth" -H "x-amz-meta-Owner: fuzz  corpus"
	save moto-s3-head-object -I "http://127.0.0.1:$p2/fuzz-bucket/k.csv" \
		-H "Authorization: $auth"
else
	echo "moto_server not installed: only python http.server heads captured" >&2
fi
