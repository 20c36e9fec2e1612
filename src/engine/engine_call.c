/* engine_call.c — running guest code for a call: eval, module load, function call by
 * name, message delivery, timer callbacks and host-call settlement; and turning what
 * comes back (value, exception, Promise) into a jsp_result. */
#include "engine/engine_internal.h"
#include "engine/module_transform.h"
#include "engine/transform_cache.h"
#include "util/result.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a settle object (a then() handler of a pending call) remembers. */
typedef struct settle_closure {
    uint64_t call_id;
    bool is_fulfil;
} settle_closure;

jsp_result *js_value_result(JSContextRef js, JSValueRef value)
{
    char *json;
    size_t len;
    int rc = js_value_to_json(js, value, &json, &len);
    if (rc == 0)
        return result_ok_take(json, len);
    jsp_result *r = result_error(rc, "TypeError", json ? json : NULL);
    free(json);
    return r;
}

/* Every call crosses the engine lock once per C API call, so the common results (an
 * integer, a boolean, null) are written here instead of through JSON.stringify: two
 * crossings instead of five. Anything else takes js_value_result. */
static jsp_result *primitive_result(JSContextRef js, JSValueRef value, JSType type)
{
    char text[32];
    const char *json = NULL;
    if (type == kJSTypeNull || type == kJSTypeUndefined) {
        json = "null"; /* JSON has no undefined; a call returning nothing gives null */
    } else if (type == kJSTypeBoolean) {
        json = JSValueToBoolean(js, value) ? "true" : "false";
    } else if (type == kJSTypeNumber) {
        double d = JSValueToNumber(js, value, NULL);
        if (!isfinite(d))
            json = "null"; /* as JSON.stringify */
        else if (d == trunc(d) && fabs(d) <= 9007199254740992.0)
            json = text, snprintf(text, sizeof(text), "%lld", (long long)d);
    }
    if (!json)
        return js_value_result(js, value); /* fractions, strings, symbols, BigInts */
    char *copy = strdup(json);
    return copy ? result_ok_take(copy, strlen(copy)) : result_out_of_memory();
}

JSValueRef engine_settle_call(JSContextRef js, JSObjectRef function, JSObjectRef self,
                              size_t argc, const JSValueRef argv[], JSValueRef *exception)
{
    settle_closure *closure = JSObjectGetPrivate(function);
    engine_ctx *ec = engine_ctx_of(js);
    JSValueRef value = argc ? argv[0] : JSValueMakeUndefined(js);
    if (closure && ec) {
        jsp_result *r = closure->is_fulfil ? js_value_result(js, value)
                                           : js_exception_result(ec->vm, js, value, JSP_EJS);
        ec->host->call_settled(ec->host_ctx, closure->call_id, r);
    }
    return JSValueMakeUndefined(js);
}

static JSObjectRef make_settle_handler(engine_ctx *ec, uint64_t call_id, bool is_fulfil)
{
    settle_closure *closure = malloc(sizeof(*closure));
    if (!closure)
        return NULL;
    closure->call_id = call_id;
    closure->is_fulfil = is_fulfil;
    return JSObjectMake(ec->js, ec->vm->settle_class, closure);
}

jsp_result *js_settle_or_defer(engine_ctx *ec, JSValueRef value, uint64_t call_id)
{
    JSContextRef js = ec->js;
    JSType type = JSValueGetType(js, value);
    if (type != kJSTypeObject)
        return primitive_result(js, value, type);
    JSValueRef exception = NULL;
    JSValueRef then = JSObjectGetProperty(js, (JSObjectRef)value, ec->vm->names.then, &exception);
    if (exception)
        return js_exception_result(ec->vm, js, exception, JSP_EJS);
    if (!JSValueIsObject(js, then) || !JSObjectIsFunction(js, (JSObjectRef)then))
        return js_value_result(js, value);
    JSValueRef handlers[2] = {make_settle_handler(ec, call_id, true),
                              make_settle_handler(ec, call_id, false)};
    if (!handlers[0] || !handlers[1])
        return result_out_of_memory();
    JSObjectCallAsFunction(js, (JSObjectRef)then, (JSObjectRef)value, 2, handlers, &exception);
    if (exception)
        return js_exception_result(ec->vm, js, exception, JSP_EJS);
    return NULL;
}

