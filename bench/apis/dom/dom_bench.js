// dom_bench.js — the DOM benchmark's page and timing loop, shared by the jspool run and
// the Node runs (linkedom, jsdom) of bench/apis/dom/run.sh so all parse the same bytes
// and run the same queries. makePage: a deterministic ~1 MB news-site-like document
// (nested sections, lists, tables, links, attributes, entities).
function makePage(targetBytes) {
  let seed = 42;
  const rand = (n) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const words = ['alpha', 'beta', 'gamma', 'delta', 'news', 'market', 'sport', 'weather', 'city', 'world', 'caf\u00e9', 'r&amp;d', 'data'];
  const sentence = (n) => { let s = ''; for (let i = 0; i < n; i++) s += (i ? ' ' : '') + words[rand(words.length)]; return s; };
  const parts = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Bench page</title>',
    '<style>body { margin: 0 } .card > a { color: red }</style><script>var x = 1 < 2;</script></head><body>',
    '<header id="top" class="site-header"><nav><ul class="menu">'];
  for (let i = 0; i < 20; i++) parts.push(`<li class="item${i % 3 === 0 ? ' active' : ''}"><a href="/s/${i}">${sentence(2)}</a></li>`);
  parts.push('</ul></nav></header><main>');
  let size = parts.join('').length, n = 0;
  while (size < targetBytes) {
    const a = [];
    a.push(`<section class="card cat-${n % 7}" data-id="${n}" id="card-${n}"><h2 class="title">${sentence(4)}</h2>`);
    a.push(`<p class="lead">${sentence(25)} <a href="https://example.com/a/${n}" rel="nofollow">${sentence(2)}</a> ${sentence(12)}</p>`);
    a.push('<ul class="tags">');
    for (let k = 0; k < 4; k++) a.push(`<li><a class="tag" href="/t/${rand(100)}">${words[rand(words.length)]}</a></li>`);
    a.push('</ul>');
    if (n % 5 === 0) {
      a.push('<table class="stats"><tr><th>k</th><th>v</th></tr>');
      for (let r = 0; r < 5; r++) a.push(`<tr><td>${sentence(1)}</td><td data-v="${rand(1000)}">${rand(1000)}</td></tr>`);
      a.push('</table>');
    }
    a.push(`<div class="meta"><span class="author">${sentence(2)}</span><img src="/i/${n}.png" alt="${sentence(3)}"><br><time datetime="2024-01-${1 + n % 28}">${n}</time></div>`);
    a.push('</section>');
    const chunk = a.join('');
    parts.push(chunk);
    size += chunk.length;
    n++;
  }
  parts.push('</main><footer><p>&copy; 2024</p></footer></body></html>');
  return parts.join('');
}
// The queries timed after the parse: one querySelectorAll each.
const QUERIES = ['a', 'section.card > h2.title', 'ul.tags li:nth-child(2n+1) a.tag', '[data-id$="7"] img',
  'main section:not(.cat-3) p.lead a[rel~=nofollow]', 'td + td'];
// parse(html) -> a document; `rounds` parses, each followed by the queries: medians in ms
// and the match counts (the same for every implementation, or the comparison is off).
function runBench(parse, rounds) {
  const html = makePage(1 << 20);
  const median = (a) => { const s = a.slice().sort((x, y) => x - y); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
  const parseMs = [], queryMs = [];
  let counts = null;
  for (let i = 0; i < rounds; i++) {
    const t0 = Date.now();
    const doc = parse(html);
    const t1 = Date.now();
    counts = QUERIES.map((q) => doc.querySelectorAll(q).length);
    queryMs.push(Date.now() - t1);
    parseMs.push(t1 - t0);
  }
  return { bytes: html.length, parse_ms: median(parseMs), query_ms: median(queryMs), counts: counts.join('/') };
}
if (typeof module !== 'undefined') module.exports = { makePage, QUERIES, runBench };
