/* engine_modules.c — the module linker: runs a graph of ES modules on an engine whose C
 * API has no module loader. module_transform rewrites each module's import forms into
 * reads of a record `__jsp_r` passed to its function; the linker (JS, one per context,
 * made when the first module with imports loads) keeps the context's registry of modules
 * by resolved name, asks the embedder's loader (jsp_module_loader_fn) for each specifier,
 * evaluates dependencies before dependents, once per context, and answers import().
 * Not for: resolving names (the loader's job; jsp_module_loader_files is one) or
 * classic scripts (jsp_eval has no imports). */
#include "engine/engine_internal.h"
#include "engine/module_transform.h"
#include "engine/transform_cache.h"
#include "util/result.h"
#include "util/utf8.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Module states: 0 loaded, 1 evaluating (an import cycle reaches it), 2 evaluated, 3
 * failed (its error is thrown again to every later importer, as the standard says). A
 * namespace is a null-prototype object that gets its getters when the module function
 * starts (__jsp_r.x, before the body), so a module of a cycle sees the names of one
 * still running (their values may still be uninitialised), and is frozen once evaluated.
 * Intrinsics are captured when the linker is made, before the guest's module code runs. */
static const char linker_source[] =
    "(function (resolve, compile, fail) {\n"
    "'use strict';\n"
    "const registry = new Map(), get = Map.prototype.get, set = Map.prototype.set;\n"
    "const apply = Reflect.apply, create = Object.create, define = Object.defineProperty;\n"
    "const defineAll = Object.defineProperties, descriptors = Object.getOwnPropertyDescriptors;\n"
    "const keys = Object.keys, freeze = Object.freeze, hasOwn = Object.prototype.hasOwnProperty;\n"
    "const sort = Array.prototype.sort, lastIndexOf = String.prototype.lastIndexOf;\n"
    "const slice = String.prototype.slice;\n"
    "const call = Function.prototype.call, tag = Symbol.toStringTag;\n"
    "const resolved = Promise.resolve.bind(Promise), rejected = Promise.reject.bind(Promise);\n"
    "function record(name, c) {\n"
    "  const ns = create(null);\n"
    "  define(ns, tag, {value: 'Module'});\n"
    "  return {name, c, ns, state: 0, error: undefined, fetched: false, installed: false, m: [],\n"
    "          waiters: []};\n"
    "}\n"
    "function load(specifier, referrer, line) {\n"
    "  const found = resolve(specifier, referrer, line);\n"
    "  let rec = apply(get, registry, [found[0]]);\n"
    "  if (rec === undefined) {\n"
    "    rec = record(found[0], compile(found[0], found[1]));\n"
    "    apply(set, registry, [found[0], rec]);\n"
    "  }\n"
    "  return rec;\n"
    "}\n"
    "function fetchGraph(rec) {\n"
    "  if (rec.fetched || apply(hasOwn, rec.c, ['json'])) return;\n"
    "  rec.fetched = true;\n"
    "  try {\n"
    "    const deps = rec.c.deps;\n"
    "    for (let i = 0; i < deps.length; i++) rec.m[i] = load(deps[i], rec.name, rec.c.lines[i]);\n"
    "    for (let i = 0; i < deps.length; i++) fetchGraph(rec.m[i]);\n"
    "  } catch (e) { rec.fetched = false; throw e; }\n"
    "}\n"
    "function install(rec, getters) {\n"
    "  defineAll(rec.ns, descriptors(getters));\n"
    "  rec.installed = true;\n"
    "}\n"
    "function star(rec, dep) {\n"
    "  const names = keys(dep.ns);\n"
    "  for (let i = 0; i < names.length; i++) {\n"
    "    const n = names[i];\n"
    "    if (n === 'default' || apply(hasOwn, rec.ns, [n])) continue;\n"
    "    define(rec.ns, n, {get() { return dep.ns[n]; }, enumerable: true, configurable: true});\n"
    "  }\n"
    "}\n"
    "function sortAndFreeze(ns) {\n"
    "  const all = descriptors(ns), names = apply(sort, keys(ns), []);\n"
    "  for (let i = 0; i < names.length; i++) delete ns[names[i]];\n"
    "  for (let i = 0; i < names.length; i++) define(ns, names[i], all[names[i]]);\n"
    "  freeze(ns);\n"
    "}\n"
    "function who(rec) { return rec.name === null ? 'the entry module' : rec.name; }\n"
    "function provided(rec, dep, names) {\n"
    "  if (dep.installed)\n"
    "    for (let i = 0; i < names.length; i++)\n"
    "      if (!(names[i] in dep.ns))\n"
    "        throw fail(dep.name + ' does not provide an export named \\'' + names[i] +\n"
    "                   '\\' (imported by ' + who(rec) + ')');\n"
    "  return dep.ns;\n"
    "}\n"
    "function linkRecord(rec) {\n"
    "  const namespaces = [];\n"
    "  for (let i = 0; i < rec.m.length; i++) namespaces[i] = rec.m[i].ns;\n"
    "  return {\n"
    "    m: namespaces,\n"
    "    meta: freeze({url: rec.name === null ? null : rec.name[0] === '/' ? 'file://' + rec.name : rec.name}),\n"
    "    x(f) {\n"
    "      if (rec.installed) return;\n"
    "      const r = f();\n"
    "      install(rec, r[0]);\n"
    "      for (let i = 0; i < rec.m.length; i++) evaluate(rec.m[i]);\n"
    "      for (let i = 0; i < r[1].length; i++) star(rec, rec.m[r[1][i]]);\n"
    "    },\n"
    "    g(k, names) { return provided(rec, rec.m[k], names); },\n"
    "    b(k, names, set) {\n"
    "      const dep = rec.m[k], ns = provided(rec, dep, names);\n"
    "      const read = function () {\n"
    "        const v = create(null);\n"
    "        for (let i = 0; i < names.length; i++)\n"
    "          try { v[names[i]] = ns[names[i]]; } catch (e) { /* not initialised yet */ }\n"
    "        set(v);\n"
    "      };\n"
    "      read();\n"
    "      if (dep.state === 1) dep.waiters[dep.waiters.length] = read;\n"
    "    },\n"
    "    d(specifier) { return dynamicImport(specifier, rec.name); },\n"
    "  };\n"
    "}\n"
    "function dirname(name) {\n"
    "  const i = name === null ? -1 : apply(lastIndexOf, name, ['/']);\n"
    "  return i > 0 ? apply(slice, name, [0, i]) : i === 0 ? '/' : '.';\n"
    "}\n"
    "function makeRequire(referrer) {\n"
    "  return function require(specifier) {\n"
    "    if (typeof specifier !== 'string') throw new TypeError('require: the specifier must be a string');\n"
    "    const rec = load(specifier, referrer);\n"
    "    if (apply(hasOwn, rec.c, ['cjs'])) {\n"
    "      if (rec.state !== 1) evaluate(rec);\n"
    "      return rec.module.exports;\n"
    "    }\n"
    "    fetchGraph(rec);\n"
    "    evaluate(rec);\n"
    "    return apply(hasOwn, rec.c, ['json']) ? rec.ns.default : rec.ns;\n"
    "  };\n"
    "}\n"
    "function evaluateCommonJS(rec) {\n"
    "  const module = {exports: {}, id: rec.name, filename: rec.name, loaded: false};\n"
    "  rec.module = module;\n"
    "  apply(rec.c.f, module.exports, [module.exports, makeRequire(rec.name), module, rec.name,\n"
    "                                  dirname(rec.name)]);\n"
    "  module.loaded = true;\n"
    "  const e = module.exports;\n"
    "  define(rec.ns, 'default', {value: e, enumerable: true, configurable: true});\n"
    "  if (e !== null && (typeof e === 'object' || typeof e === 'function')) {\n"
    "    const names = keys(e);\n"
    "    for (let i = 0; i < names.length; i++) {\n"
    "      const n = names[i];\n"
    "      if (n !== 'default') define(rec.ns, n, {value: e[n], enumerable: true, configurable: true});\n"
    "    }\n"
    "  }\n"
    "  rec.installed = true;\n"
    "}\n"
    "function evaluate(rec) {\n"
    "  if (rec.state === 3) throw rec.error;\n"
    "  if (rec.state !== 0) return;\n"
    "  rec.state = 1;\n"
    "  try {\n"
    "    const c = rec.c;\n"
    "    if (apply(hasOwn, c, ['cjs'])) {\n"
    "      evaluateCommonJS(rec);\n"
    "    } else if (apply(hasOwn, c, ['json'])) {\n"
    "      define(rec.ns, 'default', {value: c.json, enumerable: true, configurable: true});\n"
    "      rec.installed = true;\n"
    "    } else {\n"
    "      if (c.linked) {\n"
    "        c.f(linkRecord(rec));\n"
    "      } else {\n"
    "        const getters = apply(call, c.f, [undefined]);\n"
    "        if (getters === null || typeof getters !== 'object')\n"
    "          throw new TypeError('the module did not return its exports object');\n"
    "        install(rec, getters);\n"
    "      }\n"
    "    }\n"
    "    sortAndFreeze(rec.ns);\n"
    "    rec.state = 2;\n"
    "    const waiters = rec.waiters;\n"
    "    rec.waiters = [];\n"
    "    for (let i = 0; i < waiters.length; i++) waiters[i]();\n"
    "  } catch (e) { rec.state = 3; rec.error = e; throw e; }\n"
    "}\n"
    "function dynamicImport(specifier, referrer) {\n"
    "  try {\n"
    "    const rec = load(String(specifier), referrer);\n"
    "    fetchGraph(rec);\n"
    "    evaluate(rec);\n"
    "    return resolved(rec.ns);\n"
    "  } catch (e) { return rejected(e); }\n"
    "}\n"
    "return function entry(c) {\n"
    "  const rec = record(null, c);\n"
    "  fetchGraph(rec);\n"
    "  evaluate(rec);\n"
    "  return [rec.ns, keys(rec.ns)];\n"
    "};\n"
    "})";