/* A SyntaxError thrown while evaluating could come from parsing the source or from code
 * that ran (JSON.parse). Parsing again is only paid on that error path. */
static bool is_parse_error(JSContextRef js, JSStringRef source)
{
    return !JSCheckScriptSyntax(js, source, NULL, 1, NULL);
}

void guess_syntax_error_column(jsp_result *r, const char *source, size_t len)
{
    if (r->error_column != 0 || r->error_line <= 0)
        return;
    const char *line = source, *end = source + len;
    int n = 1;
    for (const char *p = source; n < r->error_line && p < end; p++)
        if (*p == '\n') {
            n++;
            line = p + 1;
        }
    /* An error past the last line (a module's unclosed construct runs into the wrapper
     * code after it) belongs at the end of the source. */
    if (n < r->error_line) {
        r->error_line = n;
        r->error_column = (int)(end - line) + 1;
        return;
    }
    const char *line_end = memchr(line, '\n', (size_t)(end - line));
    if (!line_end)
        line_end = end;
    const char *token = strstr(r->error_message, "token '");
    if (token) {
        token += 7;
        const char *token_end = strchr(token, '\'');
        size_t token_len = token_end ? (size_t)(token_end - token) : 0;
        for (const char *p = line; token_len && p + token_len <= line_end; p++)
            if (memcmp(p, token, token_len) == 0) {
                r->error_column = (int)(p - line) + 1;
                return;
            }
    }
    /* Messages that name a keyword rather than quote a token. */
    static const char *const keyword_messages[][2] = {
        {"Return statements", "return"}, {"new.target", "new.target"},
        {"yield", "yield"}, {"super", "super"}, {"await", "await"},
    };
    for (size_t k = 0; k < sizeof keyword_messages / sizeof keyword_messages[0]; k++) {
        if (!strstr(r->error_message, keyword_messages[k][0]))
            continue;
        size_t word_len = strlen(keyword_messages[k][1]);
        for (const char *p = line; p + word_len <= line_end; p++)
            if (memcmp(p, keyword_messages[k][1], word_len) == 0) {
                r->error_column = (int)(p - line) + 1;
                return;
            }
    }
    if (strstr(r->error_message, "end of"))
        r->error_column = (int)(line_end - line) + 1;
}

/* A JS function call or script run as engine_entered work; value is NULL on exception. */
typedef struct run_js {
    JSObjectRef function;        /* or NULL: evaluate compiled, or else script */
    JSScriptRef compiled;
    JSStringRef script;
    JSStringRef source_url;
    JSObjectRef self;
    size_t argc;
    const JSValueRef *argv;
    uint64_t call_id;            /* not 0: settle or defer the value as the call's result */
    JSValueRef value;
    jsp_result *result;
} run_js;

static void run_js_work(engine_ctx *ec, void *data, JSValueRef *exception)
{
    run_js *run = data;
    if (run->function)
        run->value = JSObjectCallAsFunction(ec->js, run->function, run->self, run->argc, run->argv, exception);
    else if (run->compiled)
        run->value = JSScriptEvaluate(ec->js, run->compiled, run->self, exception);
    else
        run->value = JSEvaluateScript(ec->js, run->script, run->self, run->source_url, 1, exception);
    /* Promise reactions attached here run with the microtasks, in the same entry. */
    if (!*exception && run->call_id)
        run->result = js_settle_or_defer(ec, run->value, run->call_id);
}

static JSValueRef run_entered(engine_ctx *ec, run_js *run, JSValueRef *exception)
{
    engine_entered(ec, run_js_work, run, exception);
    if (*exception && run->result) { /* a termination while its microtasks ran wins */
        jsp_result_free(run->result);
        run->result = NULL;
    }
    return *exception ? NULL : run->value;
}

JSValueRef engine_call_function(engine_ctx *ec, JSObjectRef fn, JSObjectRef self, size_t argc,
                                const JSValueRef argv[], JSValueRef *exception)
{
    run_js run = {.function = fn, .self = self, .argc = argc, .argv = argv};
    return run_entered(ec, &run, exception);
}

