// url_conformance.js — runs the web-platform-tests URL data (urltestdata.json and
// setters_tests.json, as Debian's librust-url-dev ships them) against our URL, the way
// WPT's url-constructor / url-setters tests do. test_url.c evaluates this file, then calls
// runUrlTestData(data) / runSetterTests(data); each returns { pass, total, failures }.
'use strict';

function runUrlTestData(data) {
  const keys = ['href', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash'];
  let pass = 0, total = 0;
  const failures = [];
  for (const test of data) {
    if (typeof test !== 'object' || test === null) continue; // comments
    total++;
    const base = test.base === null || test.base === undefined ? undefined : test.base;
    let why = null;
    try {
      const url = new URL(test.input, base);
      if (test.failure) {
        why = `expected failure, got ${url.href}`;
      } else {
        for (const key of keys.concat('origin' in test ? ['origin'] : [])) {
          if (url[key] !== test[key]) { why = `${key}: got ${JSON.stringify(url[key])}, expected ${JSON.stringify(test[key])}`; break; }
        }
        if (!why && 'searchParams' in test && url.searchParams.toString() !== test.searchParams)
          why = `searchParams: got ${url.searchParams}`;
      }
    } catch (error) {
      if (!test.failure) why = `threw ${error && error.name}: ${error && error.message}`;
      else if (!(error instanceof TypeError)) why = `threw ${error && error.name}, expected TypeError`;
    }
    if (!why && test.failure && URL.canParse(test.input, base)) why = 'URL.canParse said true';
    if (why) failures.push({ input: test.input, base: test.base, why });
    else pass++;
  }
  return { pass, total, failures };
}

function runSetterTests(data) {
  let pass = 0, total = 0;
  const failures = [];
  for (const setter of Object.keys(data)) {
    if (setter === 'comment') continue;
    for (const test of data[setter]) {
      total++;
      let why = null;
      try {
        const url = new URL(test.href);
        url[setter] = test.new_value;
        for (const key of Object.keys(test.expected)) {
          if (url[key] !== test.expected[key]) {
            why = `${key}: got ${JSON.stringify(url[key])}, expected ${JSON.stringify(test.expected[key])}`;
            break;
          }
        }
      } catch (error) {
        why = `threw ${error && error.name}: ${error && error.message}`;
      }
      if (why) failures.push({ setter, href: test.href, new_value: test.new_value, why });
      else pass++;
    }
  }
  return { pass, total, failures };
}

// IdnaTestV2.txt (Unicode's UTS #46 tests, as Debian's librust-idna-dev ships them), run
// through the URL host parser: 'https://' + source + '/' must give toAsciiN as hostname, or
// fail when toAsciiN has an error status. Skipped, as WPT skips them: cases whose status
// depends on options the URL Standard turns off (CheckHyphens V2/V3, UseSTD3ASCIIRules U1,
// VerifyDnsLength A4_*), and sources the URL parser treats before IDNA (delimiters, '%',
// hosts ending in a number).
function runIdnaTests(text) {
  const unescape = (s) => s.replace(/\\u([0-9A-Fa-f]{4})|\\x\{([0-9A-Fa-f]+)\}/g,
    (_, u, x) => String.fromCodePoint(parseInt(u || x, 16)));
  const ignored = /\b(V2|V3|U1|A4_1|A4_2)\b/;
  let pass = 0, total = 0, skipped = 0;
  const failures = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '');
    if (!line.trim()) continue;
    const f = line.split(';').map((x) => unescape(x.trim()));
    const source = f[0], toUnicode = f[1] || source, toUnicodeStatus = f[2];
    const toAsciiN = f[3] || toUnicode, toAsciiNStatus = f[4] || toUnicodeStatus;
    if (ignored.test(toAsciiNStatus) || ignored.test(toUnicodeStatus) ||
        /[\u0000-\u0020%\/\\?#@:\[\]<>^|]/.test(source) || /(^|\.)(0x[0-9a-f]*|[0-9]+)\.?$/i.test(toAsciiN)) {
      skipped++;
      continue;
    }
    total++;
    const expectError = toAsciiNStatus !== '' && toAsciiNStatus !== '[]';
    const url = URL.parse('https://' + source + '/');
    let why = null;
    if (expectError && url) why = `expected failure ${toAsciiNStatus}, got ${url.hostname}`;
    else if (!expectError && !url) why = `failed, expected ${toAsciiN}`;
    else if (!expectError && url.hostname !== toAsciiN) why = `got ${url.hostname}, expected ${toAsciiN}`;
    if (why) failures.push({ source, why });
    else pass++;
  }
  return { pass, total, skipped, failures };
}
