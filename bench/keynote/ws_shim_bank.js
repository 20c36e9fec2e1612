// ws_shim_bank.js — NOT the benchmark: a stand-in that lets keynote_client's WebSocket path
// run against today's `jspool serve` before issue 10's call protocol and store land. It
// answers {"id","call","args"} messages through onmessage/host.send (a socket's replies go
// back to it) with an in-heap bank: no store, no transaction, no durability. Figures it
// gives measure the transport and the engine only, and are labelled so.
//   build/jspool serve bench/keynote/ws_shim_bank.js --listen 127.0.0.1:8089
//   build/bench/keynote_client --url ws://127.0.0.1:8089/v1/contexts/ws_shim_bank/ws
const balances = new Map();

const functions = {
  seed(first, count, balance) {
    for (let i = first; i < first + count; i++) balances.set(String(i), balance);
    return { seeded: count };
  },
  transfer(from, to, amount) {
    const a = balances.get(from), b = balances.get(to);
    if (a === undefined || b === undefined) throw new RangeError(`no account '${a === undefined ? from : to}'`);
    if (from === to) throw new RangeError('cannot transfer to the same account');
    if (a < amount) throw new RangeError(`insufficient funds in '${from}'`);
    balances.set(from, a - amount);
    balances.set(to, b + amount);
    return { [from]: a - amount, [to]: b + amount };
  },
  audit() {
    let total = 0;
    for (const v of balances.values()) total += v;
    return { accounts: balances.size, total };
  },
};

export { functions };
const { seed, transfer, audit } = functions;
export { seed, transfer, audit };

globalThis.onmessage = ({ data }) => {
  const { id, call, args } = data ?? {};
  try {
    if (!Object.hasOwn(functions, call)) throw new TypeError(`no function '${call}'`);
    host.send({ id, result: functions[call](...(args ?? [])) });
  } catch (err) {
    host.send({ id, error: { name: err.name, message: err.message } });
  }
};
