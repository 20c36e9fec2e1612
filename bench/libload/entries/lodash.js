// bench/libload: lodash, bundled whole (the CommonJS build, as `import _ from "lodash"` gets it).
import _ from 'lodash';
export function check() {
  return JSON.stringify([_.chunk([1, 2, 3, 4, 5], 2), _.kebabCase('Hello World'),
                         _.sortBy([{a: 3}, {a: 1}], 'a'), _.VERSION]);
}
