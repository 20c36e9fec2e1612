// node_bank_server.js — the comparison point for bench/server/run.sh: the same bank module
// served by Node.js's `http` and `vm`, with the same route and JSON shapes as jspool serve
// (POST /v1/contexts/bank/call/FUNCTION with a JSON array -> {"result": value}).
// Written for the benchmark only.  usage: node node_bank_server.js MODULE.js PORT
'use strict';
const http = require('http');
const fs = require('fs');
const vm = require('vm');

const [modulePath, port] = process.argv.slice(2);
// The module's `export function` lines become properties of an exports object, as
// jspool's module loading does.
const source = fs.readFileSync(modulePath, 'utf8')
  .replace(/^export function (\w+)/gm, 'exports.$1 = function $1');
const context = vm.createContext({ exports: {} });
vm.runInContext(source, context);
const exported = context.exports;

http.createServer((req, res) => {
  const match = /^\/v1\/contexts\/bank\/call\/(\w+)$/.exec(req.url);
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let status = 200, body;
    try {
      if (req.method !== 'POST' || !match || !exported[match[1]]) {
        status = 404;
        body = { error: { code: 'not_found', message: 'no such route', details: {} } };
      } else {
        const text = Buffer.concat(chunks).toString('utf8') || '[]';
        body = { result: exported[match[1]](...JSON.parse(text)) };
      }
    } catch (e) {
      status = 422;
      body = { error: { code: 'js_error', message: String(e.message), details: { name: e.name } } };
    }
    const out = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(out) });
    res.end(out);
  });
}).listen(Number(port), '127.0.0.1');