JSValueRef engine_run_script(engine_ctx *ec, JSStringRef script, JSStringRef source_url, JSValueRef *exception)
{
    run_js run = {.script = script, .source_url = source_url};
    return run_entered(ec, &run, exception);
}

/* The engine string naming a source in stack traces: the VM's cached default, or a new
 * one the caller releases (release_source_url). NULL on no memory. */
static JSStringRef source_url(JSStringRef fallback, const char *source_name)
{
    return source_name ? js_string_from_utf8(source_name, strlen(source_name)) : fallback;
}

static void release_source_url(JSStringRef url, JSStringRef fallback)
{
    if (url && url != fallback)
        JSStringRelease(url);
}

/* An eval of a script the VM's code cache holds (or now takes: its second sighting), by
 * its compiled form; NULL when not cached. Such a script compiled, so an error it throws is
 * never a parse error. */
static jsp_result *eval_cached(engine_ctx *ec, const char *source, size_t len, const char *source_name,
                               uint64_t call_id, bool *is_done)
{
    code_cache *cache = &ec->vm->code_cache;
    *is_done = false;
    if (!cache->max_bytes || len < CODE_CACHE_MIN_SCRIPT)
        return NULL;
    JSScriptRef compiled = code_cache_find(cache, CODE_SCRIPT, source_name, source, len, NULL);
    if (compiled) {
        JSScriptRetain(compiled);
    } else if (code_cache_wants(cache, CODE_SCRIPT, source_name, source, len)) {
        JSStringRef url = source_url(ec->vm->names.eval_url, source_name);
        JSStringRef text = url ? js_string_from_utf8(source, len) : NULL;
        compiled = text ? JSScriptCreateFromString(ec->vm->group, url, 1, text, NULL, NULL) : NULL;
        if (compiled) {
            JSScriptRetain(compiled); /* one for the cache, one for this run */
            code_cache_put(cache, CODE_SCRIPT, source_name, source, len, NULL,
                           JSStringGetLength(text) * sizeof(JSChar), compiled);
        }
        if (text)
            JSStringRelease(text);
        release_source_url(url, ec->vm->names.eval_url);
    }
    if (!compiled)
        return NULL; /* a syntax error is reported by the plain path */
    JSValueRef exception = NULL;
    run_js run = {.compiled = compiled, .call_id = call_id};
    run_entered(ec, &run, &exception);
    JSScriptRelease(compiled);
    *is_done = true;
    return exception ? js_exception_result(ec->vm, ec->js, exception, JSP_EJS) : run.result;
}

jsp_result *engine_eval(engine_ctx *ec, const char *source, size_t len, const char *source_name,
                        uint64_t call_id)
{
    if (engine_ctx_ready(ec) != 0)
        return result_out_of_memory();
    bool is_done;
    jsp_result *cached = eval_cached(ec, source, len, source_name, call_id, &is_done);
    if (is_done)
        return cached;
    JSContextRef js = ec->js;
    JSStringRef script = js_string_from_utf8(source, len);
    JSStringRef url = source_url(ec->vm->names.eval_url, source_name);
    if (!script || !url) {
        if (script)
            JSStringRelease(script);
        release_source_url(url, ec->vm->names.eval_url);
        return result_out_of_memory();
    }
    JSValueRef exception = NULL;
    run_js run = {.script = script, .source_url = url, .call_id = call_id};
    run_entered(ec, &run, &exception);
    jsp_result *r;
    if (exception && is_parse_error(js, script)) {
        r = js_exception_result(ec->vm, js, exception, JSP_ESYNTAX);
        guess_syntax_error_column(r, source, len);
    } else if (exception)
        r = js_exception_result(ec->vm, js, exception, JSP_EJS);
    else
        r = run.result;
    JSStringRelease(script);
    release_source_url(url, ec->vm->names.eval_url);
    return r;
}

static jsp_result *export_names_result(const module_script *m)
{
    size_t cap = 3;
    for (size_t i = 0; i < m->export_count; i++)
        cap += strlen(m->export_names[i]) + 3;
    char *json = malloc(cap);
    if (!json)
        return result_out_of_memory();
    size_t n = 0;
    json[n++] = '[';
    for (size_t i = 0; i < m->export_count; i++)
        n += (size_t)sprintf(json + n, "%s\"%s\"", i ? "," : "", m->export_names[i]);
    json[n++] = ']';
    json[n] = '\0';
    return result_ok_take(json, n);
}

