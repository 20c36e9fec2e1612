// ws_echo_server.js — a WebSocket echo server for bench/apis/websocket.sh: Node's http
// 'upgrade' with RFC 6455 framing by hand (no npm package), on 127.0.0.1, a free port
// printed on the first line. Echoes text and binary messages (unfragmented, as the bench
// sends them), answers close with close.
'use strict';
const http = require('http');
const crypto = require('crypto');

const server = http.createServer((req, res) => { res.writeHead(404); res.end(); });
server.on('upgrade', (req, socket) => {
  const accept = crypto.createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  socket.setNoDelay(true);
  let buffer = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    const out = [];
    for (;;) {
      if (buffer.length < 2) break;
      const opcode = buffer[0] & 0x0f;
      let len = buffer[1] & 0x7f, at = 2;
      if (len === 126) { if (buffer.length < 4) break; len = buffer.readUInt16BE(2); at = 4; }
      else if (len === 127) { if (buffer.length < 10) break; len = Number(buffer.readBigUInt64BE(2)); at = 10; }
      const masked = buffer[1] & 0x80;
      if (buffer.length < at + (masked ? 4 : 0) + len) break;
      const key = masked ? buffer.subarray(at, at + 4) : null;
      at += masked ? 4 : 0;
      const payload = Buffer.from(buffer.subarray(at, at + len));
      if (key) for (let i = 0; i < len; i++) payload[i] ^= key[i & 3];
      buffer = buffer.subarray(at + len);
      const head = len < 126 ? Buffer.from([0x80 | opcode, len])
        : len < 65536 ? Buffer.from([0x80 | opcode, 126, len >> 8, len & 255])
        : Buffer.concat([Buffer.from([0x80 | opcode, 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(len)); return b; })()]);
      if (opcode === 8) { socket.end(Buffer.concat([head, payload])); return; }
      if (opcode === 9) { out.push(Buffer.from([0x8a, len]), payload); continue; }
      if (opcode === 1 || opcode === 2) out.push(head, payload);
    }
    if (out.length) socket.write(Buffer.concat(out));
  });
  socket.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