static void clear_module_error(engine_ctx *ec)
{
    if (ec->module_error_value)
        JSValueUnprotect(ec->js, ec->module_error_value);
    ec->module_error_value = NULL;
    jsp_result_free(ec->module_error);
    ec->module_error = NULL;
}

/* Remembers the result for a link error about to be thrown as `value`, so that the load
 * that fails with it reports its code, file and line instead of a generic JS error. */
static JSValueRef throw_module_error(engine_ctx *ec, jsp_result *r, JSValueRef *exception)
{
    JSContextRef js = ec->js;
    JSValueRef value = js_make_error(js, r->error_name && strcmp(r->error_name, "SyntaxError") == 0
                                             ? "SyntaxError" : "Error",
                                     r->error_message ? r->error_message : "module error");
    clear_module_error(ec);
    ec->module_error = r;
    ec->module_error_value = value;
    JSValueProtect(js, value);
    *exception = value;
    return JSValueMakeUndefined(js);
}

static JSValueRef throw_link_error(engine_ctx *ec, const char *message, JSValueRef *exception)
{
    return throw_module_error(ec, result_error(JSP_EMODULE, "Error", message), exception);
}

/* resolve(specifier, referrer | null, line | undefined) -> [name, source], through the
 * context's loader; line is where the importer imports it (static imports). */
