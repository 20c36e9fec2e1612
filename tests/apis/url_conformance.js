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
