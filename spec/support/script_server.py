#!/usr/bin/env python3
"""Loopback HTTP/1.1 peer that answers from a script, for fault and
metadata specs.

Usage: script_server.py PORT

Listens on 127.0.0.1:PORT (threaded, keep-alive). Control paths:
    POST /__script   body: a JSON list of answers; replaces the script and
                     forgets the recorded requests
    GET  /__requests the recorded requests, as JSON:
                     [{"method", "path", "headers": {lower-case name: value}, "body"}]
Any other request is recorded and answered with the next answer of the
script (the last one repeats). An answer is an object:
    {"status": 200, "headers": {...}, "body": "..."}   an HTTP answer
    {"reset": true}        close the connection with a TCP reset, no answer
    {"stall": SECONDS}     wait that long before answering (as above)
    {"raw": "..."}         these bytes (latin-1) as the whole answer, framing
                           and all; with "close": true the connection is
                           then closed without a word
In bodies, {{expires_in:N}} becomes the ISO 8601 UTC time N seconds from now.
"""
import datetime
import http.server
import json
import re
import socket
import struct
import sys
import threading
import time

LOCK = threading.Lock()
STATE = {"script": [{"status": 200, "body": "{}"}], "next": 0, "requests": []}


def expand(body):
    def when(m):
        t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=int(m.group(1)))
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")
    return re.sub(r"\{\{expires_in:(-?\d+)\}\}", when, body)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n).decode("utf-8", "replace") if n else ""

    def send(self, status, headers, body):
        data = body.encode()
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        body = self.body()
        if self.path == "/__script":
            with LOCK:
                STATE["script"] = json.loads(body)
                STATE["next"] = 0
                STATE["requests"] = []
            return self.send(200, {}, "ok")
        if self.path == "/__requests":
            with LOCK:
                text = json.dumps(STATE["requests"])
            return self.send(200, {"Content-Type": "application/json"}, text)
        with LOCK:
            STATE["requests"].append({
                "method": self.command, "path": self.path, "body": body,
                "headers": {k.lower(): v for k, v in self.headers.items()},
            })
            script = STATE["script"]
            answer = script[min(STATE["next"], len(script) - 1)]
            STATE["next"] += 1
        if answer.get("reset"):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if answer.get("stall"):
            time.sleep(answer["stall"])
        if answer.get("raw") is not None:
            self.wfile.write(answer["raw"].encode("latin-1"))
            self.wfile.flush()
            if answer.get("close"):
                self.close_connection = True
            return
        self.send(answer.get("status", 200), answer.get("headers", {}), expand(answer.get("body", "")))

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
