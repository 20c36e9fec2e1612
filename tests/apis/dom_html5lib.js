// dom_html5lib.js — runs html5lib-tests tree-construction cases (the .dat format: #data,
// #errors, optional #document-fragment / #script-on|off, #document) through the dom
// group and compares its tree, dumped in the format's notation, with the expected one.
// Loaded by tests/apis/test_dom.c; runTreeTests(text) -> {pass, total, skipped, failures}.
function runTreeTests(text) {
  const ns = { 'http://www.w3.org/2000/svg': 'svg ', 'http://www.w3.org/1998/Math/MathML': 'math ' };
  const attrNs = { 'http://www.w3.org/1999/xlink': 'xlink ', 'http://www.w3.org/XML/1998/namespace': 'xml ',
    'http://www.w3.org/2000/xmlns/': 'xmlns ' };
  function dump(parent, depth, lines) {
    // iterative would be nicer, but these cases are shallow
    for (let n = parent.firstChild; n; n = n.nextSibling) {
      const pad = '| ' + '  '.repeat(depth);
      if (n.nodeType === 1) {
        lines.push(pad + '<' + (ns[n.namespaceURI] || '') + n.localName + '>');
        const attrs = Array.from(n.attributes).map((a) => [(attrNs[a.namespaceURI] || '') + a.localName, a.value]);
        attrs.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
        for (const [k, v] of attrs) lines.push(pad + '  ' + k + '="' + v + '"');
        if (n.localName === 'template' && !ns[n.namespaceURI]) {
          lines.push(pad + '  content');
          dump(n.content, depth + 2, lines);
        }
        dump(n, depth + 1, lines);
      } else if (n.nodeType === 3) lines.push(pad + '"' + n.data + '"');
      else if (n.nodeType === 8) lines.push(pad + '<!-- ' + n.data + ' -->');
      else if (n.nodeType === 10) {
        const ids = n.publicId || n.systemId ? ` "${n.publicId}" "${n.systemId}"` : '';
        lines.push(pad + '<!DOCTYPE ' + n.name + ids + '>');
      }
    }
    return lines;
  }
  const cases = [];
  let current = null, section = null;
  for (const line of text.split('\n')) {
    if (line === '#data') { current = { data: [], document: [], fragment: null, script: null }; cases.push(current); section = 'data'; continue; }
    if (!current) continue;
    if (line === '#errors' || line === '#new-errors') { section = 'errors'; continue; }
    if (line === '#document-fragment') { section = 'fragment'; continue; }
    if (line === '#script-on' || line === '#script-off') { current.script = line.slice(8); continue; }
    if (line === '#document') { section = 'document'; continue; }
    if (section === 'data') current.data.push(line);
    else if (section === 'fragment') current.fragment = line;
    else if (section === 'document') current.document.push(line);
  }
  let pass = 0, total = 0, skipped = 0;
  const failures = [];
  for (const c of cases) {
    const input = c.data.join('\n');
    while (c.document.length && c.document[c.document.length - 1] === '') c.document.pop();
    // gumbo parses with scripting on (noscript is raw text): script-off cases test another parser
    if (c.script === 'off') { skipped++; continue; }
    const expected = c.document.join('\n');
    total++;
    let actual;
    try {
      if (c.fragment) {
        const doc = new DOMParser().parseFromString('', 'text/html');
        const [prefix, local] = c.fragment.includes(' ') ? c.fragment.split(' ') : ['', c.fragment];
        const uri = prefix === 'svg' ? 'http://www.w3.org/2000/svg' : prefix === 'math' ? 'http://www.w3.org/1998/Math/MathML' : 'http://www.w3.org/1999/xhtml';
        const context = doc.createElementNS(uri, local);
        context.innerHTML = input;
        actual = dump(context.localName === 'template' && !prefix ? context.content : context, 0, []).join('\n');
      } else {
        actual = dump(new DOMParser().parseFromString(input, 'text/html'), 0, []).join('\n');
      }
    } catch (e) {
      actual = 'threw ' + e;
    }
    if (actual === expected) pass++;
    else if (failures.length < 400) failures.push({ input, fragment: c.fragment, expected, actual });
  }
  return { pass, total, skipped, failures };
}
