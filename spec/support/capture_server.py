#!/usr/bin/env python3
"""Loopback HTTP/1.1 server that records requests, for the specs.

Usage: capture_server.py PORT [--tls CERT KEY]

Listens on 127.0.0.1:PORT (threaded, keep-alive) and answers every request
with 200, Content-Type application/json, x-amzn-requestid "req-<n>" and a
JSON echo of what it received:

    {"method", "path", "headers": [[name, value], ...] (received order),
     "body" (text; null when over 1 MiB), "body_length", "body_sha256",
     "connection_id" (counts TCP connections: same id = connection reused)}

Query parameters ask for other behaviours:
    status=N          answer with status N
    delay=SECONDS     sleep before answering
    size=N            answer with N bytes of a fixed pattern instead of the
                      echo (PATTERN below, repeated and cut to N)
    chunked=1         answer with Transfer-Encoding: chunked
    header=Name:Value add a response header (repeatable)
    drop=1            close the connection without answering
Paths /__requests (the recorded list, as JSON) and /__reset (clears it)
are not recorded.

A TLS ClientHello sent to the plain port is answered with a plain-text
"400 Bad Request" and the connection is closed, so a client that speaks
https to this port deterministically fails its handshake (a client sees
"wrong version number"), instead of both sides waiting for each other.
With --tls, the server speaks https with the given certificate instead.
"""
import hashlib
import http.server
import json
import socket
import ssl
import sys
import threading
import time
import urllib.parse

PATTERN = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_"
MAX_ECHO_BODY = 1024 * 1024


def pattern_bytes(n):
    reps = n // len(PATTERN) + 1
    return (PATTERN * reps)[:n]


class CaptureServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # many concurrent connects from the multi spec

    def __init__(self, addr, tls_context=None):
        super().__init__(addr, CaptureHandler)
        self.tls_context = tls_context
        self.lock = threading.Lock()
        self.records = []
        self.request_count = 0
        self.connection_count = 0

    def get_request(self):
        conn, addr = self.socket.accept()
        if self.tls_context is not None:
            # The handshake runs later, in the connection's own thread.
            conn = self.tls_context.wrap_socket(
                conn, server_side=True, do_handshake_on_connect=False)
        return conn, addr

    def handle_error(self, request, client_address):
        # Clients that time out and hang up are expected: stay quiet.
        pass


class CaptureHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        with self.server.lock:
            self.server.connection_count += 1
            self.connection_id = self.server.connection_count

    def handle(self):
        if self.server.tls_context is None:
            try:
                first = self.connection.recv(1, socket.MSG_PEEK)
            except OSError:
                return
            if first == b"\x16":  # a TLS handshake record
                self.wfile.write(b"HTTP/1.1 400 Bad Request\r\n"
                                 b"Content-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")
                self.wfile.flush()
                return
        else:
            try:
                self.connection.do_handshake()
            except (ssl.SSLError, OSError):
                return
        super().handle()

    def log_message(self, format, *args):
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send(self, status, headers, body, chunked=False):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        no_body = status in (204, 304) or 100 <= status < 200
        if chunked and not no_body:
            self.send_header("Transfer-Encoding", "chunked")
        elif status != 204 and not 100 <= status < 200:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if no_body or self.command == "HEAD":
            return
        if chunked:
            step = 16384
            for i in range(0, len(body), step):
                piece = body[i:i + step]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)

    def dispatch(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        body = self.read_body()

        if url.path == "/__requests":
            with self.server.lock:
                data = json.dumps(self.server.records).encode()
            return self.send(200, [("Content-Type", "application/json")], data)
        if url.path == "/__reset":
            with self.server.lock:
                self.server.records = []
            return self.send(200, [("Content-Type", "application/json")], b"{}")

        with self.server.lock:
            self.server.request_count += 1
            n = self.server.request_count
            record = {
                "method": self.command,
                "path": self.path,
                "headers": [[k, v] for k, v in self.headers.items()],
                "body": (body.decode("utf-8", "replace")
                         if len(body) <= MAX_ECHO_BODY else None),
                "body_length": len(body),
                "body_sha256": hashlib.sha256(body).hexdigest(),
                "connection_id": self.connection_id,
            }
            self.server.records.append(record)

        if "delay" in query:
            time.sleep(float(query["delay"][0]))
        if "drop" in query:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return

        status = int(query.get("status", ["200"])[0])
        headers = [("x-amzn-requestid", "req-%d" % n)]
        if "size" in query:
            headers.append(("Content-Type", "application/octet-stream"))
            payload = pattern_bytes(int(query["size"][0]))
        else:
            headers.append(("Content-Type", "application/json"))
            payload = json.dumps(record).encode()
        for h in query.get("header", []):
            name, _, value = h.partition(":")
            headers.append((name, value))
        self.send(status, headers, payload, chunked="chunked" in query)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = dispatch
    do_OPTIONS = dispatch


def main(argv):
    port = int(argv[1])
    tls_context = None
    if len(argv) >= 5 and argv[2] == "--tls":
        tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_context.load_cert_chain(argv[3], argv[4])
    server = CaptureServer(("127.0.0.1", port), tls_context)
    print("capture_server listening on 127.0.0.1:%d" % port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv)