static JSValueRef native_resolve(JSContextRef js, JSObjectRef function, JSObjectRef self,
                                 size_t argc, const JSValueRef argv[], JSValueRef *exception)
{
    (void)function;
    (void)self;
    engine_ctx *ec = engine_ctx_of(js);
    char *specifier = natives_string_arg(js, argc, argv, 0, NULL);
    char *referrer = natives_string_arg(js, argc, argv, 1, NULL);
    char *name = NULL, *source = NULL, *error = NULL, message[1200];
    size_t source_len = 0;
    JSValueRef value = NULL;
    int line = argc > 2 && JSValueIsNumber(js, argv[2]) ? (int)JSValueToNumber(js, argv[2], NULL) : 0;
    char from[600];
    if (line > 0)
        snprintf(from, sizeof from, referrer ? "%.400s:%d" : "%.400s (line %d)",
                 referrer ? referrer : "the entry module", line);
    else
        snprintf(from, sizeof from, "%.400s", referrer ? referrer : "the entry module");
    if (!specifier) {
        natives_throw(js, exception, "TypeError", "import: the specifier must be a string");
        goto out;
    }
    if (!ec->module_loader) {
        snprintf(message, sizeof message,
                 "cannot import '%.400s' from %.400s: this context has no module loader "
                 "(modules posted to the server cannot import; bundle them, or deploy the "
                 "file with `jspool serve FILE.js`)", specifier, from);
        throw_link_error(ec, message, exception);
        if (!referrer && ec->module_error != result_out_of_memory())
            ec->module_error->error_line = line;
        goto out;
    }
    int rc = ec->module_loader(ec->module_loader_user, specifier, referrer, &name, &source,
                               &source_len, &error);
    if (rc != 0 || !name || !source) {
        snprintf(message, sizeof message, "cannot find module '%.400s' imported by %.400s%s%.300s",
                 specifier, from, error ? ": " : "", error ? error : "");
        throw_link_error(ec, message, exception);
        if (!referrer && ec->module_error != result_out_of_memory())
            ec->module_error->error_line = line;
        goto out;
    }
    if (!utf8_is_valid(source, source_len) || !utf8_is_valid(name, strlen(name))) {
        snprintf(message, sizeof message, "module %.400s (imported by %.400s) is not valid UTF-8",
                 name, from);
        throw_link_error(ec, message, exception);
        goto out;
    }
    JSStringRef name_js = js_string_from_utf8(name, strlen(name));
    JSStringRef source_js = name_js ? js_string_from_utf8(source, source_len) : NULL;
    if (source_js) {
        JSValueRef pair[2] = {JSValueMakeString(js, name_js), JSValueMakeString(js, source_js)};
        value = JSObjectMakeArray(js, 2, pair, exception);
    } else {
        natives_throw(js, exception, "RangeError", "out of memory loading a module");
    }
    if (source_js)
        JSStringRelease(source_js);
    if (name_js)
        JSStringRelease(name_js);
out:
    free(specifier);
    free(referrer);
    free(name);
    free(source);
    free(error);
    return value ? value : JSValueMakeUndefined(js);
}