/* A syntax error in a module body: placed where the transform's lexer saw the first
 * structural problem when that agrees with the engine's line, else at the engine's line
 * and a guessed column. */
static jsp_result *module_syntax_error(engine_ctx *ec, JSValueRef exception, const module_script *m,
                                       const char *source, size_t len)
{
    jsp_result *r = js_exception_result(ec->vm, ec->js, exception, JSP_ESYNTAX);
    if (r->code != JSP_ESYNTAX)
        return r; /* out of memory */
    bool hint_applies = m->hint[0] && (m->hint_at_end ? r->error_line >= m->hint_line
                                                      : r->error_line == m->hint_line);
    char *message = hint_applies ? strdup(m->hint) : NULL;
    if (message) {
        free(r->error_message);
        r->error_message = message;
        r->error_line = m->hint_line;
        r->error_column = m->hint_column;
    } else {
        guess_syntax_error_column(r, source, len);
    }
    return r;
}

/* Runs the module function as a module body runs: `this` is undefined at its top level.
 * JSObjectCallAsFunction would pass the global object for a NULL `this`, so it goes
 * through Function.prototype.call. */
static JSValueRef call_with_undefined_this(JSContextRef js, JSObjectRef fn, JSValueRef *exception)
{
    JSStringRef call_name = JSStringCreateWithUTF8CString("call");
    JSValueRef call = JSObjectGetProperty(js, fn, call_name, exception);
    JSStringRelease(call_name);
    if (*exception)
        return NULL;
    if (!JSValueIsObject(js, call) || !JSObjectIsFunction(js, (JSObjectRef)call))
        return JSObjectCallAsFunction(js, fn, NULL, 0, NULL, exception);
    JSValueRef undefined = JSValueMakeUndefined(js);
    return JSObjectCallAsFunction(js, (JSObjectRef)call, fn, 1, &undefined, exception);
}

/* Evaluates a cached module script: defines the module function (no guest code runs). */
static jsp_result *factory_from_script(engine_ctx *ec, JSScriptRef script, JSObjectRef *factory_out)
{
    JSValueRef exception = NULL;
    JSValueRef factory = JSScriptEvaluate(ec->js, script, NULL, &exception);
    if (exception)
        return js_exception_result(ec->vm, ec->js, exception, JSP_EJS);
    if (!JSValueIsObject(ec->js, factory) || !JSObjectIsFunction(ec->js, (JSObjectRef)factory))
        return result_error(JSP_ESYNTAX, "SyntaxError", "module source escaped its wrapper");
    *factory_out = (JSObjectRef)factory;
    return NULL;
}

