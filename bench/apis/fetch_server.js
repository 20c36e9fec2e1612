// fetch_server.js — the loopback HTTP/1.1 server bench/apis/fetch.sh measures both clients
// against: a small JSON body for every request, keep-alive. Prints its port.
const http = require('http');
const body = JSON.stringify({ ok: true, id: 42, name: 'small json response', tags: ['a', 'b', 'c'] });
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