static void set_property(JSContextRef js, JSObjectRef o, const char *key, JSValueRef v)
{
    JSStringRef k = JSStringCreateWithUTF8CString(key);
    JSObjectSetProperty(js, o, k, v, kJSPropertyAttributeNone, NULL);
    JSStringRelease(k);
}

/* The linker's view of a compiled module: {f, linked, deps}. */
static JSObjectRef module_record(JSContextRef js, const module_script *m, JSObjectRef factory)
{
    JSValueRef *deps = calloc(2 * m->import_count + 1, sizeof *deps), *lines = deps + m->import_count;
    if (!deps)
        return NULL;
    for (size_t i = 0; i < m->import_count; i++) {
        lines[i] = JSValueMakeNumber(js, m->import_lines[i]);
        JSStringRef s = js_string_from_utf8(m->imports[i], strlen(m->imports[i]));
        deps[i] = s ? JSValueMakeString(js, s) : JSValueMakeUndefined(js);
        if (s)
            JSStringRelease(s);
    }
    JSObjectRef record = JSObjectMake(js, NULL, NULL);
    set_property(js, record, "f", factory);
    set_property(js, record, "linked", JSValueMakeBoolean(js, m->linked != 0));
    set_property(js, record, "deps", JSObjectMakeArray(js, m->import_count, deps, NULL));
    set_property(js, record, "lines", JSObjectMakeArray(js, m->import_count, lines, NULL));
    free(deps);
    return record;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* A dependency's syntax error: its line and column are the dependency's, so the message
 * says which file ("lib/x.js:3:7: Unexpected token"). */
static jsp_result *in_file(jsp_result *r, const char *name)
{
    char *message = r == result_out_of_memory() ? NULL
                    : malloc(strlen(name) + strlen(r->error_message ? r->error_message : "") + 64);
    if (message) {
        sprintf(message, "%s:%d:%d: %s", name, r->error_line, r->error_column,
                r->error_message ? r->error_message : "");
        free(r->error_message);
        r->error_message = message;
    }
    return r;
}

/* Whether the words `import` or `export` occur at all (not as part of a longer name such
 * as `exports`): without them a file has no module syntax, and the transform is skipped. */
static bool mentions_import_or_export(const char *source, size_t len)
{
    static const char *const words[] = {"import", "export"};
    for (size_t w = 0; w < 2; w++)
        for (const char *p = source, *end = source + len; (p = memmem(p, (size_t)(end - p), words[w], 6)); p += 6) {
            char before = p > source ? p[-1] : ' ', after = p + 6 < end ? p[6] : ' ';
            bool part_of_name = isalnum((unsigned char)before) || before == '_' || before == '$' ||
                                before == '.' || isalnum((unsigned char)after) || after == '_' ||
                                after == '$';
            if (!part_of_name)
                return true;
        }
    return false;
}

/* CommonJS, as Node decides for a file it imports: ".cjs" always, ".mjs" never, any other
 * name when the source has no import or export form (Node's syntax detection for files
 * outside a "type": "module" package; a side-effect-only ES module therefore runs as
 * CommonJS, in sloppy mode — the one difference a user could see). */
static bool is_commonjs(const char *name, const char *source, size_t len)
{
    if (ends_with(name, ".cjs"))
        return true;
    if (ends_with(name, ".mjs"))
        return false;
    if (!mentions_import_or_export(source, len))
        return true; /* no transform needed: `exports`, `module.exports` are not the words */
    const shared_transform *cached = transform_cache_get(source, len);
    if (cached) { /* a module already compiled somewhere in the process */
        bool plain = !shared_transform_script(cached)->module_syntax;
        transform_cache_release(cached);
        return plain;
    }
    module_script m;
    bool plain = module_transform(source, len, &m) == MODULE_TRANSFORM_OK && !m.module_syntax;
    module_script_free(&m);
    return plain;
}

/* {cjs: true, f, deps: [], lines: []}: f is function (exports, require, module, __filename,
 * __dirname) with the file's text as its body. The body is first made into a function as
 * the Function constructor makes one, which parses it alone as a function body (so
 * `return` at top level is allowed and an unmatched `}` cannot close the function early);
 * then the same text behind cjs_prefix on line 1 is evaluated, so that lines in errors and
 * stack traces are the file's (the first parse puts the body two lines down). A body that
 * parses alone followed by "\n})" can only be that function's body. */
static const char cjs_prefix[] = "(function (exports, require, module, __filename, __dirname) {";

static JSValueRef compile_commonjs(engine_ctx *ec, const char *name, const char *source,
                                   size_t len, JSValueRef *exception)
{
    static const char *const params[] = {"exports", "require", "module", "__filename", "__dirname"};
    JSContextRef js = ec->js;
    size_t prefix_len = sizeof cjs_prefix - 1;
    char *text = malloc(prefix_len + len + 4);
    JSStringRef names[5] = {NULL}, url = NULL, body = NULL, wrapper = NULL;
    JSValueRef value = NULL, thrown = NULL;
    if (text) {
        memcpy(text, cjs_prefix, prefix_len);
        memcpy(text + prefix_len, source, len);
        if (len >= 2 && source[0] == '#' && source[1] == '!') /* a hashbang line, as Node */
            memcpy(text + prefix_len, "//", 2);
        memcpy(text + prefix_len + len, "\n})", 3);
        url = js_string_from_utf8(name, strlen(name));
        body = url ? js_string_from_utf8(text + prefix_len, len) : NULL;
        wrapper = body ? js_string_from_utf8(text, prefix_len + len + 3) : NULL;
    }
    bool ok = wrapper != NULL;
    for (size_t i = 0; i < 5 && ok; i++)
        ok = (names[i] = JSStringCreateWithUTF8CString(params[i])) != NULL;
    if (!ok) {
        natives_throw(js, exception, "RangeError", "out of memory loading a module");
        goto out;
    }
    if (!JSObjectMakeFunction(js, NULL, 5, names, body, url, 1, &thrown)) {
        /* Place the error with the wrapper's parse; failing that (the body would have
         * closed the function), report the first parse's error at the file's line. */
        JSValueRef placed = NULL;
        bool shifted = JSCheckScriptSyntax(js, wrapper, url, 1, &placed) || !placed;
        jsp_result *r = js_exception_result(ec->vm, js, shifted ? thrown : placed, JSP_ESYNTAX);
        if (r->code == JSP_ESYNTAX) {
            if (shifted)
                r->error_line = r->error_line > 2 ? r->error_line - 2 : 1;
            guess_syntax_error_column(r, source, len);
        }
        throw_module_error(ec, in_file(r, name), exception);
        goto out;
    }
    JSValueRef f = JSEvaluateScript(js, wrapper, NULL, url, 1, &thrown);
    if (!f || !JSValueIsObject(js, f) || !JSObjectIsFunction(js, (JSObjectRef)f)) {
        throw_module_error(ec, result_error(JSP_ESYNTAX, "SyntaxError", "CommonJS module escaped its function"),
                           exception);
        goto out;
    }
    JSObjectRef record = JSObjectMake(js, NULL, NULL);
    set_property(js, record, "cjs", JSValueMakeBoolean(js, true));
    set_property(js, record, "f", f);
    set_property(js, record, "deps", JSObjectMakeArray(js, 0, NULL, NULL));
    set_property(js, record, "lines", JSObjectMakeArray(js, 0, NULL, NULL));
    value = record;
out:
    for (size_t i = 0; i < 5; i++)
        if (names[i])
            JSStringRelease(names[i]);
    if (wrapper)
        JSStringRelease(wrapper);
    if (body)
        JSStringRelease(body);
    if (url)
        JSStringRelease(url);
    free(text);
    return value;
}

/* compile(name, source) -> {f, linked, deps} or {json}; a syntax error names the file. */
static JSValueRef native_compile(JSContextRef js, JSObjectRef function, JSObjectRef self,
                                 size_t argc, const JSValueRef argv[], JSValueRef *exception)
{
    (void)function;
    (void)self;
    engine_ctx *ec = engine_ctx_of(js);
    size_t len = 0;
    char *name = natives_string_arg(js, argc, argv, 0, NULL);
    char *source = natives_string_arg(js, argc, argv, 1, &len);
    JSValueRef value = NULL;
    if (!name || !source) {
        natives_throw(js, exception, "RangeError", "out of memory loading a module");
        goto out;
    }
    if (ends_with(name, ".json")) {
        JSValueRef parsed = js_value_from_json(js, source, len);
        if (!parsed) {
            char message[600];
            snprintf(message, sizeof message, "JSON module %.500s is not valid JSON", name);
            throw_module_error(ec, result_error(JSP_ESYNTAX, "SyntaxError", message), exception);
            goto out;
        }
        JSObjectRef record = JSObjectMake(js, NULL, NULL);
        set_property(js, record, "json", parsed);
        value = record;
        goto out;
    }
    if (is_commonjs(name, source, len)) {
        value = compile_commonjs(ec, name, source, len, exception);
        goto out;
    }
    module_script m;
    JSObjectRef factory;
    jsp_result *r = engine_module_compile(ec, name, source, len, &m, &factory);
    if (r) {
        throw_module_error(ec, in_file(r, name), exception);
    } else {
        value = module_record(js, &m, factory);
        if (!value)
            natives_throw(js, exception, "RangeError", "out of memory loading a module");
    }
    module_script_free(&m);
out:
    free(name);
    free(source);
    return value ? value : JSValueMakeUndefined(js);
}

/* fail(message) -> the Error to throw for a missing export. */
static JSValueRef native_fail(JSContextRef js, JSObjectRef function, JSObjectRef self,
                              size_t argc, const JSValueRef argv[], JSValueRef *exception)
{
    (void)function;
    (void)self;
    engine_ctx *ec = engine_ctx_of(js);
    char *message = natives_string_arg(js, argc, argv, 0, NULL);
    JSValueRef thrown = NULL;
    throw_module_error(ec, result_error(JSP_EMODULE, "SyntaxError", message ? message : "missing export"),
                       &thrown);
    free(message);
    (void)exception;
    return thrown;
}

static JSObjectRef make_linker(engine_ctx *ec, JSValueRef *exception)
{
    JSContextRef js = ec->js;
    JSValueRef maker = js_evaluate_utf8(js, linker_source, "jspool:linker", exception);
    if (!maker || !JSValueIsObject(js, maker))
        return NULL;
    JSValueRef natives[3] = {
        JSObjectMakeFunctionWithCallback(js, NULL, native_resolve),
        JSObjectMakeFunctionWithCallback(js, NULL, native_compile),
        JSObjectMakeFunctionWithCallback(js, NULL, native_fail),
    };
    JSValueRef linker = JSObjectCallAsFunction(js, (JSObjectRef)maker, NULL, 3, natives, exception);
    if (!linker || !JSValueIsObject(js, linker))
        return NULL;
    JSValueProtect(js, linker);
    return (JSObjectRef)linker;
}

jsp_result *engine_module_link_entry(engine_ctx *ec, const module_script *m,
                                     JSObjectRef factory, JSObjectRef *exports)
{
    JSContextRef js = ec->js;
    JSValueRef exception = NULL;
    *exports = NULL;
    if (!ec->linker)
        ec->linker = make_linker(ec, &exception);
    if (!ec->linker)
        return exception ? js_exception_result(ec->vm, js, exception, JSP_EJS)
                         : result_error(JSP_ENOMEM, NULL, "cannot make the module linker");
    JSValueRef record = module_record(js, m, factory);
    if (!record)
        return result_out_of_memory();
    JSValueRef pair = engine_call_function(ec, ec->linker, NULL, 1, &record, &exception);
    jsp_result *r;
    if (exception) {
        if (ec->module_error && JSValueIsStrictEqual(js, exception, ec->module_error_value)) {
            r = ec->module_error;
            ec->module_error = NULL;
        } else {
            r = js_exception_result(ec->vm, js, exception, JSP_EJS);
        }
        clear_module_error(ec);
        return r;
    }
    clear_module_error(ec);
    JSValueRef ns = JSObjectGetPropertyAtIndex(js, (JSObjectRef)pair, 0, NULL);
    JSValueRef names = JSObjectGetPropertyAtIndex(js, (JSObjectRef)pair, 1, NULL);
    char *json = NULL;
    size_t len = 0;
    if (!JSValueIsObject(js, ns) || js_value_to_json(js, names, &json, &len) != 0) {
        free(json);
        return result_error(JSP_EJS, "TypeError", "the module did not return its exports object");
    }
    JSValueProtect(js, ns);
    *exports = (JSObjectRef)ns;
    return result_ok_take(json, len);
}

void engine_modules_free(engine_ctx *ec)
{
    clear_module_error(ec);
    if (ec->linker)
        JSValueUnprotect(ec->js, ec->linker);
    ec->linker = NULL;
}

void engine_ctx_set_module_loader(engine_ctx *ec, jsp_module_loader_fn loader, void *user)
{
    ec->module_loader = loader;
    ec->module_loader_user = user;
}
