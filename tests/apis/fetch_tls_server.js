// fetch_tls_server.js — the TLS server tests/apis/test_fetch.c starts for its HTTP/2 and
// TLS tests: Node's http2 secure server (ALPN h2, HTTP/1.1 allowed too) on 127.0.0.1 with
// the key and certificate given (argv[2], argv[3]); prints its port. Every request gets
// {"version": the HTTP version, "path": ...}; /br sends it brotli-encoded.
const http2 = require('http2');
const fs = require('fs');
const zlib = require('zlib');
const server = http2.createSecureServer({ key: fs.readFileSync(process.argv[2]), cert: fs.readFileSync(process.argv[3]),
  allowHTTP1: true }, (req, res) => {
  const body = JSON.stringify({ version: req.httpVersion, path: req.url });
  if (req.url === '/br') { // the same JSON, brotli-encoded
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'br' });
    res.end(zlib.brotliCompressSync(body));
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
