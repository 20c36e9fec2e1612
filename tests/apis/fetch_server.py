#!/usr/bin/env python3
# fetch_server.py — the loopback HTTP/1.1 server tests/apis/test_fetch.c starts for each
# test: binds 127.0.0.1 on a free port, prints the port, serves until killed. Standard
# library only (hermetic: nothing leaves the machine).
#   /json                      {"hello": "world"}
#   /small                     {"small": true}, head and body in one write
#   /drop                      a Content-Length of 1000, 10 bytes, then the connection closes
#   /echo                      {method, headers, body} of the request (body as latin-1 text)
#   /redirect?n=N&to=PATH      N 302s, then to PATH (status from ?status=)
#   /redirect-to?url=URL       one 302 to URL
#   /status?code=N             an empty response with that status
#   /chunked?n=N&delay=MS      N chunks "chunk-i;" (MS between them)
#   /gzip                      a gzip-encoded text body
#   /slow?ms=MS                the JSON body after MS
#   /huge?bytes=N&cl=1         N bytes of 'x' (with Content-Length when cl=1, else chunked)
#   /headers                   two Set-Cookie and a repeated X-Multi
import gzip
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_body(self, status, body, content_type="application/json", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def handle_any(self):
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/json":
            return self.send_body(200, b'{"hello":"world"}')
        if url.path == "/small":  # head and body in one write: complete when its head is read
            body = b'{"small":true}'
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(body), body))
            return
        if url.path == "/drop":  # promises 1000 bytes, sends 10, hangs up
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
            self.wfile.flush()
            self.close_connection = True
            return
        if url.path == "/echo":
            out = {"method": self.command, "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body": body.decode("latin-1")}
            return self.send_body(200, json.dumps(out).encode())
        if url.path == "/redirect":
            n = int(q.get("n", "1"))
            to = q.get("to", "/json")
            target = to if n <= 1 else "/redirect?n=%d&to=%s" % (n - 1, to)
            return self.send_body(int(q.get("status", "302")), b"", extra=[("Location", target)])
        if url.path == "/redirect-to":
            return self.send_body(302, b"", extra=[("Location", q["url"])])
        if url.path == "/status":
            return self.send_body(int(q["code"]), b"")
        if url.path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(int(q.get("n", "3"))):
                self.send_chunk(b"chunk-%d;" % i)
                time.sleep(int(q.get("delay", "0")) / 1000)
            self.wfile.write(b"0\r\n\r\n")
            return
        if url.path == "/gzip":
            data = gzip.compress(b"compressed hello " * 100)
            return self.send_body(200, data, "text/plain", [("Content-Encoding", "gzip")])
        if url.path == "/slow":
            time.sleep(int(q.get("ms", "1000")) / 1000)
            return self.send_body(200, b'{"slow":true}')
        if url.path == "/huge":
            n = int(q["bytes"])
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            if q.get("cl") == "1":
                self.send_header("Content-Length", str(n))
                self.end_headers()
                try:
                    while n > 0:
                        step = min(n, 65536)
                        self.wfile.write(b"x" * step)
                        n -= step
                except (BrokenPipeError, ConnectionResetError):
                    pass
                return
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                while n > 0:
                    step = min(n, 65536)
                    self.send_chunk(b"x" * step)
                    n -= step
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        if url.path == "/headers":
            return self.send_body(200, b"ok", "text/plain",
                                  [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-Multi", "one"), ("X-Multi", "two")])
        return self.send_body(404, b"not found", "text/plain")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = handle_any


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
