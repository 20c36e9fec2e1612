// node_ws_echo.js PORT — the Node.js peer of ws_rtt.sh: a `ws` (npm) server that sends
// every text message back on its socket, as bench/server/ws_echo.js does in jspool.
const { WebSocketServer } = require('ws');
const wss = new WebSocketServer({ port: Number(process.argv[2]), host: '127.0.0.1' });
wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
