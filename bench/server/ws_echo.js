// The echo module bench/server/ws_rtt.py measures against: every message comes back.
globalThis.onmessage = (e) => host.send(e.data);
