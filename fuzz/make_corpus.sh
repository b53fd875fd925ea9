#!/bin/sh
# make_corpus.sh - (re)build the seed corpora of fuzz/corpus/<target>/.
#
#   sh fuzz/make_corpus.sh            (or: make fuzz-corpus)
#
# Sources, all local:
#   ../shared/sigv4-testsuite (PERSONALIZE_SHARED overrides ../shared):
#     the request line, path, query, header values and whole requests of
#     every v4/*/request.txt and aws4_testsuite/**/*.req;
#   fuzz/captured/*.txt: real response heads (fuzz/capture_headers.sh),
#     one input per line, CRLF kept;
#   hand-written adversarial inputs, below.
# Each input is stored under the SHA-1 of its bytes (as libFuzzer names
# them), so the output is deterministic and duplicates collapse.
set -eu

cd "$(dirname "$0")/.."
shared=${PERSONALIZE_SHARED:-../shared}/sigv4-testsuite
if [ ! -d "$shared" ]; then
	echo "make_corpus.sh: $shared not found (set PERSONALIZE_SHARED)" >&2
	exit 1
fi

exec python3 - "$shared" <<'PY'
import hashlib, json, os, pathlib, shutil, sys

suite = pathlib.Path(sys.argv[1])
root = pathlib.Path("fuzz/corpus")
corpus = {t: set() for t in
          ("fuzz_uri", "fuzz_query", "fuzz_header", "fuzz_sign", "fuzz_http_header",
           "fuzz_http_answer", "fuzz_engine_auth", "fuzz_engine_csv")}

def add(target, data):
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    if len(data) <= 4096:
        corpus[target].add(data)

def parse_request(text):
    """request line, [(name, value)] with continuation lines joined, body"""
    head, sep, body = text.partition(b"\n\n")
    lines = head.split(b"\n")
    method, _, rest = lines[0].partition(b" ")
    target = rest[:-len(b" HTTP/1.1")] if rest.endswith(b" HTTP/1.1") else rest
    headers = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t") and headers:
            n, v = headers[-1]
            headers[-1] = (n, v + b"\n" + line)
        elif b":" in line:
            n, _, v = line.partition(b":")
            headers.append((n, v))
    return method, target, headers, body

def sign_input(flags, method, path, query, payload, secret, region, service, headers):
    fields = [method, path, query or b"", payload, secret, region, service]
    for n, v in headers:
        fields += [n, v]
    return bytes([flags]) + b"\xff".join(fields)

cases = []
for req in sorted(suite.glob("v4/*/request.txt")):
    ctx = json.loads((req.parent / "context.json").read_text())
    cases.append((req.read_bytes(), ctx))
for req in sorted(suite.glob("aws4_testsuite/**/*.req")):
    cases.append((req.read_bytes(), {"normalize": "normalize-path" in str(req)}))