jsp_result *engine_module_compile(engine_ctx *ec, const char *name, const char *source,
                                  size_t len, module_script *m, JSObjectRef *factory_out)
{
    *factory_out = NULL;
    code_cache *cache = &ec->vm->code_cache;
    const module_script *cached_meta = NULL;
    JSScriptRef cached = code_cache_find(cache, CODE_MODULE, name, source, len, &cached_meta);
    if (cached) {
        /* The same name and bytes compiled before in this VM: no transform, no body check,
         * no parse (engine_code_cache.c). */
        if (module_script_copy_meta(cached_meta, m) != MODULE_TRANSFORM_OK)
            return result_out_of_memory();
        JSScriptRetain(cached);
        jsp_result *r = factory_from_script(ec, cached, factory_out);
        JSScriptRelease(cached);
        return r;
    }
    /* Another VM may have transformed and checked these bytes already (isolated contexts,
     * other runtimes, a recycled VM): transform_cache.c. */
    const shared_transform *shared = ec->vm->share_transforms ? transform_cache_get(source, len) : NULL;
    const module_script *text = shared ? shared_transform_script(shared) : m;
    if (shared) {
        if (module_script_copy_meta(text, m) != MODULE_TRANSFORM_OK) {
            transform_cache_release(shared);
            return result_out_of_memory();
        }
    } else {
        int rc = module_transform(source, len, m);
        if (rc == MODULE_TRANSFORM_NOMEM)
            return result_out_of_memory();
        if (rc != MODULE_TRANSFORM_OK) {
            jsp_result *r = result_error(rc == MODULE_TRANSFORM_SYNTAX ? JSP_ESYNTAX : JSP_EMODULE,
                                         "SyntaxError", m->error_message);
            r->error_line = m->error_line;
            r->error_column = m->error_column;
            return r;
        }
    }
    JSContextRef js = ec->js;
    jsp_result *r = NULL;
    JSStringRef url = name ? js_string_from_utf8(name, strlen(name)) : JSStringRetain(ec->vm->names.module_url);
    JSStringRef body = url && !shared ? js_string_from_utf8(text->script + text->body_start,
                                                            text->body_end - text->body_start) : NULL;
    JSStringRef script = url && (body || shared) ? js_string_from_utf8(text->script, text->script_len) : NULL;
    JSValueRef exception = NULL;
    JSValueRef factory = NULL;
    JSScriptRef compiled = NULL;
    /* The body must parse as a script on its own, or it could close the wrapper early
     * (module_transform.h). Then the script only defines the module function, so anything
     * thrown while evaluating it is a parse error of the module source too. Costs a second
     * syntax-only parse of the source, once per load — once per process for a source the
     * transform cache holds (it keeps only checked ones); JSScriptCreateFromString's own
     * syntax check, when the VM's code cache takes the module, is another, once per VM. */
    bool is_body_ok = script && (shared || JSCheckScriptSyntax(js, body, url, 1, &exception));
    if (is_body_ok && !shared && ec->vm->share_transforms)
        transform_cache_put(source, len, m);
    if (is_body_ok && code_cache_wants(cache, CODE_MODULE, name, source, len))
        compiled = JSScriptCreateFromString(ec->vm->group, url, 1, script, NULL, NULL);
    if (compiled) {
        r = factory_from_script(ec, compiled, factory_out);
        if (!r)
            code_cache_put(cache, CODE_MODULE, name, source, len, m,
                           JSStringGetLength(script) * sizeof(JSChar), compiled);
        else
            JSScriptRelease(compiled);
    } else {
        if (is_body_ok)
            factory = JSEvaluateScript(js, script, NULL, url, 1, &exception);
        if (!script)
            r = result_out_of_memory();
        else if (exception)
            r = module_syntax_error(ec, exception, m, source, len);
        else if (!JSValueIsObject(js, factory) || !JSObjectIsFunction(js, (JSObjectRef)factory))
            r = result_error(JSP_ESYNTAX, "SyntaxError", "module source escaped its wrapper");
        else
            *factory_out = (JSObjectRef)factory;
    }
    if (script)
        JSStringRelease(script);
    if (body)
        JSStringRelease(body);
    if (url)
        JSStringRelease(url);
    transform_cache_release(shared);
    return r;
}

jsp_result *engine_load_module(engine_ctx *ec, const char *source, size_t len, const char *source_name)
{
    if (engine_ctx_ready(ec) != 0)
        return result_out_of_memory();
    module_script m;
    JSObjectRef factory;
    jsp_result *r = engine_module_compile(ec, source_name, source, len, &m, &factory);
    if (r) {
        module_script_free(&m);
        return r;
    }
    JSContextRef js = ec->js;
    JSValueRef exception = NULL;
    if (m.linked) {
        /* Imports: the linker evaluates the graph (engine_modules.c). */
        JSObjectRef exports = NULL;
        r = engine_module_link_entry(ec, &m, factory, &exports);
        if (r->code == 0) {
            if (ec->exports)
                JSValueUnprotect(js, ec->exports);
            ec->exports = exports; /* protected by the linker */
        }
        module_script_free(&m);
        return r;
    }
    JSValueRef exports = call_with_undefined_this(js, factory, &exception);
    /* Exports must be an object: find_function reads its properties on every call (a
     * top-level `return;` once stored undefined here, and the next call crashed). The
     * body check makes that unreachable unless the context replaced
     * Function.prototype.call before loading. */
    if (exception) {
        r = js_exception_result(ec->vm, js, exception, JSP_EJS);
    } else if (!JSValueIsObject(js, exports)) {
        r = result_error(JSP_EJS, "TypeError", "the module did not return its exports object");
    } else {
        if (ec->exports)
            JSValueUnprotect(js, ec->exports);
        ec->exports = (JSObjectRef)exports;
        JSValueProtect(js, exports);
        r = export_names_result(&m);
    }
    module_script_free(&m);
    return r;
}

