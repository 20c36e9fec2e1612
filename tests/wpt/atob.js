// atob.js — runs atob() over WPT's forgiving-base64 table (fetch/data-urls/resources/
// base64.json, given as WPT_DATA) as WPT's html/webappapis/atob/base64.any.js does: an
// entry [input, bytes] decodes to those byte values, [input, null] throws
// InvalidCharacterError.
'use strict';
for (const [input, output] of WPT_DATA) {
  test(() => {
    if (output === null) {
      assert_throws_dom('InvalidCharacterError', () => atob(input));
      return;
    }
    const result = atob(input);
    assert_equals(typeof result, 'string');
    assert_array_equals(Array.from(result, (c) => c.charCodeAt(0)), output);
  }, `atob(${format_value(input)})`);
}
