// serve.mjs — the HTTP front both Node peers share, shaped like keynote-2's RPC servers
// (node:http, one JSON request per POST, keep-alive, no framework): POST /call/{fn} with a
// JSON array of arguments, answered 200 {"result": ...} or 4xx/5xx {"error": {"name",
// "message"}} (jspool's HTTP call shape, so the same harness drives all three systems).
// GET / answers "ok" once the peer has seeded. keynote-2 posts {"name","args":{...}} to /rpc
// instead; the work per request is the same.
import http from 'node:http';

export function serve(name, port, functions) {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/') {
      res.end('ok');
      return;
    }
    const fn = req.method === 'POST' && req.url.startsWith('/call/') ? req.url.slice(6) : null;
    if (!fn || !Object.hasOwn(functions, fn)) {
      answer(res, 404, { error: { name: 'NotFound', message: `no route ${req.method} ${req.url}` } });
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', async () => {
      let args;
      try {
        args = body === '' ? [] : JSON.parse(body);
        if (!Array.isArray(args)) throw new TypeError('the body must be a JSON array of arguments');
      } catch (err) {
        answer(res, 400, { error: { name: err.name, message: err.message } });
        return;
      }
      try {
        const result = await functions[fn](...args);
        answer(res, 200, { result: result === undefined ? null : result });
      } catch (err) {
        const status = err instanceof TypeError || err instanceof RangeError ? 400 : 500;
        answer(res, status, { error: { name: err.name ?? 'Error', message: String(err.message ?? err) } });
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(port, '127.0.0.1', () => {
    console.error(`[${name}] listening on http://127.0.0.1:${port}/call/`);
  });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
  return server;
}

function answer(res, status, value) {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function accountId(name) {
  if (typeof name !== 'string' || !/^(0|[1-9][0-9]{0,9})$/.test(name)) {
    throw new TypeError(`account name must be a decimal string, got ${JSON.stringify(name)}`);
  }
  return Number(name);
}

export function amountOf(value) {
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError('amount must be a positive integer');
  return value;
}

export const ACCOUNTS = Number(process.env.ACCOUNTS ?? 100_000);
export const BALANCE = Number(process.env.BALANCE ?? 1_000_000_000);
