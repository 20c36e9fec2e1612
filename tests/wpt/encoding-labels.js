// encoding-labels.js — checks TextDecoder against every label of the WHATWG Encoding
// standard's encodings.json (given as WPT_DATA), the way WPT's textdecoder-labels,
// api-replacement-encodings and api-invalid-label tests walk that same table: each label
// (any ASCII case, ASCII-whitespace padded) names its encoding, the replacement labels and
// labels padded with non-ASCII-whitespace characters are RangeErrors.
'use strict';
{
  const asciiWhitespace = [' ', '\t', '\n', '\f', '\r'];
  const notWhitespace = ['\u0000', '\u000b', '\u00a0', '\u2028', '\u2029'];
  for (const section of WPT_DATA) {
    for (const encoding of section.encodings) {
      const name = encoding.name.toLowerCase();
      for (const label of encoding.labels) {
        if (name === 'replacement') {
          test(() => {
            assert_throws_js(RangeError, () => new TextDecoder(label));
          }, `TextDecoder rejects the replacement label ${format_value(label)}`);
          continue;
        }
        test(() => {
          assert_equals(new TextDecoder(label).encoding, name, 'label');
          assert_equals(new TextDecoder(label.toUpperCase()).encoding, name, 'upper-case label');
          for (const ws of asciiWhitespace) {
            assert_equals(new TextDecoder(ws + label).encoding, name, 'leading ' + format_value(ws));
            assert_equals(new TextDecoder(label + ws).encoding, name, 'trailing ' + format_value(ws));
            assert_equals(new TextDecoder(ws + label + ws).encoding, name, 'surrounding ' + format_value(ws));
          }
        }, `${name}: TextDecoder label ${format_value(label)}`);
        test(() => {
          for (const c of notWhitespace) {
            for (const padded of [c + label, label + c, c + label + c]) {
              assert_throws_js(RangeError, () => new TextDecoder(padded), format_value(padded));
            }
          }
        }, `TextDecoder rejects ${format_value(label)} (${name}) padded with non-ASCII-whitespace`);
      }
    }
  }
}
