#!/usr/bin/env python3
# ws_server.py — the loopback server tests/apis/test_websocket.c starts for each test:
# WebSocket (RFC 6455, server side, by hand) and Server-Sent Events on 127.0.0.1, a free
# port printed on the first line; standard library only (nothing leaves the machine).
# WebSocket paths (any other path answers 404):
#   /echo            echoes text and binary messages; answers a close with the same close;
#                    a text message "close:CODE:REASON" makes the server close with that
#                    code; "drop" makes it drop the connection without a close frame;
#                    "big:N" sends a binary message of N bytes; "masked" sends a masked
#                    frame (a protocol error from a server); "headers" sends the request's
#                    headers as JSON
#   /protocol        chooses the last subprotocol offered
#   /bad-accept      answers 101 with a wrong Sec-WebSocket-Accept
#   /extension       answers 101 choosing an extension nobody offered
#   /mute            answers 101, then ignores every frame (a close is never answered)
# With --tls KEY CERT it serves the same over TLS (wss:).
# SSE paths:
#   /sse/basic       events with fields, multi-line data, a comment, CRLF and CR line ends
#   /sse/reconnect   first request: id 1 and 2, retry 100, then the stream ends; later
#                    requests: one event whose data is the Last-Event-ID header received
#   /sse/status      a 204 (the EventSource fails without reconnecting)
#   /sse/count       how many /sse/reconnect requests arrived (plain text)
#   /sse/closes      the close codes /echo received from clients, in order (a JSON list)
#   /sse/forever     one event "tick" every 50 ms until the client goes
import base64
import hashlib
import json
import os
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
reconnects = {"n": 0}
closes = []


def frame(opcode, payload, mask=False):
    head = bytes([0x80 | opcode])
    n = len(payload)
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack("!H", n)
    else:
        head += bytes([m | 127]) + struct.pack("!Q", n)
    if mask:
        key = os.urandom(4)
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        head += key
    return head + payload


def read_exact(f, n):
    data = f.read(n)
    if data is None or len(data) < n:
        raise EOFError
    return data


def read_frame(f):
    b0, b1 = read_exact(f, 2)
    opcode = b0 & 0x0F
    fin = bool(b0 & 0x80)
    masked = bool(b1 & 0x80)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", read_exact(f, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", read_exact(f, 8))[0]
    key = read_exact(f, 4) if masked else None
    payload = read_exact(f, n)
    if key:
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return fin, opcode, masked, payload


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/sse/"):
            return self.sse()
        key = self.headers.get("Sec-WebSocket-Key")
        if not key or self.headers.get("Upgrade", "").lower() != "websocket":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        path = self.path.split("?")[0]
        if path not in ("/echo", "/protocol", "/bad-accept", "/extension", "/mute"):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        # a wrong accept: its first character changed (a fixed "x" was the right one 1 time in 64)
        wrong = ("y" if accept[0] == "x" else "x") + accept[1:]
        self.send_header("Sec-WebSocket-Accept", wrong if path == "/bad-accept" else accept)
        if path == "/protocol":
            offered = [p.strip() for p in self.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
            if offered:
                self.send_header("Sec-WebSocket-Protocol", offered[-1])
        if path == "/extension":
            self.send_header("Sec-WebSocket-Extensions", "permessage-deflate")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        try:
            self.frames(path)
        except (EOFError, ConnectionError, OSError):
            pass

    def frames(self, path):
        out = self.connection
        parts, first_op = [], 0
        while True:
            fin, opcode, masked, payload = read_frame(self.rfile)
            if path == "/mute":
                continue
            if not masked:
                out.sendall(frame(8, struct.pack("!H", 1002) + b"unmasked client frame"))
                return
            if opcode == 8:
                closes.append(struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005)
                out.sendall(frame(8, payload))
                return
            if opcode == 9:
                out.sendall(frame(10, payload))
                continue
            if opcode in (1, 2):
                first_op, parts = opcode, [payload]
            elif opcode == 0:
                parts.append(payload)
            if not fin:
                continue
            message = b"".join(parts)
            if first_op == 1:
                text = message.decode("utf-8")
                if text.startswith("close:"):
                    _, code, reason = text.split(":", 2)
                    out.sendall(frame(8, struct.pack("!H", int(code)) + reason.encode()))
                    continue
                if text == "drop":
                    out.shutdown(socket.SHUT_RDWR)
                    return
                if text.startswith("big:"):
                    out.sendall(frame(2, b"b" * int(text[4:])))
                    continue
                if text == "masked":
                    out.sendall(frame(1, b"masked", mask=True))
                    continue
                if text == "headers":
                    out.sendall(frame(1, json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()))
                    continue
            out.sendall(frame(first_op, message))

    def sse(self):
        path = self.path.split("?")[0]
        if path in ("/sse/count", "/sse/closes"):
            body = (str(reconnects["n"]) if path == "/sse/count" else json.dumps(closes)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if path == "/sse/status":
            self.send_response(204)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if path == "/sse/basic":
            self.wfile.write(b"\xef\xbb\xbf: a comment\n\ndata: one\n\n")
            self.wfile.write(b"event: custom\ndata: two\ndata:  three\n\n")
            self.wfile.write(b"data: crlf\r\n\r\ndata: cr\r\rdata:no-space\nid: 7\n\n")
            self.wfile.write(b"data\n\nevent: ignored-without-data\n\ndata: last\n\ndata: never dispatched")
            self.wfile.flush()
        elif path == "/sse/forever":
            while True:
                self.wfile.write(b"data: tick\n\n")
                self.wfile.flush()
                threading.Event().wait(0.05)
        elif path == "/sse/reconnect":
            reconnects["n"] += 1
            last = self.headers.get("Last-Event-ID")
            if last is None:
                self.wfile.write(b"retry: 100\nid: 1\ndata: a\n\nid: 2\ndata: b\n\n")
            else:
                self.wfile.write(("data: last=" + last + "\n\n").encode())
                self.wfile.flush()
                threading.Event().wait(30)  # held open until the client closes
            self.wfile.flush()


class Server(ThreadingHTTPServer):
    daemon_threads = True


server = Server(("127.0.0.1", 0), Handler)
if len(sys.argv) == 4 and sys.argv[1] == "--tls":  # --tls KEY CERT: wss: and https:
    import ssl

    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(sys.argv[3], sys.argv[2])
    server.socket = tls.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
