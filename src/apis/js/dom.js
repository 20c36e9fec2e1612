// dom.js — the `dom` group: `document`, DOMParser and a DOM node tree (Node, Element, Text,
// Comment, Document, DocumentFragment, DocumentType, Attr) with the DOM standard's tree
// operations, CSS Selectors level 3 (plus :is/:where/:has/:scope) for querySelector(All),
// matches and closest, and the HTML standard's fragment serialization (innerHTML/outerHTML).
// HTML is parsed by gumbo in C (natives.parse, src/engine/natives_dom.c), which hands over
// one compact representation that build() turns into these objects: the GC owns every node.
// Not for: rendering, layout, scripts in the document (never run), events along the tree
// (a node's listeners run, but there is no capture/bubble path), live collections
// (childNodes, children and getElementsBy* return static lists), XML parsing.
// Every walk over the tree is iterative: a 100k-deep document cannot overflow any stack.
// Depends on `events` (nodes are EventTargets).
(function (global, natives) {
  'use strict';
  const DOMException = global.DOMException;
  const EventTarget = global.EventTarget;
  const parseNative = natives.parse;
  const KEY = Symbol('dom-internal');

  const HTML_NS = 'http://www.w3.org/1999/xhtml';
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const MATH_NS = 'http://www.w3.org/1998/Math/MathML';
  const XLINK_NS = 'http://www.w3.org/1999/xlink';
  const XML_NS = 'http://www.w3.org/XML/1998/namespace';
  const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
  const ELEMENT_NS = [HTML_NS, SVG_NS, MATH_NS];
  const ATTR_NS = [null, XLINK_NS, XML_NS, XMLNS_NS];
  const ATTR_PREFIX = [null, 'xlink', 'xml', 'xmlns'];

  const ELEMENT_NODE = 1, ATTRIBUTE_NODE = 2, TEXT_NODE = 3, CDATA_SECTION_NODE = 4, PROCESSING_INSTRUCTION_NODE = 7,
    COMMENT_NODE = 8, DOCUMENT_NODE = 9, DOCUMENT_TYPE_NODE = 10, DOCUMENT_FRAGMENT_NODE = 11;

  const VOID = new Set(['area', 'base', 'basefont', 'bgsound', 'br', 'col', 'embed', 'frame', 'hr', 'img', 'input',
    'keygen', 'link', 'meta', 'param', 'source', 'track', 'wbr']);
  const RAW_TEXT = new Set(['style', 'script', 'xmp', 'iframe', 'noembed', 'noframes', 'plaintext']);

  const domError = (message, name) => new DOMException(message, name);
  const upperCache = new Map();
  function upper(name) {
    let u = upperCache.get(name);
    if (u === undefined) {
      u = name.replace(/[a-z]+/g, (s) => s.toUpperCase());
      if (upperCache.size < 4096) upperCache.set(name, u);
    }
    return u;
  }
  const asciiLower = (s) => s.replace(/[A-Z]+/g, (c) => c.toLowerCase());
  const NAME = /^[A-Za-z_:\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\uD800-\uDBFF][A-Za-z0-9_:.\-\u00B7\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u037D\u037F-\u1FFF\u200C-\u200D\u203F-\u2040\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\uD800-\uDFFF]*$/;
  function checkName(name, what) {
    if (!NAME.test(name)) throw domError(`${what}: '${name}' is not a valid name`, 'InvalidCharacterError');
  }

  // ---- the tree's links (a doubly linked list of children per parent) ----
  function link(parent, child, before) {
    child._parent = parent;
    if (before) {
      const prev = before._prev;
      child._prev = prev;
      child._next = before;
      before._prev = child;
      if (prev) prev._next = child; else parent._first = child;
    } else {
      const last = parent._last;
      child._prev = last;
      child._next = null;
      if (last) last._next = child; else parent._first = child;
      parent._last = child;
    }
  }
  function unlink(child) {
    const parent = child._parent;
    if (!parent) return;
    const prev = child._prev, next = child._next;
    if (prev) prev._next = next; else parent._first = next;
    if (next) next._prev = prev; else parent._last = prev;
    child._parent = child._prev = child._next = null;
  }
  // The node after n in document order within root (n's subtree first), or null.
  function following(n, root) {
    if (n._first) return n._first;
    while (n !== root) {
      if (n._next) return n._next;
      n = n._parent;
      if (!n) return null;
    }
    return null;
  }
  function followingSkipChildren(n, root) {
    while (n !== root) {
      if (n._next) return n._next;
      n = n._parent;
      if (!n) return null;
    }
    return null;
  }
  function setDocument(node, doc) {
    if (node._doc === doc) return;
    for (let n = node; n; n = following(n, node)) {
      n._doc = doc;
      if (n._content) setDocument(n._content, doc._templateDoc());
    }
  }

  class NodeList extends Array {
    static get [Symbol.species]() { return Array; }
    item(i) { return this[i >>> 0] ?? null; }
  }
  class HTMLCollection extends NodeList {
    namedItem(name) {
      for (const el of this) if (el.id === name || el.getAttribute('name') === name) return el;
      return null;
    }
  }
  function listOf(Kind, items) {
    const list = new Kind();
    for (let i = 0; i < items.length; i++) list.push(items[i]);
    return list;
  }

  // ---- Node ----
  class Node {
    constructor(token) {
      if (token !== KEY) throw new TypeError('Illegal constructor');
      this._doc = null;
      this._parent = null;
      this._first = null;
      this._last = null;
      this._prev = null;
      this._next = null;
    }
    get ownerDocument() { return this.nodeType === DOCUMENT_NODE ? null : this._doc; }
    get parentNode() { return this._parent; }
    get parentElement() { const p = this._parent; return p && p.nodeType === ELEMENT_NODE ? p : null; }
    get firstChild() { return this._first; }
    get lastChild() { return this._last; }
    get previousSibling() { return this._prev; }
    get nextSibling() { return this._next; }
    get childNodes() {
      const list = new NodeList();
      for (let c = this._first; c; c = c._next) list.push(c);
      return list;
    }
    hasChildNodes() { return this._first !== null; }
    get nodeValue() { return null; }
    set nodeValue(v) {}
    get textContent() { return null; }
    set textContent(v) {}
    get isConnected() {
      let n = this;
      while (n._parent) n = n._parent;
      return n.nodeType === DOCUMENT_NODE;
    }
    getRootNode() {
      let n = this;
      while (n._parent) n = n._parent;
      return n;
    }
    contains(other) {
      if (other === null || other === undefined) return false;
      if (!(other instanceof Node)) throw new TypeError('Node.contains: argument is not a Node');
      for (let n = other; n; n = n._parent) if (n === this) return true;
      return false;
    }
    isSameNode(other) { return this === other; }
    isEqualNode(other) {
      if (!(other instanceof Node)) return false;
      const pairs = [this, other];
      while (pairs.length) {
        const b = pairs.pop(), a = pairs.pop();
        if (!shallowEqual(a, b) || !a._content !== !b._content) return false;
        if (a._content) pairs.push(a._content, b._content);
        let x = a._first, y = b._first;
        for (; x && y; x = x._next, y = y._next) pairs.push(x, y);
        if (x || y) return false;
      }
      return true;
    }
    compareDocumentPosition(other) {
      if (!(other instanceof Node)) throw new TypeError('Node.compareDocumentPosition: argument is not a Node');
      if (other === this) return 0;
      const ancestors = (n) => { const list = []; for (; n; n = n._parent) list.push(n); return list.reverse(); };
      const a = ancestors(this), b = ancestors(other);
      if (a[0] !== b[0]) return 1 | 32 | (a[0] === this ? 4 : 2);
      let i = 0;
      while (i < a.length && i < b.length && a[i] === b[i]) i++;
      if (i === a.length) return 16 | 4; // other is inside this
      if (i === b.length) return 8 | 2;  // other contains this
      for (let n = a[i]; n; n = n._next) if (n === b[i]) return 4;
      return 2;
    }
    appendChild(node) { return insert(this, node, null, 'appendChild'); }
    insertBefore(node, child) {
      if (arguments.length < 2) throw new TypeError('Node.insertBefore: 2 arguments required');
      return insert(this, node, child === undefined ? null : child, 'insertBefore');
    }
    removeChild(child) {
      if (!(child instanceof Node)) throw new TypeError('Node.removeChild: argument is not a Node');
      if (child._parent !== this) throw domError('Node.removeChild: the node is not a child of this node', 'NotFoundError');
      unlink(child);
      return child;
    }
    replaceChild(node, child) {
      if (!(child instanceof Node)) throw new TypeError('Node.replaceChild: argument is not a Node');
      if (child._parent !== this) throw domError('Node.replaceChild: the node is not a child of this node', 'NotFoundError');
      if (node === child) return child;
      const next = child._next === node ? node._next : child._next;
      checkInsert(this, node, 'replaceChild', child);
      unlink(child);
      insert(this, node, next, 'replaceChild');
      return child;
    }
    cloneNode(deep = false) { return cloneTree(this, this._doc, !!deep); }
    normalize() {
      for (let n = this._first; n;) {
        const next = following(n, this);
        if (n.nodeType === TEXT_NODE) {
          if (n._data === '') { const after = followingSkipChildren(n, this); unlink(n); n = after; continue; }
          while (n._next && n._next.nodeType === TEXT_NODE) { n._data += n._next._data; unlink(n._next); }
          n = followingSkipChildren(n, this);
          continue;
        }
        n = next;
      }
    }
    get baseURI() { return 'about:blank'; }
    // events: each node's own listeners (no capture/bubble path along the tree)
    addEventListener(type, callback, options) { targetOf(this).addEventListener(type, callback, options); }
    removeEventListener(type, callback, options) { if (this._events) this._events.removeEventListener(type, callback, options); }
    dispatchEvent(event) { return targetOf(this).dispatchEvent(event); }
  }
  function targetOf(node) { return node._events || (node._events = new EventTarget()); }
  Object.setPrototypeOf(Node.prototype, EventTarget.prototype);
  const nodeConstants = { ELEMENT_NODE, ATTRIBUTE_NODE, TEXT_NODE, CDATA_SECTION_NODE, ENTITY_REFERENCE_NODE: 5,
    ENTITY_NODE: 6, PROCESSING_INSTRUCTION_NODE, COMMENT_NODE, DOCUMENT_NODE, DOCUMENT_TYPE_NODE,
    DOCUMENT_FRAGMENT_NODE, NOTATION_NODE: 12, DOCUMENT_POSITION_DISCONNECTED: 1, DOCUMENT_POSITION_PRECEDING: 2,
    DOCUMENT_POSITION_FOLLOWING: 4, DOCUMENT_POSITION_CONTAINS: 8, DOCUMENT_POSITION_CONTAINED_BY: 16,
    DOCUMENT_POSITION_IMPLEMENTATION_SPECIFIC: 32 };
  for (const [k, v] of Object.entries(nodeConstants)) {
    Object.defineProperty(Node, k, { value: v, enumerable: true });
    Object.defineProperty(Node.prototype, k, { value: v, enumerable: true });
  }
  function shallowEqual(a, b) {
    if (a.nodeType !== b.nodeType) return false;
    switch (a.nodeType) {
    case ELEMENT_NODE: {
      if (a._local !== b._local || a._ns !== b._ns || a._prefix !== b._prefix) return false;
      const x = a._attrs || [], y = b._attrs || [];
      if (x.length !== y.length) return false;
      return x.every((at) => y.some((bt) => bt._local === at._local && bt._ns === at._ns && bt._value === at._value));
    }
    case TEXT_NODE: case COMMENT_NODE: return a._data === b._data;
    case DOCUMENT_TYPE_NODE: return a.name === b.name && a.publicId === b.publicId && a.systemId === b.systemId;
    default: return true;
    }
  }

  function isInclusiveAncestor(node, of) {
    for (let n = of; n; n = n._parent) if (n === node) return true;
    return false;
  }
  function checkInsert(parent, node, what, child) {
    if (!(node instanceof Node)) throw new TypeError(`Node.${what}: argument is not a Node`);
    const pt = parent.nodeType;
    if (pt !== ELEMENT_NODE && pt !== DOCUMENT_NODE && pt !== DOCUMENT_FRAGMENT_NODE)
      throw domError(`Node.${what}: this node cannot have children`, 'HierarchyRequestError');
    // a node without children can only contain itself: building a deep chain stays linear
    if (node._first === null ? node === parent : isInclusiveAncestor(node, parent))
      throw domError(`Node.${what}: the new child contains the parent`, 'HierarchyRequestError');
    const t = node.nodeType;
    if (t === DOCUMENT_NODE || (t === DOCUMENT_TYPE_NODE && pt !== DOCUMENT_NODE))
      throw domError(`Node.${what}: a ${node.nodeName} cannot be inserted here`, 'HierarchyRequestError');
    if (pt === DOCUMENT_NODE) {
      if (t === TEXT_NODE) throw domError(`Node.${what}: a document cannot have text children`, 'HierarchyRequestError');
      const elements = t === ELEMENT_NODE ? 1 : t === DOCUMENT_FRAGMENT_NODE ? countElements(node) : 0;
      if (elements && countElements(parent) - (child && child.nodeType === ELEMENT_NODE ? 1 : 0) + elements > 1)
        throw domError(`Node.${what}: a document has one element child at most`, 'HierarchyRequestError');
    }
  }
  function countElements(n) { let k = 0; for (let c = n._first; c; c = c._next) if (c.nodeType === ELEMENT_NODE) k++; return k; }
  function insert(parent, node, child, what) {
    if (child !== null && !(child instanceof Node)) throw new TypeError(`Node.${what}: the reference is not a Node`);
    if (child !== null && child._parent !== parent)
      throw domError(`Node.${what}: the reference node is not a child of this node`, 'NotFoundError');
    checkInsert(parent, node, what, null);
    const doc = parent.nodeType === DOCUMENT_NODE ? parent : parent._doc;
    if (child === node) child = node._next;
    if (node.nodeType === DOCUMENT_FRAGMENT_NODE) {
      for (let c = node._first; c;) {
        const next = c._next;
        unlink(c);
        setDocument(c, doc);
        link(parent, c, child);
        c = next;
      }
      return node;
    }
    unlink(node);
    setDocument(node, doc);
    link(parent, node, child);
    return node;
  }
  // Nodes and strings (as Text) for append/prepend/before/after/replaceWith.
  function nodesToNode(doc, nodes) {
    if (nodes.length === 1 && nodes[0] instanceof Node) return nodes[0];
    const fragment = new DocumentFragment();
    fragment._doc = doc;
    for (const n of nodes) fragment.appendChild(n instanceof Node ? n : makeText(doc, String(n)));
    return fragment;
  }

  function cloneTree(source, doc, deep) {
    const copyOne = (n) => {
      let c;
      switch (n.nodeType) {
      case ELEMENT_NODE:
        c = makeElement(doc, n._local, n._ns, n._prefix);
        if (n._attrs) c._attrs = n._attrs.map((a) => makeAttr(a._local, a._value, a._ns, a._prefix, c));
        if (n._content) c._content = cloneTree(n._content, c._content ? c._content._doc : doc, true);
        return c;
      case TEXT_NODE: return makeText(doc, n._data);
      case COMMENT_NODE: c = new Comment(n._data); c._doc = doc; return c;
      case DOCUMENT_TYPE_NODE: return makeDoctype(doc, n.name, n.publicId, n.systemId);
      case DOCUMENT_FRAGMENT_NODE: c = new DocumentFragment(); c._doc = doc; return c;
      case DOCUMENT_NODE: c = new Document(); return c;
      }
      throw domError('cloneNode: unsupported node', 'NotSupportedError');
    };
    const top = copyOne(source);
    if (source.nodeType === DOCUMENT_NODE) doc = top;
    if (!deep) return top;
    const fix = (c) => { if (c._doc !== doc && c.nodeType !== DOCUMENT_NODE) c._doc = doc; return c; };
    let from = source._first, to = top;
    while (from) {
      const copy = fix(copyOne(from));
      link(to, copy, null);
      if (from._first) { from = from._first; to = copy; continue; }
      while (from && from !== source && !from._next) { from = from._parent; to = to._parent; }
      if (!from || from === source) break;
      from = from._next;
    }
    return top;
  }

  // ---- CharacterData, Text, Comment ----
  class CharacterData extends Node {
    get data() { return this._data; }
    set data(v) { this._data = v === null ? '' : String(v); }
    get nodeValue() { return this._data; }
    set nodeValue(v) { this._data = v === null ? '' : String(v); }
    get textContent() { return this._data; }
    set textContent(v) { this._data = v === null ? '' : String(v); }
    get length() { return this._data.length; }
    substringData(offset, count) { checkOffset(this, offset); return this._data.substr(offset >>> 0, count >>> 0); }
    appendData(data) { this._data += String(data); }
    insertData(offset, data) { this.replaceData(offset, 0, data); }
    deleteData(offset, count) { this.replaceData(offset, count, ''); }
    replaceData(offset, count, data) {
      checkOffset(this, offset);
      offset >>>= 0;
      this._data = this._data.slice(0, offset) + String(data) + this._data.slice(offset + (count >>> 0));
    }
    get previousElementSibling() { return elementSibling(this, '_prev'); }
    get nextElementSibling() { return elementSibling(this, '_next'); }
    remove() { unlink(this); }
    before(...nodes) { if (this._parent) insert(this._parent, nodesToNode(this._doc, nodes), this, 'before'); }
    after(...nodes) { if (this._parent) insert(this._parent, nodesToNode(this._doc, nodes), this._next, 'after'); }
    replaceWith(...nodes) { replaceWith(this, nodes); }
  }
  function checkOffset(node, offset) {
    if ((offset >>> 0) > node._data.length) throw domError('offset is past the data', 'IndexSizeError');
  }
  class Text extends CharacterData {
    constructor(data = '') {
      super(KEY);
      this._data = data === KEY ? '' : String(data);
      this._doc = data === KEY ? null : defaultDocument();
    }
    get nodeType() { return TEXT_NODE; }
    get nodeName() { return '#text'; }
    get wholeText() {
      let start = this;
      while (start._prev && start._prev.nodeType === TEXT_NODE) start = start._prev;
      let s = '';
      for (let n = start; n && n.nodeType === TEXT_NODE; n = n._next) s += n._data;
      return s;
    }
    splitText(offset) {
      checkOffset(this, offset);
      offset >>>= 0;
      const rest = makeText(this._doc, this._data.slice(offset));
      this._data = this._data.slice(0, offset);
      if (this._parent) link(this._parent, rest, this._next);
      return rest;
    }
  }
  function makeText(doc, data) {
    const t = new Text(KEY);
    t._data = data;
    t._doc = doc;
    return t;
  }
  class Comment extends CharacterData {
    constructor(data = '') {
      super(KEY);
      this._data = data === KEY ? '' : String(data);
      this._doc = data === KEY ? null : defaultDocument();
    }
    get nodeType() { return COMMENT_NODE; }
    get nodeName() { return '#comment'; }
  }
  class DocumentType extends Node {
    get nodeType() { return DOCUMENT_TYPE_NODE; }
    get nodeName() { return this.name; }
    remove() { unlink(this); }
  }
  function makeDoctype(doc, name, publicId, systemId) {
    const d = new DocumentType(KEY);
    d._doc = doc;
    d.name = name;
    d.publicId = publicId;
    d.systemId = systemId;
    return d;
  }

  // ---- Attr ----
  class Attr extends Node {
    get nodeType() { return ATTRIBUTE_NODE; }
    get nodeName() { return this.name; }
    get name() { return this._prefix ? `${this._prefix}:${this._local}` : this._local; }
    get localName() { return this._local; }
    get namespaceURI() { return this._ns; }
    get prefix() { return this._prefix; }
    get value() { return this._value; }
    set value(v) { this._value = String(v); }
    get nodeValue() { return this._value; }
    set nodeValue(v) { this._value = String(v); }
    get textContent() { return this._value; }
    set textContent(v) { this._value = String(v); }
    get ownerElement() { return this._owner; }
    get specified() { return true; }
  }
  function makeAttr(local, value, ns, prefix, owner) {
    const a = new Attr(KEY);
    a._local = local;
    a._value = value;
    a._ns = ns;
    a._prefix = prefix;
    a._owner = owner;
    return a;
  }

  // ---- ParentNode helpers ----
  function elementSibling(n, dir) {
    for (let s = n[dir]; s; s = s[dir]) if (s.nodeType === ELEMENT_NODE) return s;
    return null;
  }
  function replaceWith(node, nodes) {
    const parent = node._parent;
    if (!parent) return;
    let next = node._next;
    while (next && nodes.includes(next)) next = next._next;
    const replacement = nodesToNode(node._doc, nodes);
    if (node._parent === parent) unlink(node);
    insert(parent, replacement, next, 'replaceWith');
  }
  function textOf(root, max = Infinity) {
    let s = '';
    for (let n = root._first; n && s.length < max; n = following(n, root)) if (n.nodeType === TEXT_NODE) s += n._data;
    return s;
  }
  function removeChildren(node) {
    for (let c = node._first; c;) { const next = c._next; c._parent = c._prev = c._next = null; c = next; }
    node._first = node._last = null;
  }
  function setText(node, value) {
    removeChildren(node);
    const s = value === null ? '' : String(value);
    if (s !== '') link(node, makeText(node.nodeType === DOCUMENT_NODE ? node : node._doc, s), null);
  }

  const parentNodeMethods = {
    get children() {
      const list = new HTMLCollection();
      for (let c = this._first; c; c = c._next) if (c.nodeType === ELEMENT_NODE) list.push(c);
      return list;
    },
    get childElementCount() { return countElements(this); },
    get firstElementChild() { for (let c = this._first; c; c = c._next) if (c.nodeType === ELEMENT_NODE) return c; return null; },
    get lastElementChild() { for (let c = this._last; c; c = c._prev) if (c.nodeType === ELEMENT_NODE) return c; return null; },
    append(...nodes) { insert(this, nodesToNode(docOf(this), nodes), null, 'append'); },
    prepend(...nodes) { insert(this, nodesToNode(docOf(this), nodes), this._first, 'prepend'); },
    replaceChildren(...nodes) {
      const node = nodesToNode(docOf(this), nodes);
      checkInsert(this, node, 'replaceChildren', null);
      removeChildren(this);
      insert(this, node, null, 'replaceChildren');
    },
    querySelector(selectors) { return querySelector(this, selectors); },
    querySelectorAll(selectors) { return listOf(NodeList, querySelectorAll(this, selectors, Infinity)); },
    getElementsByTagName(name) {
      name = String(name);
      const lower = asciiLower(name);
      return collect(this, name === '*' ? () => true
        : (el) => (el._ns === HTML_NS && el._doc._isHTML ? el._local === lower : el.tagName === name));
    },
    getElementsByClassName(names) {
      const wanted = String(names).split(/[\t\n\f\r ]+/).filter(Boolean);
      if (!wanted.length) return new HTMLCollection();
      return collect(this, (el) => { const c = el.getAttribute('class'); return c !== null && wanted.every((w) => hasClass(c, w)); });
    },
    getElementsByTagNameNS(ns, local) {
      return collect(this, (el) => (ns === '*' || el._ns === ns) && (local === '*' || el._local === local));
    },
  };
  function docOf(n) { return n.nodeType === DOCUMENT_NODE ? n : n._doc; }
  function collect(root, test) {
    const list = new HTMLCollection();
    for (let n = root._first; n; n = following(n, root)) if (n.nodeType === ELEMENT_NODE && test(n)) list.push(n);
    return list;
  }
  function mixin(target, source) {
    for (const key of Object.getOwnPropertyNames(source))
      Object.defineProperty(target.prototype, key, { ...Object.getOwnPropertyDescriptor(source, key), enumerable: false });
  }

  // ---- Element ----
  class Element extends Node {
    get nodeType() { return ELEMENT_NODE; }
    get nodeName() { return this.tagName; }
    get tagName() {
      const q = this._prefix ? `${this._prefix}:${this._local}` : this._local;
      return this._ns === HTML_NS && this._doc._isHTML ? upper(q) : q;
    }
    get localName() { return this._local; }
    get namespaceURI() { return this._ns; }
    get prefix() { return this._prefix; }
    get id() { return this.getAttribute('id') ?? ''; }
    set id(v) { this.setAttribute('id', v); }
    get className() { return this.getAttribute('class') ?? ''; }
    set className(v) { this.setAttribute('class', v); }
    get classList() { return this._classList || (this._classList = new DOMTokenList(KEY, this, 'class')); }
    get dataset() { return this._dataset || (this._dataset = makeDataset(this)); }
    get attributes() {
      const list = new NamedNodeMap();
      if (this._attrs) for (const a of this._attrs) list.push(a);
      list._owner = this;
      return list;
    }
    hasAttributes() { return !!(this._attrs && this._attrs.length); }
    getAttributeNames() { return this._attrs ? this._attrs.map((a) => a.name) : []; }
    getAttributeNode(name) { return findAttr(this, attrName(this, name)); }
    getAttribute(name) {
      const attrs = this._attrs;
      if (!attrs) return null;
      name = attrName(this, name);
      for (let i = 0; i < attrs.length; i++) {
        const a = attrs[i];
        if (a._prefix === null ? a._local === name : a.name === name) return a._value;
      }
      return null;
    }
    getAttributeNS(ns, local) {
      ns = ns === '' ? null : ns;
      const a = this._attrs && this._attrs.find((x) => x._ns === ns && x._local === String(local));
      return a ? a._value : null;
    }
    hasAttribute(name) { return this.getAttribute(name) !== null; }
    hasAttributeNS(ns, local) { return this.getAttributeNS(ns, local) !== null; }
    setAttribute(name, value) {
      if (arguments.length < 2) throw new TypeError('Element.setAttribute: 2 arguments required');
      name = String(name);
      checkName(name, 'Element.setAttribute');
      name = attrName(this, name);
      value = String(value);
      const a = findAttr(this, name);
      if (a) a._value = value;
      else (this._attrs || (this._attrs = [])).push(makeAttr(name, value, null, null, this));
    }
    setAttributeNS(ns, qualified, value) {
      ns = ns === '' || ns === undefined ? null : ns;
      qualified = String(qualified);
      checkName(qualified, 'Element.setAttributeNS');
      const colon = qualified.indexOf(':');
      const prefix = colon >= 0 ? qualified.slice(0, colon) : null;
      const local = colon >= 0 ? qualified.slice(colon + 1) : qualified;
      if (prefix !== null && ns === null) throw domError('Element.setAttributeNS: a prefix needs a namespace', 'NamespaceError');
      const a = this._attrs && this._attrs.find((x) => x._ns === ns && x._local === local);
      if (a) a._value = String(value);
      else (this._attrs || (this._attrs = [])).push(makeAttr(local, String(value), ns, prefix, this));
    }
    removeAttribute(name) {
      if (!this._attrs) return;
      name = attrName(this, name);
      const i = this._attrs.findIndex((a) => a.name === name);
      if (i >= 0) this._attrs.splice(i, 1)[0]._owner = null;
    }
    removeAttributeNS(ns, local) {
      if (!this._attrs) return;
      ns = ns === '' ? null : ns;
      const i = this._attrs.findIndex((a) => a._ns === ns && a._local === String(local));
      if (i >= 0) this._attrs.splice(i, 1);
    }
    toggleAttribute(name, force) {
      const has = this.hasAttribute(name);
      if (has && force !== true) { this.removeAttribute(name); return false; }
      if (!has && force !== false) { this.setAttribute(name, ''); return true; }
      return has;
    }
    get textContent() { return textOf(this); }
    set textContent(v) { setText(this, v); }
    get innerText() { return textOf(this); }
    set innerText(v) { setText(this, v); }
    get outerText() { return textOf(this); }
    get innerHTML() { return serialize(this, false); }
    set innerHTML(html) {
      const target = this._content || this;
      const nodes = parseFragment(this, html === null ? '' : String(html));
      removeChildren(target);
      appendParsed(target, nodes);
    }
    get outerHTML() { return serialize(this, true); }
    set outerHTML(html) {
      const parent = this._parent;
      if (!parent) return;
      if (parent.nodeType === DOCUMENT_NODE)
        throw domError('Element.outerHTML: cannot replace the document element', 'NoModificationAllowedError');
      const context = parent.nodeType === ELEMENT_NODE ? parent : makeElement(this._doc, 'body', HTML_NS, null);
      const fragment = parseFragment(context, html === null ? '' : String(html));
      const next = this._next;
      unlink(this);
      appendParsed(parent, fragment, next);
    }
    insertAdjacentHTML(position, html) {
      const where = asciiLower(String(position));
      let context = this;
      if (where === 'beforebegin' || where === 'afterend') {
        context = this._parent;
        if (!context || context.nodeType === DOCUMENT_NODE)
          throw domError('Element.insertAdjacentHTML: no parent element', 'NoModificationAllowedError');
      } else if (where !== 'afterbegin' && where !== 'beforeend') {
        throw domError(`Element.insertAdjacentHTML: '${position}' is not a valid position`, 'SyntaxError');
      }
      const fragment = parseFragment(context, String(html));
      adjacent(this, where, fragment);
    }
    insertAdjacentElement(position, element) {
      if (!(element instanceof Element)) throw new TypeError('Element.insertAdjacentElement: argument is not an Element');
      return adjacent(this, asciiLower(String(position)), element);
    }
    insertAdjacentText(position, data) { adjacent(this, asciiLower(String(position)), makeText(this._doc, String(data))); }
    get previousElementSibling() { return elementSibling(this, '_prev'); }
    get nextElementSibling() { return elementSibling(this, '_next'); }
    remove() { unlink(this); }
    before(...nodes) { if (this._parent) insert(this._parent, nodesToNode(this._doc, nodes), this, 'before'); }
    after(...nodes) { if (this._parent) insert(this._parent, nodesToNode(this._doc, nodes), this._next, 'after'); }
    replaceWith(...nodes) { replaceWith(this, nodes); }
    matches(selectors) { return compile(selectors)(this, this); }
    webkitMatchesSelector(selectors) { return this.matches(selectors); }
    closest(selectors) {
      const match = compile(selectors);
      for (let n = this; n && n.nodeType === ELEMENT_NODE; n = n._parent) if (match(n, this)) return n;
      return null;
    }
    get content() { return this._content || null; }
  }
  mixin(Element, parentNodeMethods);
  function adjacent(el, where, node) {
    switch (where) {
    case 'beforebegin': if (!el._parent) return null; insert(el._parent, node, el, 'insertAdjacent'); break;
    case 'afterbegin': insert(el, node, el._first, 'insertAdjacent'); break;
    case 'beforeend': insert(el, node, null, 'insertAdjacent'); break;
    case 'afterend': if (!el._parent) return null; insert(el._parent, node, el._next, 'insertAdjacent'); break;
    default: throw domError(`insertAdjacent: '${where}' is not a valid position`, 'SyntaxError');
    }
    return node;
  }
  function attrName(el, name) {
    name = String(name);
    return el._ns === HTML_NS && el._doc._isHTML ? asciiLower(name) : name;
  }
  function findAttr(el, name) {
    const attrs = el._attrs;
    if (attrs) for (let i = 0; i < attrs.length; i++) if (attrs[i].name === name) return attrs[i];
    return null;
  }
  class HTMLElement extends Element {}
  class SVGElement extends Element {}
  class MathMLElement extends Element {}
  class HTMLTemplateElement extends HTMLElement {}
  function makeElement(doc, local, ns, prefix) {
    const el = ns === HTML_NS ? (local === 'template' ? new HTMLTemplateElement(KEY) : new HTMLElement(KEY))
      : ns === SVG_NS ? new SVGElement(KEY) : ns === MATH_NS ? new MathMLElement(KEY) : new Element(KEY);
    el._doc = doc;
    el._local = local;
    el._ns = ns;
    el._prefix = prefix;
    el._attrs = null;
    el._content = null;
    if (local === 'template' && ns === HTML_NS) {
      el._content = new DocumentFragment(KEY);
      el._content._doc = doc._templateDoc();
      el._content._host = el;
    }
    return el;
  }

  class NamedNodeMap extends NodeList {
    getNamedItem(name) { return this._owner.getAttributeNode(name); }
    getNamedItemNS(ns, local) { return this.find((a) => a._ns === ns && a._local === local) || null; }
  }

  // ---- DOMTokenList (classList) and dataset ----
  const ASCII_WS = /[\t\n\f\r ]+/;
  class DOMTokenList {
    constructor(token, element, attribute) {
      if (token !== KEY) throw new TypeError('Illegal constructor');
      this._el = element;
      this._attr = attribute;
    }
    _tokens() {
      const v = this._el.getAttribute(this._attr);
      if (!v) return [];
      const seen = [];
      for (const t of v.split(ASCII_WS)) if (t && !seen.includes(t)) seen.push(t);
      return seen;
    }
    _set(tokens) { this._el.setAttribute(this._attr, tokens.join(' ')); }
    get length() { return this._tokens().length; }
    get value() { return this._el.getAttribute(this._attr) ?? ''; }
    set value(v) { this._el.setAttribute(this._attr, v); }
    toString() { return this.value; }
    item(i) { return this._tokens()[i >>> 0] ?? null; }
    contains(token) { return this._tokens().includes(String(token)); }
    add(...tokens) {
      const list = this._tokens();
      for (const t of tokens.map(checkToken)) if (!list.includes(t)) list.push(t);
      this._set(list);
    }
    remove(...tokens) {
      const drop = tokens.map(checkToken);
      this._set(this._tokens().filter((t) => !drop.includes(t)));
    }
    toggle(token, force) {
      token = checkToken(token);
      const list = this._tokens();
      const has = list.includes(token);
      if (has && force !== true) { this._set(list.filter((t) => t !== token)); return false; }
      if (!has && force !== false) { list.push(token); this._set(list); return true; }
      return has;
    }
    replace(token, replacement) {
      token = checkToken(token);
      replacement = checkToken(replacement);
      const list = this._tokens();
      const at = list.indexOf(token);
      if (at < 0) return false;
      list[at] = replacement;
      this._set(list.filter((t, i) => t !== replacement || i === list.indexOf(replacement)));
      return true;
    }
    supports() { throw new TypeError('DOMTokenList.supports: classList has no supported tokens'); }
    forEach(fn, self) { this._tokens().forEach((t, i) => fn.call(self, t, i, this)); }
    keys() { return this._tokens().keys(); }
    values() { return this._tokens().values(); }
    entries() { return this._tokens().entries(); }
    [Symbol.iterator]() { return this._tokens()[Symbol.iterator](); }
  }
  function checkToken(token) {
    token = String(token);
    if (token === '') throw domError('DOMTokenList: the token is empty', 'SyntaxError');
    if (/[\t\n\f\r ]/.test(token)) throw domError('DOMTokenList: the token contains whitespace', 'InvalidCharacterError');
    return token;
  }
  function makeDataset(el) {
    const toAttr = (prop) => 'data-' + prop.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
    const toProp = (attr) => attr.slice(5).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    const names = () => (el._attrs || []).filter((a) => a._ns === null && a._local.startsWith('data-')).map((a) => toProp(a._local));
    return new Proxy({}, {
      get(target, prop) { return typeof prop === 'string' ? el.getAttribute(toAttr(prop)) ?? undefined : undefined; },
      set(target, prop, value) {
        if (typeof prop !== 'string') return false;
        if (/-[a-z]/.test(prop)) throw domError(`dataset: '${prop}' is not a valid name`, 'SyntaxError');
        el.setAttribute(toAttr(prop), value);
        return true;
      },
      has(target, prop) { return typeof prop === 'string' && el.hasAttribute(toAttr(prop)); },
      deleteProperty(target, prop) { if (typeof prop === 'string') el.removeAttribute(toAttr(prop)); return true; },
      ownKeys() { return names(); },
      getOwnPropertyDescriptor(target, prop) {
        const v = typeof prop === 'string' ? el.getAttribute(toAttr(prop)) : null;
        return v === null ? undefined : { value: v, writable: true, enumerable: true, configurable: true };
      },
    });
  }

  // ---- DocumentFragment and Document ----
  class DocumentFragment extends Node {
    constructor(token) { super(KEY); this._doc = token === KEY ? null : defaultDocument(); this._host = null; }
    get nodeType() { return DOCUMENT_FRAGMENT_NODE; }
    get nodeName() { return '#document-fragment'; }
    get textContent() { return textOf(this); }
    set textContent(v) { setText(this, v); }
    getElementById(id) { return byId(this, String(id)); }
  }
  mixin(DocumentFragment, parentNodeMethods);

  class Document extends Node {
    constructor() {
      super(KEY);
      this._doc = this;
      this._isHTML = false;
      this._template = null;
      this._contentType = 'application/xml';
    }
    get nodeType() { return DOCUMENT_NODE; }
    get nodeName() { return '#document'; }
    get URL() { return 'about:blank'; }
    get documentURI() { return 'about:blank'; }
    get contentType() { return this._contentType; }
    get characterSet() { return 'UTF-8'; }
    get charset() { return 'UTF-8'; }
    get compatMode() { return 'CSS1Compat'; }
    get readyState() { return 'complete'; }
    get defaultView() { return null; }
    get implementation() { return implementationOf(this); }
    get doctype() { for (let c = this._first; c; c = c._next) if (c.nodeType === DOCUMENT_TYPE_NODE) return c; return null; }
    get documentElement() { return this.firstElementChild; }
    get head() { return childOf(this.documentElement, 'head'); }
    get body() {
      const html = this.documentElement;
      if (!html || html._local !== 'html') return null;
      for (let c = html._first; c; c = c._next)
        if (c.nodeType === ELEMENT_NODE && (c._local === 'body' || c._local === 'frameset') && c._ns === HTML_NS) return c;
      return null;
    }
    get title() {
      const root = this.documentElement;
      if (!root) return '';
      const t = root._local === 'svg' && root._ns === SVG_NS ? childOf(root, 'title', SVG_NS)
        : collect(this, (el) => el._local === 'title' && el._ns === HTML_NS)[0];
      return t ? textOf(t).replace(/[\t\n\f\r ]+/g, ' ').trim() : '';
    }
    set title(v) {
      let t = collect(this, (el) => el._local === 'title' && el._ns === HTML_NS)[0];
      if (!t) {
        const head = this.head;
        if (!head) return;
        t = head.appendChild(this.createElement('title'));
      }
      t.textContent = v;
    }
    createElement(name) {
      name = String(name);
      checkName(name, 'Document.createElement');
      return makeElement(this, this._isHTML ? asciiLower(name) : name, this._isHTML || this._contentType === 'application/xhtml+xml' ? HTML_NS : null, null);
    }
    createElementNS(ns, qualified) {
      ns = ns === '' || ns === undefined ? null : ns;
      qualified = String(qualified);
      checkName(qualified, 'Document.createElementNS');
      const colon = qualified.indexOf(':');
      const prefix = colon >= 0 ? qualified.slice(0, colon) : null;
      if (prefix !== null && ns === null) throw domError('Document.createElementNS: a prefix needs a namespace', 'NamespaceError');
      return makeElement(this, colon >= 0 ? qualified.slice(colon + 1) : qualified, ns, prefix);
    }
    createTextNode(data) { return makeText(this, String(data)); }
    createComment(data) { const c = new Comment(String(data)); c._doc = this; return c; }
    createDocumentFragment() { const f = new DocumentFragment(); f._doc = this; return f; }
    createAttribute(name) {
      name = String(name);
      checkName(name, 'Document.createAttribute');
      return makeAttr(this._isHTML ? asciiLower(name) : name, '', null, null, null);
    }
    importNode(node, deep = false) {
      if (!(node instanceof Node) || node.nodeType === DOCUMENT_NODE) throw domError('Document.importNode: cannot import this node', 'NotSupportedError');
      return cloneTree(node, this, !!deep);
    }
    adoptNode(node) {
      if (!(node instanceof Node) || node.nodeType === DOCUMENT_NODE) throw domError('Document.adoptNode: cannot adopt a document', 'NotSupportedError');
      unlink(node);
      setDocument(node, this);
      return node;
    }
    getElementById(id) { return byId(this, String(id)); }
    getElementsByName(name) { return collect(this, (el) => el.getAttribute('name') === String(name)); }
    get textContent() { return null; }
    set textContent(v) {}
    _templateDoc() {
      if (this._isTemplateDoc) return this;
      if (!this._template) {
        this._template = new Document();
        this._template._isHTML = this._isHTML;
        this._template._contentType = this._contentType;
        this._template._isTemplateDoc = true;
      }
      return this._template;
    }
  }
  mixin(Document, parentNodeMethods);
  function childOf(el, local, ns = HTML_NS) {
    if (!el) return null;
    for (let c = el._first; c; c = c._next) if (c.nodeType === ELEMENT_NODE && c._local === local && c._ns === ns) return c;
    return null;
  }
  function byId(root, id) {
    if (id === '') return null;
    for (let n = root._first; n; n = following(n, root)) {
      if (n.nodeType === ELEMENT_NODE && n._attrs) {
        const attrs = n._attrs;
        for (let i = 0; i < attrs.length; i++) if (attrs[i]._local === 'id' && attrs[i]._ns === null) { if (attrs[i]._value === id) return n; break; }
      }
    }
    return null;
  }
  function implementationOf(doc) {
    return {
      createHTMLDocument(title) {
        const d = parseDocument('');
        if (title !== undefined) d.title = String(title);
        return d;
      },
      createDocument(ns, qualified) {
        const d = new Document();
        if (qualified) d.appendChild(d.createElementNS(ns, qualified));
        return d;
      },
      createDocumentType(name, publicId, systemId) { return makeDoctype(doc, String(name), String(publicId), String(systemId)); },
      hasFeature() { return true; },
    };
  }

  // ---- parsing: gumbo's compact tree (natives_dom.c) into nodes ----
  function parseDocument(html) {
    const doc = new Document();
    doc._isHTML = true;
    doc._contentType = 'text/html';
    build(doc, parseNative(html), doc);
    return doc;
  }
  const NS_PREFIX = ['', 'svg:', 'math:'];
  function parseFragment(context, html) {
    const doc = context._doc;
    const holder = new DocumentFragment();
    holder._doc = doc;
    if (context._ns !== HTML_NS && context._ns !== SVG_NS && context._ns !== MATH_NS) {
      build(doc, parseNative(html, 'body'), holder);
      return holder;
    }
    build(doc, parseNative(html, NS_PREFIX[ELEMENT_NS.indexOf(context._ns)] + context._local), holder);
    return holder;
  }
  function appendParsed(parent, fragment, before = null) {
    const doc = parent.nodeType === DOCUMENT_NODE ? parent : parent._doc;
    for (let c = fragment._first; c;) {
      const next = c._next;
      unlink(c);
      setDocument(c, doc);
      link(parent, c, before);
      c = next;
    }
  }
  function build(doc, parsed, root) {
    const code = parsed[0], text = parsed[1], names = parsed[2];
    const n = code.length;
    const stack = [];
    let parent = root;
    let i = 0;
    while (i < n) {
      const op = code[i++];
      if (op === 1 || op === 2) {
        const el = makeElement(doc, names[code[i + 1]], ELEMENT_NS[code[i]], null);
        const count = code[i + 2];
        i += 3;
        if (count) {
          const attrs = new Array(count);
          for (let k = 0; k < count; k++, i += 4) {
            const ns = code[i], off = code[i + 2];
            const local = names[code[i + 1]];
            attrs[k] = makeAttr(local, text.slice(off, off + code[i + 3]), ATTR_NS[ns],
              ns === 3 && local === 'xmlns' ? null : ATTR_PREFIX[ns], el);
          }
          el._attrs = attrs;
        }
        link(parent, el, null);
        stack.push(parent);
        parent = op === 2 && el._content ? el._content : el;
      } else if (op === 3) {
        const off = code[i];
        const last = parent._last;
        const data = text.slice(off, off + code[i + 1]);
        if (last !== null && last.nodeType === TEXT_NODE) last._data += data; // gumbo splits around whitespace
        else link(parent, makeText(doc, data), null);
        i += 2;
      } else if (op === 8) {
        const off = code[i];
        const c = new Comment(KEY);
        c._data = text.slice(off, off + code[i + 1]);
        c._doc = doc;
        link(parent, c, null);
        i += 2;
      } else if (op === 10) {
        const s = (k) => text.slice(code[i + k], code[i + k] + code[i + k + 1]);
        link(parent, makeDoctype(doc, s(0), s(2), s(4)), null);
        i += 6;
      } else { // END
        if (!stack.length) break;
        parent = stack.pop();
      }
    }
  }

  // ---- serialization (HTML standard, "serializing HTML fragments"), iterative ----
  const TEXT_ESCAPE = /[&<>\u00A0]/, ATTR_ESCAPE = /[&"\u00A0]/;
  const escapeText = (s) => (TEXT_ESCAPE.test(s) ? s.replace(/[&<>\u00A0]/g, (c) =>
    (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&nbsp;')) : s);
  const escapeAttr = (s) => (ATTR_ESCAPE.test(s) ? s.replace(/[&"\u00A0]/g, (c) =>
    (c === '&' ? '&amp;' : c === '"' ? '&quot;' : '&nbsp;')) : s);
  function serialName(el) {
    return el._ns === HTML_NS || el._ns === SVG_NS || el._ns === MATH_NS || !el._prefix ? el._local : `${el._prefix}:${el._local}`;
  }
  function attrSerialName(a) {
    if (a._ns === null) return a._local;
    if (a._ns === XML_NS) return 'xml:' + a._local;
    if (a._ns === XMLNS_NS) return a._local === 'xmlns' ? 'xmlns' : 'xmlns:' + a._local;
    if (a._ns === XLINK_NS) return 'xlink:' + a._local;
    return a.name;
  }
  function serialize(root, includeSelf) {
    let s = '';
    let node;
    if (includeSelf) node = root;
    else {
      if (root.nodeType === ELEMENT_NODE && root._ns === HTML_NS && VOID.has(root._local)) return '';
      node = (root._content || root)._first;
    }
    const stack = [];
    while (node) {
      let down = null;
      switch (node.nodeType) {
      case ELEMENT_NODE: {
        const name = serialName(node);
        s += '<' + name;
        const attrs = node._attrs;
        if (attrs) for (let i = 0; i < attrs.length; i++) s += ' ' + attrSerialName(attrs[i]) + '="' + escapeAttr(attrs[i]._value) + '"';
        s += '>';
        if (node._ns === HTML_NS && VOID.has(node._local)) break;
        const first = (node._content || node)._first;
        if (first) { stack.push(node); down = first; } else s += '</' + name + '>';
        break;
      }
      case TEXT_NODE: {
        const p = node._parent;
        s += p && p.nodeType === ELEMENT_NODE && p._ns === HTML_NS && RAW_TEXT.has(p._local) ? node._data : escapeText(node._data);
        break;
      }
      case COMMENT_NODE: s += '<!--' + node._data + '-->'; break;
      case DOCUMENT_TYPE_NODE: s += '<!DOCTYPE ' + node.name + '>'; break;
      case DOCUMENT_NODE: case DOCUMENT_FRAGMENT_NODE:
        if (node._first) { stack.push(node); down = node._first; }
        break;
      }
      if (down) { node = down; continue; }
      for (;;) {
        if (includeSelf && node === root) { node = null; break; }
        if (node._next) { node = node._next; break; }
        if (!stack.length) { node = null; break; }
        node = stack.pop();
        if (node.nodeType === ELEMENT_NODE) s += '</' + serialName(node) + '>';
      }
    }
    return s;
  }

  // ---- CSS selectors (Selectors level 3, plus :is/:where/:has/:scope/:not(list)) ----
  const MAX_SELECTOR_NESTING = 32, MAX_COMPOUNDS = 256, SELECTOR_CACHE = 512;
  const selectorCache = new Map();
  function syntaxError(selector, why) {
    const shown = selector.length > 100 ? selector.slice(0, 100) + '...' : selector;
    return domError(`'${shown}' is not a valid selector: ${why}`, 'SyntaxError');
  }
  function compile(selectors) {
    const text = String(selectors);
    let fn = selectorCache.get(text);
    if (fn) return fn;
    fn = new SelectorParser(text).parseTop();
    if (selectorCache.size >= SELECTOR_CACHE) selectorCache.delete(selectorCache.keys().next().value);
    selectorCache.set(text, fn);
    return fn;
  }
  const isIdentStart = (c) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 128 || c === 92 || c === 45;
  const isIdentChar = (c) => isIdentStart(c) || (c >= 48 && c <= 57);
  const isWS = (c) => c === 32 || c === 9 || c === 10 || c === 12 || c === 13;

  class SelectorParser {
    constructor(text) { this.s = text; this.i = 0; this.depth = 0; }
    fail(why) { throw syntaxError(this.s, why); }
    peek() { return this.i < this.s.length ? this.s.charCodeAt(this.i) : -1; }
    skipWS() { let moved = false; while (isWS(this.peek())) { this.i++; moved = true; } return moved; }
    parseTop() {
      const list = this.parseList(false);
      if (this.i < this.s.length) this.fail(`unexpected '${this.s[this.i]}'`);
      return list;
    }
    // A comma-separated list of complex selectors, up to ')' or the end.
    parseList(relative) {
      if (++this.depth > MAX_SELECTOR_NESTING) this.fail('nested too deeply');
      const alternatives = [];
      for (;;) {
        this.skipWS();
        alternatives.push(this.parseComplex(relative));
        this.skipWS();
        if (this.peek() === 44) { this.i++; continue; }
        break;
      }
      this.depth--;
      if (alternatives.length === 1) return alternatives[0];
      return (el, scope) => { for (let k = 0; k < alternatives.length; k++) if (alternatives[k](el, scope)) return true; return false; };
    }
    parseComplex(relative) {
      const compounds = [], combinators = [];
      let leading = null;
      if (relative) {
        const c = this.peek();
        if (c === 62 || c === 43 || c === 126) { leading = String.fromCharCode(c); this.i++; this.skipWS(); }
        else leading = ' ';
      }
      compounds.push(this.parseCompound());
      for (;;) {
        const hadWS = this.skipWS();
        const c = this.peek();
        let comb;
        if (c === 62 || c === 43 || c === 126) { comb = String.fromCharCode(c); this.i++; this.skipWS(); }
        else if (hadWS && c !== -1 && c !== 44 && c !== 41) comb = ' ';
        else break;
        combinators.push(comb);
        compounds.push(this.parseCompound());
        if (compounds.length > MAX_COMPOUNDS) this.fail('too many compound selectors');
      }
      return relative ? relativeMatcher(leading, compounds, combinators) : complexMatcher(compounds, combinators);
    }
    parseIdent() {
      const s = this.s;
      let out = '';
      if (this.peek() === 45) { out = '-'; this.i++; }
      const c = this.peek();
      if (c === 45) { out += '-'; this.i++; }
      else if (c === 92) out += this.parseEscape();
      else if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 128) out += s[this.i++];
      else this.fail(c === -1 ? 'unexpected end' : `expected a name at '${s[this.i]}'`);
      while (this.i < s.length) {
        const d = s.charCodeAt(this.i);
        if (d === 92) { out += this.parseEscape(); continue; }
        if (!isIdentChar(d)) break;
        out += s[this.i++];
      }
      return out;
    }
    parseEscape() {
      this.i++; // backslash
      const s = this.s;
      if (this.i >= s.length) return '\uFFFD';
      let hex = '';
      while (hex.length < 6 && /[0-9a-fA-F]/.test(s[this.i] || '')) hex += s[this.i++];
      if (hex) {
        if (isWS(this.peek())) this.i++;
        const cp = parseInt(hex, 16);
        return cp === 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) ? '\uFFFD' : String.fromCodePoint(cp);
      }
      if (s[this.i] === '\n') this.fail('a newline cannot be escaped');
      return s[this.i++];
    }
    parseString() {
      const quote = this.s[this.i++];
      let out = '';
      while (this.i < this.s.length) {
        const ch = this.s[this.i];
        if (ch === quote) { this.i++; return out; }
        if (ch === '\\') {
          if (this.s[this.i + 1] === '\n') { this.i += 2; continue; }
          out += this.parseEscape();
          continue;
        }
        if (ch === '\n') this.fail('newline in a string');
        out += ch;
        this.i++;
      }
      return out; // EOF closes the string, as CSS does
    }
    parseCompound() {
      const tests = [];
      let c = this.peek();
      if (c === 42) { this.i++; } // '*'
      else if (isIdentStart(c)) {
        const name = this.parseIdent();
        if (this.peek() === 124 && this.s.charCodeAt(this.i + 1) !== 61) this.fail('namespace prefixes are not supported');
        tests.push(typeMatcher(name));
      }
      for (;;) {
        c = this.peek();
        if (c === 35) { // '#'
          this.i++;
          const id = this.parseIdent();
          tests.push((el) => { const a = el._attrs; if (a) for (let k = 0; k < a.length; k++) if (a[k]._local === 'id' && a[k]._ns === null) return a[k]._value === id; return false; });
        } else if (c === 46) { // '.'
          this.i++;
          const cls = this.parseIdent();
          tests.push((el) => { const v = getPlain(el, 'class'); return v !== null && hasClass(v, cls); });
        } else if (c === 91) { // '['
          this.i++;
          tests.push(this.parseAttribute());
        } else if (c === 58) { // ':'
          this.i++;
          if (this.peek() === 58) {
            this.i++;
            this.parseIdent();
            if (this.peek() === 40) this.fail('pseudo-elements with arguments are not supported');
            tests.push(() => false); // an element is never a pseudo-element
          } else tests.push(this.parsePseudo());
        } else break;
      }
      if (!tests.length && this.s.charCodeAt(this.i - 1) !== 42) this.fail(this.i >= this.s.length ? 'unexpected end' : `unexpected '${this.s[this.i]}'`);
      if (tests.length === 0) return () => true;
      if (tests.length === 1) return tests[0];
      return (el, scope) => { for (let k = 0; k < tests.length; k++) if (!tests[k](el, scope)) return false; return true; };
    }
    parseAttribute() {
      this.skipWS();
      if (this.peek() === 42 || this.peek() === 124) this.fail('namespace prefixes are not supported');
      const name = this.parseIdent();
      if (this.peek() === 124 && this.s.charCodeAt(this.i + 1) !== 61) this.fail('namespace prefixes are not supported');
      this.skipWS();
      let op = this.s[this.i];
      if (op === ']') { this.i++; const lower = asciiLower(name); return (el) => getAttrFor(el, name, lower) !== null; }
      if (op === '=') this.i++;
      else if ('~|^$*'.includes(op) && this.s[this.i + 1] === '=') { this.i += 2; }
      else this.fail('bad attribute selector');
      this.skipWS();
      const q = this.peek();
      const value = q === 34 || q === 39 ? this.parseString() : this.parseIdent();
      this.skipWS();
      let insensitive = false;
      const flag = this.s[this.i];
      if (flag === 'i' || flag === 'I') { insensitive = true; this.i++; this.skipWS(); }
      else if (flag === 's' || flag === 'S') { this.i++; this.skipWS(); }
      if (this.s[this.i] !== ']') this.fail("expected ']'");
      this.i++;
      const lower = asciiLower(name);
      const want = insensitive ? value.toLowerCase() : value;
      const test = attrTest(op, want);
      return (el) => {
        const v = getAttrFor(el, name, lower);
        return v !== null && test(insensitive ? v.toLowerCase() : v);
      };
    }
    parseArgumentList() {
      this.i++; // '('
      const inner = this.parseList(false);
      this.skipWS();
      if (this.peek() !== 41) this.fail("expected ')'");
      this.i++;
      return inner;
    }
    parsePseudo() {
      const name = asciiLower(this.parseIdent());
      if (this.peek() === 40) {
        switch (name) {
        case 'not': { const inner = this.parseArgumentList(); return (el, scope) => !inner(el, scope); }
        case 'is': case 'matches': case 'any': case 'where': return this.parseArgumentList();
        case 'has': {
          this.i++;
          const inner = this.parseList(true);
          this.skipWS();
          if (this.peek() !== 41) this.fail("expected ')'");
          this.i++;
          return inner;
        }
        case 'nth-child': case 'nth-last-child': case 'nth-of-type': case 'nth-last-of-type': {
          const start = ++this.i;
          let depth = 1;
          while (this.i < this.s.length && depth) { const ch = this.s[this.i++]; if (ch === '(') depth++; else if (ch === ')') depth--; }
          if (depth) this.fail("expected ')'");
          let arg = this.s.slice(start, this.i - 1);
          let of = null;
          const ofAt = arg.search(/\sof\s/i);
          if (ofAt >= 0 && (name === 'nth-child' || name === 'nth-last-child')) {
            of = new SelectorParser(arg.slice(ofAt + 4)).parseTop();
            arg = arg.slice(0, ofAt);
          }
          const [a, b] = parseNth(arg, this);
          return nthMatcher(name, a, b, of);
        }
        case 'lang': {
          const start = ++this.i;
          const end = this.s.indexOf(')', start);
          if (end < 0) this.fail("expected ')'");
          this.i = end + 1;
          const want = this.s.slice(start, end).trim().replace(/^["']|["']$/g, '').toLowerCase();
          return (el) => {
            for (let n = el; n && n.nodeType === ELEMENT_NODE; n = n._parent) {
              const v = n.getAttribute('lang');
              if (v !== null) { const l = v.toLowerCase(); return l === want || l.startsWith(want + '-'); }
            }
            return false;
          };
        }
        default: this.fail(`unknown pseudo-class ':${name}()'`);
        }
      }
      switch (name) {
      case 'root': return (el) => { const p = el._parent; return p !== null && p.nodeType === DOCUMENT_NODE; };
      case 'scope': return (el, scope) => (scope && scope.nodeType === ELEMENT_NODE ? el === scope : el._parent !== null && el._parent.nodeType === DOCUMENT_NODE);
      case 'empty': return (el) => { for (let c = el._first; c; c = c._next) if (c.nodeType === ELEMENT_NODE || (c.nodeType === TEXT_NODE && c._data !== '')) return false; return true; };
      case 'first-child': return (el) => elementSibling(el, '_prev') === null;
      case 'last-child': return (el) => elementSibling(el, '_next') === null;
      case 'only-child': return (el) => elementSibling(el, '_prev') === null && elementSibling(el, '_next') === null;
      case 'first-of-type': return (el) => typeSibling(el, '_prev') === null;
      case 'last-of-type': return (el) => typeSibling(el, '_next') === null;
      case 'only-of-type': return (el) => typeSibling(el, '_prev') === null && typeSibling(el, '_next') === null;
      case 'checked': return (el) => el._ns === HTML_NS && ((el._local === 'input' && el.hasAttribute('checked')) || (el._local === 'option' && el.hasAttribute('selected')));
      case 'disabled': return (el) => el._ns === HTML_NS && FORM_CONTROLS.has(el._local) && el.hasAttribute('disabled');
      case 'enabled': return (el) => el._ns === HTML_NS && FORM_CONTROLS.has(el._local) && !el.hasAttribute('disabled');
      case 'link': case 'any-link': return (el) => el._ns === HTML_NS && (el._local === 'a' || el._local === 'area' || el._local === 'link') && el.hasAttribute('href');
      case 'required': return (el) => el._ns === HTML_NS && el.hasAttribute('required');
      case 'optional': return (el) => el._ns === HTML_NS && FORM_CONTROLS.has(el._local) && !el.hasAttribute('required');
      case 'defined': return () => true;
      case 'visited': case 'hover': case 'active': case 'focus': case 'focus-within': case 'focus-visible': case 'target':
      case 'target-within': case 'current': case 'past': case 'future': case 'playing': case 'paused':
        return () => false; // no user, no rendering: these states never hold
      default: this.fail(`unknown pseudo-class ':${name}'`);
      }
    }
  }
  const FORM_CONTROLS = new Set(['button', 'input', 'select', 'textarea', 'optgroup', 'option', 'fieldset']);
  function typeMatcher(name) {
    const lower = asciiLower(name);
    return (el) => (el._ns === HTML_NS && el._doc._isHTML ? el._local === lower : el._local === name);
  }
  function getPlain(el, name) {
    const a = el._attrs;
    if (a) for (let k = 0; k < a.length; k++) if (a[k]._local === name && a[k]._ns === null) return a[k]._value;
    return null;
  }
  function getAttrFor(el, name, lower) {
    const a = el._attrs;
    if (!a) return null;
    const want = el._ns === HTML_NS && el._doc._isHTML ? lower : name;
    for (let k = 0; k < a.length; k++) {
      const at = a[k];
      if (at._prefix === null ? at._local === want : at.name === want) return at._value;
    }
    return null;
  }
  function hasClass(value, cls) {
    if (value === cls) return true;
    const at = value.indexOf(cls);
    if (at < 0) return false;
    const list = value.split(ASCII_WS);
    for (let k = 0; k < list.length; k++) if (list[k] === cls) return true;
    return false;
  }
  function attrTest(op, want) {
    switch (op) {
    case '=': return (v) => v === want;
    case '~': return (v) => want !== '' && !/[\t\n\f\r ]/.test(want) && v.split(ASCII_WS).includes(want);
    case '|': return (v) => v === want || v.startsWith(want + '-');
    case '^': return (v) => want !== '' && v.startsWith(want);
    case '$': return (v) => want !== '' && v.endsWith(want);
    case '*': return (v) => want !== '' && v.includes(want);
    }
  }
  function parseNth(arg, parser) {
    const s = arg.trim().toLowerCase();
    if (s === 'odd') return [2, 1];
    if (s === 'even') return [2, 0];
    const m = /^([+-]?\d*)?n(?:\s*([+-])\s*(\d+))?$/.exec(s);
    if (m) {
      const a = m[1] === undefined || m[1] === '' || m[1] === '+' ? 1 : m[1] === '-' ? -1 : parseInt(m[1], 10);
      const b = m[2] ? parseInt(m[3], 10) * (m[2] === '-' ? -1 : 1) : 0;
      return [a, b];
    }
    if (/^[+-]?\d+$/.test(s)) return [0, parseInt(s, 10)];
    parser.fail(`bad :nth argument '${arg}'`);
  }
  function nthMatcher(name, a, b, of) {
    const last = name === 'nth-last-child' || name === 'nth-last-of-type';
    const ofType = name.endsWith('of-type');
    const dir = last ? '_next' : '_prev';
    return (el, scope) => {
      if (of && !of(el, scope)) return false;
      let index = 1;
      for (let s = el[dir]; s; s = s[dir])
        if (s.nodeType === ELEMENT_NODE && (ofType ? s._local === el._local && s._ns === el._ns : !of || of(s, scope))) index++;
      const d = index - b;
      return a === 0 ? d === 0 : d / a >= 0 && d % a === 0;
    };
  }
  function typeSibling(el, dir) {
    for (let s = el[dir]; s; s = s[dir]) if (s.nodeType === ELEMENT_NODE && s._local === el._local && s._ns === el._ns) return s;
    return null;
  }
  // compounds[0] comb[0] compounds[1] ... : matched right to left.
  function complexMatcher(compounds, combinators) {
    const last = compounds.length - 1;
    if (last === 0) return compounds[0];
    const from = (el, k, scope) => {
      if (!compounds[k](el, scope)) return false;
      for (; k > 0; k--) {
        const comb = combinators[k - 1];
        if (comb === '>') {
          el = el._parent;
          if (!el || el.nodeType !== ELEMENT_NODE || !compounds[k - 1](el, scope)) return false;
        } else if (comb === ' ') {
          for (let p = el._parent; p && p.nodeType === ELEMENT_NODE; p = p._parent) if (from(p, k - 1, scope)) return true;
          return false;
        } else if (comb === '+') {
          el = elementSibling(el, '_prev');
          if (!el || !compounds[k - 1](el, scope)) return false;
        } else {
          for (let s = elementSibling(el, '_prev'); s; s = elementSibling(s, '_prev')) if (from(s, k - 1, scope)) return true;
          return false;
        }
      }
      return true;
    };
    return (el, scope) => from(el, last, scope);
  }
  // :has() arguments: `> a`, `+ a`, `~ a`, `a` relative to the element being tested.
  function relativeMatcher(leading, compounds, combinators) {
    const rest = complexMatcher(compounds, combinators);
    return (el) => {
      if (leading === '+' || leading === '~') {
        for (let s = elementSibling(el, '_next'); s; s = leading === '+' ? null : elementSibling(s, '_next'))
          if (hasMatchFrom(s, el, rest, compounds.length > 1)) return true;
        return false;
      }
      if (leading === '>' && compounds.length === 1) {
        for (let c = el._first; c; c = c._next) if (c.nodeType === ELEMENT_NODE && rest(c, el)) return true;
        return false;
      }
      for (let n = el._first; n; n = following(n, el)) {
        if (n.nodeType !== ELEMENT_NODE || !rest(n, el)) continue;
        if (leading === ' ' || anchoredChild(n, el, compounds, combinators)) return true;
      }
      return false;
    };
  }
  function hasMatchFrom(sibling, anchor, rest, deep) {
    if (rest(sibling, anchor)) return true;
    if (deep) for (let n = sibling._first; n; n = following(n, sibling)) if (n.nodeType === ELEMENT_NODE && rest(n, anchor)) return true;
    return false;
  }
  // For `:has(> a b)`: the leftmost compound must sit on a child of the anchor.
  function anchoredChild(n, anchor, compounds) {
    for (let p = n; p; p = p._parent) if (p._parent === anchor) return compounds[0](p, anchor);
    return false;
  }

  function querySelectorAll(root, selectors, limit) {
    const match = compile(selectors);
    const out = [];
    const scope = root.nodeType === ELEMENT_NODE ? root : null;
    for (let n = root._first; n; n = following(n, root)) {
      if (n.nodeType === ELEMENT_NODE && match(n, scope)) {
        out.push(n);
        if (out.length >= limit) break;
      }
    }
    return out;
  }
  function querySelector(root, selectors) { return querySelectorAll(root, selectors, 1)[0] || null; }

  // ---- DOMParser, XMLSerializer, the global document ----
  class DOMParser {
    parseFromString(string, type) {
      if (arguments.length < 2) throw new TypeError('DOMParser.parseFromString: 2 arguments required');
      type = String(type);
      if (type === 'text/html') return parseDocument(String(string));
      if (['text/xml', 'application/xml', 'application/xhtml+xml', 'image/svg+xml'].includes(type))
        throw domError(`DOMParser.parseFromString: '${type}' needs an XML parser, which the dom group does not have (text/html only)`, 'NotSupportedError');
      throw new TypeError(`DOMParser.parseFromString: '${type}' is not a supported type`);
    }
  }
  class XMLSerializer {
    serializeToString(node) {
      if (!(node instanceof Node)) throw new TypeError('XMLSerializer.serializeToString: argument is not a Node');
      return serialize(node, true);
    }
  }

  let theDocument = null;
  function defaultDocument() { return theDocument || (theDocument = parseDocument('')); }

  for (const cls of [Node, CharacterData, Text, Comment, DocumentType, Attr, Element, HTMLElement, SVGElement,
    MathMLElement, HTMLTemplateElement, DocumentFragment, Document, NodeList, HTMLCollection, NamedNodeMap,
    DOMTokenList, DOMParser, XMLSerializer])
    Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: cls.name, configurable: true });

  // The host's queries (jsp_dom_find & co., engine_dom.c): on the context's current
  // globalThis.document. mode: 0 first element as an object, 1 all (up to limit) as
  // objects, 2 textContent of the first, 3 outerHTML of the first. Text in objects is cut
  // at 4096 characters so that a deep document cannot make the answer quadratic.
  const TEXT_CUT = 4096;
  function describe(el, withHTML) {
    const attributes = {};
    if (el._attrs) for (const a of el._attrs) attributes[a.name] = a._value;
    const text = textOf(el, TEXT_CUT); // stops once it has enough
    const d = { tag: el._local, attributes, text: text.length > TEXT_CUT ? text.slice(0, TEXT_CUT) : text };
    if (withHTML) d.html = serialize(el, true);
    return d;
  }
  function hostQuery(selector, mode, limit) {
    const doc = global.document;
    if (!(doc instanceof Node) || !(doc.nodeType === DOCUMENT_NODE || doc.nodeType === ELEMENT_NODE || doc.nodeType === DOCUMENT_FRAGMENT_NODE))
      throw new TypeError("the context's globalThis.document is not a dom group Document");
    const found = querySelectorAll(doc, selector, mode === 1 ? limit : 1);
    if (mode === 1) return found.map((el) => describe(el, false));
    const el = found[0];
    if (!el) return null;
    return mode === 0 ? describe(el, true) : mode === 2 ? textOf(el) : serialize(el, true);
  }

  return {
    document: defaultDocument(), DOMParser, XMLSerializer, Node, Element, HTMLElement, Text, Comment, Document,
    DocumentFragment, DocumentType, CharacterData, Attr, NodeList, HTMLCollection, DOMTokenList,
    hostQuery,
  };
})
