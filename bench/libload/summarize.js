// summarize.js — the markdown table of bench/libload/run.sh: per library and engine, the
// medians over runs of each run's per-context medians, and the ratios to node-vm (lower is
// better for jspool: 0.5 = half Node's cost). Also says whether every engine's check
// output agreed with node-vm's.
'use strict';
const fs = require('fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.ceil(s.length / 2) - 1]; };
const groups = new Map();
for (const r of rows) {
  const key = `${r.label}\t${r.engine === 'jspool' ? 'jspool ' + r.mode : r.engine}`;
  if (!groups.has(key)) groups.set(key, []);
  groups.get(key).push(r);
}
const fields = ['first_load_ms', 'create_ms', 'load_ms', 'total_ms', 'rss_per_ctx_kb'];
const out = ['| library | engine | runs | first load ms | create ms | load ms | create+load ms | RSS/ctx KB | ×vm time | ×vm RSS | check |',
             '|---|---|---|---|---|---|---|---|---|---|---|'];
const med = new Map();
for (const [key, rs] of groups) med.set(key, Object.fromEntries(fields.map((f) => [f, median(rs.map((r) => r[f]))])));
for (const [key, rs] of groups) {
  const [label, engine] = key.split('\t');
  const m = med.get(key), vmKey = `${label}\tnode-vm`, v = med.get(vmKey);
  const vmCheck = groups.has(vmKey) ? groups.get(vmKey)[0].check : undefined;
  const agrees = rs.every((r) => r.failures === 0 && r.check === vmCheck);
  const ratio = (a, b) => (v ? (a / b).toFixed(2) : '-');
  out.push(`| ${label} (${Math.round(rs[0].bytes / 1024)} KB) | ${engine} | ${rs.length} | ${m.first_load_ms.toFixed(2)} | ` +
           `${m.create_ms.toFixed(3)} | ${m.load_ms.toFixed(3)} | ${m.total_ms.toFixed(3)} | ${m.rss_per_ctx_kb.toFixed(0)} | ` +
           `${ratio(m.total_ms, v && v.total_ms)} | ${ratio(m.rss_per_ctx_kb, v && v.rss_per_ctx_kb)} | ${agrees ? 'same' : 'DIFFERS'} |`);
}
console.log(out.join('\n'));
