// check.mjs — real npm packages used as their READMEs show, imported from node_modules as
// published (ES modules and CommonJS); prints one JSON line. expected.json is what Node 20
// printed for this file (tests/npm/record.sh); run.sh compares jspool's output with it.
import _ from 'lodash';
import { z } from 'zod';
import { h } from 'preact';
import { renderToString } from 'preact-render-to-string';
import dayjs from 'dayjs';
import { marked } from 'marked';
import { v4 as uuidv4, validate as uuidValidate, v5 as uuidv5 } from 'uuid';
import { nanoid, customAlphabet } from 'nanoid';
import { object, string, number, assert as ssAssert, is as ssIs } from 'superstruct';

const out = {};
out.lodash = [_.chunk([1, 2, 3, 4, 5], 2), _.groupBy(['one', 'two', 'three'], 'length'),
  _.camelCase('Foo Bar-baz'), _.template('hi <%= name %>!')({ name: 'jspool' }), _.range(0, 10, 3)];
const User = z.object({ name: z.string().min(2), age: z.number().int().positive() });
const bad = User.safeParse({ name: 'x', age: -1 });
out.zod = [User.parse({ name: 'Ada', age: 36 }), bad.success, bad.error.issues.map((i) => i.path.join('.') + ':' + i.code)];
out.preact = renderToString(h('ul', { class: 'list' }, ['a', 'b<c'].map((t) => h('li', { key: t }, t))));
out.dayjs = [dayjs('2024-02-28').add(1, 'day').format('YYYY-MM-DD dddd'), dayjs('2024-01-01').diff('2023-01-01', 'day')];
out.marked = marked.parse('# Title\n\nSome *emphasis* and `code`.\n\n- a\n- b\n');
const id = uuidv4();
out.uuid = [uuidValidate(id), id.length, id[14], uuidv5('jspool', uuidv5.URL)];
out.nanoid = [nanoid().length, /^[A-Za-z0-9_-]+$/.test(nanoid()), customAlphabet('ab', 8)().replace(/[ab]/g, '').length];
const Point = object({ x: number(), y: number(), label: string() });
let err = '';
try { ssAssert({ x: 1, y: 'no', label: 'p' }, Point); } catch (e) { err = e.message; }
out.superstruct = [ssIs({ x: 1, y: 2, label: 'p' }, Point), err];
console.log(JSON.stringify(out));
