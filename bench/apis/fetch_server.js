// fetch_server.js — the loopback HTTP/1.1 server bench/apis/fetch.sh measures both clients
// against: a small JSON body for every request, keep-alive; `/big?mb=N` streams N MiB
// (chunked, 64 KiB writes that wait for the socket to drain). Prints its port.
const http = require('http');
const body = JSON.stringify({ ok: true, id: 42, name: 'small json response', tags: ['a', 'b', 'c'] });
const chunk = Buffer.alloc(64 << 10, 120);
const server = http.createServer((req, res) => {
  const big = /^\/big\?mb=(\d+)$/.exec(req.url);
  if (big) {
    let left = Number(big[1]) * 16;
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const pump = () => {
      while (left > 0) {
        left--;
        if (!res.write(chunk)) return res.once('drain', pump);
      }
      res.end();
    };
    return pump();
  }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