/* The engine string for a function name; the last one used is kept per context, since a
 * caller usually calls the same few functions. */
static JSStringRef function_name(engine_ctx *ec, const char *function)
{
    if (ec->last_function && strcmp(ec->last_function, function) == 0)
        return JSStringRetain(ec->last_function_js);
    JSStringRef name = js_string_from_utf8(function, strlen(function));
    char *copy = strdup(function);
    if (!name || !copy) {
        free(copy);
        return name;
    }
    if (ec->last_function_js)
        JSStringRelease(ec->last_function_js);
    free(ec->last_function);
    ec->last_function = copy;
    ec->last_function_js = JSStringRetain(name);
    return name;
}

/* Exports first, then globals; NULL when neither has a function by that name. A missing
 * property reads as undefined, so one lookup per scope is enough. */
static JSObjectRef find_function(engine_ctx *ec, JSStringRef name)
{
    JSContextRef js = ec->js;
    JSObjectRef scopes[2] = {ec->exports, JSContextGetGlobalObject(js)};
    for (int i = 0; i < 2; i++) {
        if (!scopes[i])
            continue;
        JSValueRef exception = NULL;
        JSValueRef v = JSObjectGetProperty(js, scopes[i], name, &exception);
        if (!exception && JSValueIsObject(js, v) && JSObjectIsFunction(js, (JSObjectRef)v))
            return (JSObjectRef)v;
    }
    return NULL;
}

static bool is_empty_array_text(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    if (i == len)
        return true; /* no arguments at all */
    return len - i >= 2 && text[i] == '[' && text[i + 1] == ']' &&
           strspn(text + i + 2, " \t\r\n") == len - i - 2;
}

static size_t skip_json_space(const char *text, size_t len, size_t i)
{
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    return i;
}

/* One element of the fast path: an integer of at most 15 digits (exact in a double, no
 * locale-dependent strtod), true, false or null. Returns the index after it, or 0. */
static size_t scan_simple_value(JSContextRef js, const char *text, size_t len, size_t i,
                                JSValueRef *out)
{
    static const struct { const char *word; size_t len; int kind; } words[] = {
        {"true", 4, 1}, {"false", 5, 0}, {"null", 4, 2}};
    for (size_t w = 0; w < 3; w++) {
        if (len - i >= words[w].len && memcmp(text + i, words[w].word, words[w].len) == 0) {
            *out = words[w].kind == 2 ? JSValueMakeNull(js) : JSValueMakeBoolean(js, words[w].kind);
            return i + words[w].len;
        }
    }
    bool is_negative = i < len && text[i] == '-';
    size_t start = i + is_negative, end = start;
    long long magnitude = 0;
    while (end < len && text[end] >= '0' && text[end] <= '9' && end - start < 15)
        magnitude = magnitude * 10 + (text[end++] - '0');
    bool is_json_integer = end > start && !(text[start] == '0' && end - start > 1);
    if (!is_json_integer || (end < len && strchr(".eE0123456789", text[end]) && text[end]))
        return 0; /* fraction, exponent, 16+ digits, leading zero or not a number */
    *out = JSValueMakeNumber(js, is_negative ? -(double)magnitude : (double)magnitude);
    return end;
}

/* Arguments like [42, true, null] become values without JSON.parse (which costs a
 * string conversion and an engine crossing per element read back). False for anything
 * else, including malformed text: the JSON.parse path then reports it properly. */
static bool scan_simple_args(JSContextRef js, const char *text, size_t len, JSValueRef *argv,
                             size_t capacity, size_t *argc)
{
    size_t i = skip_json_space(text, len, 0), n = 0;
    if (i == len || text[i++] != '[')
        return false;
    i = skip_json_space(text, len, i);
    if (i < len && text[i] == ']')
        return skip_json_space(text, len, i + 1) == len && (*argc = 0, true);
    for (;;) {
        if (n == capacity || !(i = scan_simple_value(js, text, len, i, &argv[n++])))
            return false;
        i = skip_json_space(text, len, i);
        if (i < len && text[i] == ',') {
            i = skip_json_space(text, len, i + 1);
            continue;
        }
        if (i < len && text[i] == ']' && skip_json_space(text, len, i + 1) == len) {
            *argc = n;
            return true;
        }
        return false;
    }
}