for text, ctx in cases:
    method, target, headers, body = parse_request(text)
    path, q, query = target.partition(b"?")
    add("fuzz_uri", path)
    if q:
        add("fuzz_query", query)
    for _, v in headers:
        add("fuzz_header", v)
    creds = ctx.get("credentials", {})
    secret = creds.get("secret_access_key", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY").encode()
    signed = list(headers)
    if not any(n.lower() == b"x-amz-date" for n, _ in signed):
        signed.append((b"X-Amz-Date", b"20150830T123600Z"))
    if creds.get("token") and not ctx.get("omit_session_token"):
        signed.append((b"X-Amz-Security-Token", creds["token"].encode()))
    payload = hashlib.sha256(body).hexdigest().encode()
    flags = (1 if ctx.get("normalize", True) else 0) \
        | (2 if ctx.get("double_uri_encode", True) else 0) | (0 if q else 4)
    add("fuzz_sign", sign_input(flags, method, path, query if q else None, payload, secret,
                                ctx.get("region", "us-east-1").encode(),
                                ctx.get("service", "service").encode(), signed))

# Real response heads, one line (with its CRLF) per input; whole, as answers.
for cap in sorted(pathlib.Path("fuzz/captured").glob("*.txt")):
    for line in cap.read_bytes().splitlines(keepends=True):
        add("fuzz_http_header", line)
    add("fuzz_http_answer", cap.read_bytes())

# ---- hand-written adversarial inputs ----------------------------------
for s in [b"", b"/", b"//", b"///a//b///", b"/./", b"/.", b"/..", b"/../..", b"..", b".",
          b"a/b/../../../c", b"/a/./b/../../c/./", b"/%2E%2E/%2e/", b"%", b"%4", b"%zz",
          b"%%41", b"%2F%2f", b"/~user/a-b_c.d", b"/\x00/\xff\xfe", b"/ space /",
          b"/caf\xc3\xa9/\xe2\x82\xac", b"../" * 40, b"/a" * 100 + b"/..",
          b"/foo%20bar/%", b"no-leading-slash", b"?", b"#frag"]:
    add("fuzz_uri", s)
for s in [b"&", b"&&&", b"=", b"==", b"a=b=c", b"a", b"a&a&a=1&a=", b"%", b"%%41=%4",
          b"+=+", b"a%3Db=c%26d", b"\xc3\x84=1", b"b=2&a=2&a=1&A=0", b"%41=%61",
          b"x=" + b"%00" * 20, b"&=&=&", b"a b=c d", b"=v&n=", b"k=%zz&k=%ZZ"]:
    add("fuzz_query", s)
for s in [b"", b" ", b"\t", b"\r\n", b"  a\t\tb  ", b"a\nb", b"a\r\n  b",
          b"\x0bvt\x0c", b"a\x00b", b"  leading", b"trailing \t ", b"x" + b" " * 50 + b"y"]:
    add("fuzz_header", s)
add("fuzz_sign", b"\x07")
add("fuzz_sign", b"\x03GET\xff/\xff\xffUNSIGNED-PAYLOAD\xffsecret\xffus-east-1\xffs3"
    + b"\xffA\xff1\xffa\xff2\xffB\xff \t x \xffa\xff3")
add("fuzz_sign", b"\x00POST\xff//a/../b\xffb=2&a=1&a\xff" + b"e" * 64 + b"\xff"
    + b"K" * 100 + b"\xffeu-west-1\xffpersonalize\xffHost\xffexample.com\xff;\xff;;")
for s in [b"HTTP/1.1 200 OK\r\n", b"HTTP/2 204\r\n", b"HTTP/1.0 999 \r\n",
          b"HTTP/1.1 2000 Big\r\n", b"HTTP/1.1 20 OK\r\n", b"HTTP/1.1  404  Not Found\n",
          b"HTTP/", b"HTTP/1.1\r\n", b"HTTP/1.1 abc\r\n", b"http/1.1 200 OK\r\n",
          b"\r\n", b"\n", b"\r", b"\r\r\n", b"Name:value", b"Name: value\r\n",
          b"Name:\t value \t\r\n", b"Name:\r\n", b"Name : value\r\n", b":value\r\n",
          b" folded: x\r\n", b"\tcontinued\r\n", b"X-Nul: a\x00b\r\n", b"X\x00Y: v\r\n",
          b"x-amzn-requestid: " + b"a" * 300 + b"\r\n", b"Content-Length: 12\n\n",
          b"Set-Cookie: a=b; Path=/\r\n", b"!#$%&'*+-.^_`|~09AZaz: v\r\n",
          b"\xff\xfe: v\r\n", b"Name:value\r\r\n", b"Name: v\xc3\xa9\r\n"]:
    add("fuzz_http_header", s)

for s in [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
          b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
          b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
          b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b\r\nabc\r\n0\r\nT: 1\r\n\r\n",
          b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
          b"HTTP/1.0 200 OK\r\n\r\nto the end", b"HTTP/1.1 204 No Content\r\n\r\n",
          b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
          b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
          b"HTTP/1.1 101 Switching\r\n\r\n", b"SMTP ready\r\n", b"",
          b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxEXTRA"]:
    add("fuzz_http_answer", s)

# fuzz_engine_auth: flags, then method, path, query, body, header pairs
# (see fuzz/fuzz_engine_auth.lua). Signed ones of each kind, then raw
# requests with hand-made Authorization headers and presigned queries.
def auth_input(flags, *fields):
    return bytes([flags]) + b"\xff".join(fields)
target_json = (b"x-amz-target", b"AmazonPersonalize.ListSchemas", b"content-type",
               b"application/x-amz-json-1.1")
for flags in (1, 3, 7, 9, 11, 17, 19):
    add("fuzz_engine_auth", auth_input(flags, b"POST", b"/", b"", b"{}", *target_json))
    add("fuzz_engine_auth", auth_input(flags, b"PUT", b"/bucket/key.csv", b"x-id=PutObject",
                                       b"USER_ID,ITEM_ID\n1,2\n", b"content-type", b"text/csv",
                                       b"x-amz-meta-a", b"  b  c "))
cred = b"AWS4-HMAC-SHA256 Credential=AKIDFUZZEXAMPLE/20150830/us-east-1/personalize/aws4_request, " \
       b"SignedHeaders=host;x-amz-date;x-amz-target, Signature=" + b"0" * 64
for auth in (cred, cred.replace(b"us-east-1", b"eu-west-1"), cred.replace(b"AKID", b"ASIA"),
             b"AWS4-HMAC-SHA256 Credential=a/1/b/c/aws4_request, SignedHeaders=, Signature=",
             b"AWS4-HMAC-SHA256 Credential=" + b"/" * 40, b"Basic dXNlcg=="):
    add("fuzz_engine_auth", auth_input(0, b"POST", b"/", b"", b"{}", b"authorization", auth,
                                       b"host", b"127.0.0.1", b"x-amz-date", b"20150830T123600Z",
                                       b"x-amz-target", b"AmazonPersonalize.ListSchemas",
                                       b"x-amz-security-token", b"fuzz-session-token"))
for q in (b"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDFUZZEXAMPLE%2F20150830%2Fus-east-1"
          b"%2Fs3%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=604801"
          b"&X-Amz-SignedHeaders=host&X-Amz-Signature=" + b"a" * 64,
          b"X-Amz-Credential=%2F%2F%2F&X-Amz-Signature=zz&X-Amz-Expires=-1",
          b"X-Amz-Date=99999999T999999Z&X-Amz-Credential=x"):
    add("fuzz_engine_auth", auth_input(0, b"GET", b"/bucket/key", q, b"", b"host", b"127.0.0.1"))
add("fuzz_engine_auth", auth_input(0, b"PUT", b"/b/k", b"",
    b"5;chunk-signature=" + b"0" * 64 + b"\r\nhello\r\n0;chunk-signature=" + b"0" * 64 + b"\r\n\r\n",
    b"x-amz-content-sha256", b"STREAMING-AWS4-HMAC-SHA256-PAYLOAD", b"content-encoding", b"aws-chunked"))

# fuzz_engine_csv: byte 0 picks the schema (even Interactions, odd Items).
for s in [b"\x00USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n1,2,1700000000,click,0.5\n",
          b"\x00\xef\xbb\xbfuser_id,item_id,timestamp,event_type\r\n1,2,1700000000,watch\r\n",
          b'\x00USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\n"1,a","2""x",1700000000,"multi\nline"\n',
          b"\x00USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE,EXTRA\n1,2,3,t,,x\n1,2\n",
          b'\x00"USER_ID",ITEM_ID,TIMESTAMP,EVENT_TYPE\n1,2,-5,t\n1,2,1e3,t\n1,2,99999999999999,t\n',
          b"\x00USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\n\xff\xfe,\xe9,1,\x00\n",
          b"\x00\xff\xfeU\x00S\x00E\x00R\x00_\x00I\x00D\x00\n\x00",
          b"\x00\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03",
          b"\x01ITEM_ID,GENRES,CREATION_TIMESTAMP\ni1,Comedy|Drama,1700000000\ni2,,\ni3,\"a,b\",\n",
          b"\x01ITEM_ID,GENRES\n" + b"i,g\n" * 50 + b"\"unterminated,g\n",
          b"\x01", b"\x00\n\n\n", b"\x00,,,\n,,,\n", b"\x01ITEM_ID,GENRES\n" + b"x" * 2000 + b",g\n"]:
    add("fuzz_engine_csv", s)

for target, inputs in corpus.items():
    d = root / target
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    for data in inputs:
        (d / hashlib.sha1(data).hexdigest()).write_bytes(data)
    print(f"{d}: {len(inputs)} inputs, {sum(map(len, inputs))} bytes")
PY
