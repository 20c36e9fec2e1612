// peers.js — the Node.js side of bench/libload, measured as bench_libload.c measures
// jspool: N contexts, each created and then given the library's classic bundle (an IIFE
// defining `lib`), timing creation and load apart; RSS held by all of them
// (process.memoryUsage().rss after a 300 ms settle, minus before the first, / N); the
// check expression on the first and last context. One JSON line on stdout.
//
//   node peers.js vm|ivm|ivm-isolate N LABEL FILE CHECK
//
// vm:          vm.createContext() + new vm.Script(source, {filename}).runInContext() — what a
//              Node user writes; V8's per-isolate compilation cache serves contexts 2..N.
// ivm:         isolated-vm, one Isolate, N contexts (createContextSync + compileScriptSync
//              + runSync): the peer of jspool's light contexts.
// ivm-isolate: isolated-vm, an Isolate per context (memoryLimit 64 MB): the peer of
//              jspool's isolated contexts.
'use strict';
const fs = require('fs');
const vm = require('vm');

const [mode, nText, label, file, check] = process.argv.slice(2);
const n = Number(nText);
const source = fs.readFileSync(file, 'utf8');
const now = () => Number(process.hrtime.bigint());
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.ceil(s.length / 2) - 1]; };

async function main() {
  let ivm, shared;
  if (mode !== 'vm') {
    ivm = require('isolated-vm');
    if (mode === 'ivm') shared = new ivm.Isolate({memoryLimit: 1024});
  }
  const kept = [], create = [], load = [], total = [];
  await sleep(200);
  const rssBefore = process.memoryUsage().rss;
  const wall0 = now();
  for (let k = 0; k < n; k++) {
    const t0 = now();
    let ctx, isolate;
    if (mode === 'vm') {
      ctx = vm.createContext({});
    } else {
      isolate = shared || new ivm.Isolate({memoryLimit: 64});
      ctx = isolate.createContextSync();
    }
    const t1 = now();
    if (mode === 'vm') {
      new vm.Script(source, {filename: file}).runInContext(ctx);
    } else {
      isolate.compileScriptSync(source, {filename: file}).runSync(ctx);
    }
    const t2 = now();
    create.push(t1 - t0); load.push(t2 - t1); total.push(t2 - t0);
    kept.push({ctx, isolate});
  }
  const wall = now() - wall0;
  await sleep(300);
  const rssAfter = process.memoryUsage().rss;
  const run = ({ctx, isolate}) => mode === 'vm'
    ? vm.runInContext(check, ctx)
    : isolate.compileScriptSync(check).runSync(ctx, {copy: true});
  const first = run(kept[0]), last = run(kept[n - 1]);
  console.log(JSON.stringify({
    engine: mode === 'vm' ? 'node-vm' : mode, label, mode: 'eval', n,
    first_load_ms: load[0] / 1e6, create_ms: median(create) / 1e6, load_ms: median(load) / 1e6,
    total_ms: median(total) / 1e6, wall_per_ctx_ms: wall / 1e6 / n,
    rss_per_ctx_kb: (rssAfter - rssBefore) / 1024 / n, failures: first === last ? 0 : 1,
    check: first, node: process.version,
  }));
}
main().catch((e) => { console.error(e); process.exit(1); });