enum { MAX_CALL_ARGS = 64 };

/* A function call by name, from the lookup to the settled result, as one piece of
 * engine_entered work. Outside an entry every JSC API call takes the VM's lock from zero,
 * and with the watchdog armed that acquisition restarts JSC's timer (a thread-CPU-clock
 * read, a timer queued on JSC's timer thread) and re-checks the date cache: the lookup
 * and the argument parsing (~10 API calls) cost an isolated context's trivial call ~2.5
 * of its ~9 us (perf under bench/server/run.sh, the bank deployed with its own VM). Inside
 * the entry the lock is held and they cost what they do in a batch (engine_vm_batch). */
typedef struct call_by_name {
    const char *function;
    const char *args_json;
    size_t args_len;
    run_js run;
    jsp_result *refused;         /* set when no call was made (not found, bad arguments) */
} call_by_name;

static void call_by_name_work(engine_ctx *ec, void *data, JSValueRef *exception)
{
    call_by_name *c = data;
    JSContextRef js = ec->js;
    JSStringRef name = function_name(ec, c->function);
    if (!name) {
        c->refused = result_out_of_memory();
        return;
    }
    JSObjectRef fn = find_function(ec, name);
    JSStringRelease(name);
    if (!fn) {
        char message[300];
        snprintf(message, sizeof(message), "no function named '%.200s'", c->function);
        c->refused = result_error(JSP_ENOTFOUND, "ReferenceError", message);
        return;
    }
    JSValueRef argv_small[8];
    JSValueRef *argv = argv_small;
    size_t argc = 0;
    if (!is_empty_array_text(c->args_json, c->args_len) &&
        !scan_simple_args(js, c->args_json, c->args_len, argv_small, 8, &argc)) {
        JSValueRef args = js_value_from_json(js, c->args_json, c->args_len);
        if (!args) {
            c->refused = result_error(JSP_EJSON, "SyntaxError", "arguments are not valid JSON");
            return;
        }
        if (!JSValueIsArray(js, args)) {
            c->refused = result_error(JSP_EJSON, "TypeError", "arguments must be a JSON array");
            return;
        }
        JSValueRef length = JSObjectGetProperty(js, (JSObjectRef)args, ec->vm->names.length, NULL);
        argc = (size_t)JSValueToNumber(js, length, NULL);
        if (argc > MAX_CALL_ARGS) {
            c->refused = result_error(JSP_EINVAL, "RangeError", "more than 64 arguments");
            return;
        }
        if (argc > 8)
            argv = alloca(argc * sizeof(JSValueRef));
        for (size_t i = 0; i < argc; i++)
            argv[i] = JSObjectGetPropertyAtIndex(js, (JSObjectRef)args, (unsigned)i, NULL);
    }
    c->run.function = fn;
    c->run.argc = argc;
    c->run.argv = argv;
    run_js_work(ec, &c->run, exception);
}

jsp_result *engine_call(engine_ctx *ec, const char *function, const char *args_json,
                        size_t args_len, uint64_t call_id)
{
    if (engine_ctx_ready(ec) != 0)
        return result_out_of_memory();
    call_by_name c = {.function = function, .args_json = args_json, .args_len = args_len,
                      .run = {.call_id = call_id}};
    JSValueRef exception = NULL;
    engine_entered(ec, call_by_name_work, &c, &exception);
    if (c.refused) {
        jsp_result_free(c.run.result); /* (none: no call was made) */
        return c.refused;
    }
    if (exception) {
        jsp_result_free(c.run.result); /* a termination while its microtasks ran wins */
        return js_exception_result(ec->vm, ec->js, exception, JSP_EJS);
    }
    return c.run.result;
}

