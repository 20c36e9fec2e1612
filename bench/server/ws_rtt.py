# ws_rtt.py HOST PORT PATH N — WebSocket round-trip latency against `jspool serve`: sends N
# text messages one at a time on one socket and waits for each echo (a module whose
# onmessage does host.send(e.data)); prints median, p99 and round trips per second.
# Standard library only (no websockets package): a minimal RFC 6455 client.
import socket, os, sys, time, base64, struct, statistics
host, port, path, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
s = socket.create_connection((host, port))
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
buf = b""
while b"\r\n\r\n" not in buf: buf += s.recv(4096)
head, buf = buf.split(b"\r\n\r\n", 1)
assert b" 101 " in head.split(b"\r\n")[0], head
def send(txt):
    p = txt.encode(); m = os.urandom(4)
    hdr = bytes([0x81, 0x80 | len(p)]) + m
    s.sendall(hdr + bytes(b ^ m[i % 4] for i, b in enumerate(p)))
def recv():
    global buf
    while len(buf) < 2: buf += s.recv(65536)
    ln = buf[1] & 0x7f; off = 2
    if ln == 126:
        while len(buf) < 4: buf += s.recv(65536)
        ln = struct.unpack(">H", buf[2:4])[0]; off = 4
    while len(buf) < off + ln: buf += s.recv(65536)
    msg = buf[off:off+ln]; buf = buf[off+ln:]; return msg
lat = []
for i in range(n):
    t = time.perf_counter(); send('{"i":%d}' % i); recv(); lat.append((time.perf_counter() - t) * 1e3)
lat.sort()
print(f"ws round trips: {n}, median {statistics.median(lat):.3f} ms, p99 {lat[int(n*0.99)-1]:.3f} ms, {n/sum(lat)*1e3:.0f}/s")