static void log_exception(engine_ctx *ec, const char *where, JSValueRef exception)
{
    if (ec->vm->budget && ec->vm->budget->tripped)
        return; /* our termination (a limit, a destroy): the runtime says which */
    jsp_result *r = js_exception_result(ec->vm, ec->js, exception, JSP_EJS);
    char line[1024];
    snprintf(line, sizeof(line), "uncaught exception in %s: %s: %s%s%s", where, r->error_name,
             r->error_message, r->error_stack ? "\n" : "", r->error_stack ? r->error_stack : "");
    ec->host->log(ec->host_ctx, JSP_LOG_ERROR, line);
    jsp_result_free(r);
}

/* A message's delivery, from the handler's lookup to its return, as one piece of
 * engine_entered work, for the reason call_by_name gives: outside the entry the lookup,
 * the JSON parse and the event object each took the VM's lock from zero. */
typedef struct message_delivery {
    const char *json;
    size_t len;
    bool has_handler;
} message_delivery;

static void deliver_message_work(engine_ctx *ec, void *data, JSValueRef *exception)
{
    message_delivery *d = data;
    JSContextRef js = ec->js;
    JSObjectRef global = JSContextGetGlobalObject(js);
    JSValueRef handler = JSObjectGetProperty(js, global, ec->vm->names.onmessage, NULL);
    if (!JSValueIsObject(js, handler) || !JSObjectIsFunction(js, (JSObjectRef)handler))
        return;
    d->has_handler = true;
    JSValueRef value = js_value_from_json(js, d->json, d->len);
    JSObjectRef event = JSObjectMake(js, NULL, NULL);
    JSObjectSetProperty(js, event, ec->vm->names.data, value, kJSPropertyAttributeNone, NULL);
    JSValueRef arg = event;
    run_js run = {.function = (JSObjectRef)handler, .self = global, .argc = 1, .argv = &arg};
    run_js_work(ec, &run, exception);
}

void engine_deliver_message(engine_ctx *ec, const char *json, size_t len)
{
    if (engine_ctx_ready(ec) != 0) {
        ec->host->log(ec->host_ctx, JSP_LOG_ERROR, "message dropped: out of memory");
        return;
    }
    message_delivery d = {.json = json, .len = len};
    JSValueRef exception = NULL;
    engine_entered(ec, deliver_message_work, &d, &exception);
    if (!d.has_handler && !exception) {
        ec->host->log(ec->host_ctx, JSP_LOG_DEBUG, "message dropped: no onmessage handler");
        return;
    }
    if (exception)
        log_exception(ec, "onmessage", exception);
}

void engine_callback_invoke(engine_ctx *ec, engine_callback *cb)
{
    assert(ec->is_ready); /* only guest code makes timers */
    JSValueRef exception = NULL;
    run_js run = {.function = cb->function, .argc = cb->argc, .argv = cb->argv};
    run_entered(ec, &run, &exception);
    if (exception)
        log_exception(ec, "timer callback", exception);
}

void engine_callback_free(engine_callback *cb)
{
    if (!cb)
        return;
    JSValueUnprotect(cb->js, cb->function);
    for (size_t i = 0; i < cb->argc; i++)
        JSValueUnprotect(cb->js, cb->argv[i]);
    free(cb);
}

void engine_host_promise_settle(engine_ctx *ec, engine_host_promise *p, bool ok,
                                const char *text, size_t len)
{
    assert(ec->is_ready); /* only guest code makes host calls */
    JSContextRef js = ec->js;
    JSValueRef arg;
    if (ok) {
        arg = js_value_from_json(js, text, len);
        if (!arg) { /* the API validated it; guard anyway */
            arg = js_make_error(js, "TypeError", "host function answered invalid JSON");
            ok = false;
        }
    } else {
        char *message = strndup(text, len);
        arg = js_make_error(js, "Error", message ? message : "host function failed");
        free(message);
    }
    JSValueRef exception = NULL;
    run_js run = {.function = ok ? p->resolve : p->reject, .argc = 1, .argv = &arg};
    run_entered(ec, &run, &exception);
    engine_host_promise_free(p);
}

void engine_host_promise_free(engine_host_promise *p)
{
    if (!p)
        return;
    JSValueUnprotect(p->js, p->resolve);
    JSValueUnprotect(p->js, p->reject);
    free(p);
}
