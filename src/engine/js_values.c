/* js_values.c — conversions between JSC values and jspool's text forms (UTF-8, JSON,
 * jsp_result errors). Not for calling into JS beyond what a conversion needs. */
#include "apis/api_groups.h"
#include "engine/engine_internal.h"
#include "util/result.h"
#include "util/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether text is all ASCII without a NUL (8 bytes at a time). */
static bool is_plain_ascii(const char *text, size_t len)
{
    const uint64_t high = 0x8080808080808080ull, ones = 0x0101010101010101ull;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, text + i, 8);
        if ((w & high) || ((w - ones) & ~w & high)) /* a byte >= 0x80, or a zero byte */
            return false;
    }
    for (; i < len; i++)
        if (text[i] == 0 || (unsigned char)text[i] >= 0x80)
            return false;
    return true;
}

JSStringRef js_string_from_utf8(const char *text, size_t len)
{
    /* Long ASCII text (sources, mostly) becomes a Latin-1 engine string through
     * JSStringCreateWithUTF8CString: half the memory of UTF-16 for every copy JSC keeps
     * (a script's SourceProvider), and JSC's lexer runs its 8-bit path. It stops at NUL,
     * so it gets a terminated copy of text without any. */
    if (len >= 1024 && is_plain_ascii(text, len)) {
        char *copy = malloc(len + 1);
        if (!copy)
            return NULL;
        memcpy(copy, text, len);
        copy[len] = '\0';
        JSStringRef s = JSStringCreateWithUTF8CString(copy);
        free(copy);
        return s;
    }
    /* Otherwise widening ourselves keeps the explicit length, so embedded NULs survive.
     * Small strings use the stack. */
    uint16_t small[256];
    uint16_t *units = len <= 256 ? small : malloc(len * sizeof(uint16_t));
    if (!units)
        return NULL;
    size_t n = utf8_to_utf16(text, len, units);
    JSStringRef s = JSStringCreateWithCharacters(units, n);
    if (units != small)
        free(units);
    return s;
}

char *js_string_to_utf8(JSStringRef s, size_t *len_out)
{
    size_t max = JSStringGetMaximumUTF8CStringSize(s);
    char *buf = malloc(max);
    if (!buf)
        return NULL;
    size_t written = JSStringGetUTF8CString(s, buf, max); /* includes the NUL */
    if (len_out)
        *len_out = written ? written - 1 : 0;
    return buf;
}

char *js_value_to_utf8(JSContextRef js, JSValueRef v, size_t *len_out)
{
    JSValueRef exception = NULL;
    JSStringRef s = JSValueToStringCopy(js, v, &exception);
    if (!s) /* e.g. a Symbol, or an object whose toString throws */
        return strdup(JSValueIsSymbol(js, v) ? "Symbol()" : "[object]");
    char *text = js_string_to_utf8(s, len_out);
    JSStringRelease(s);
    return text;
}

int js_value_to_json(JSContextRef js, JSValueRef v, char **json, size_t *len_out)
{
    if (JSValueIsUndefined(js, v)) {
        *json = strdup("null");
        *len_out = 4;
        return *json ? 0 : JSP_ENOMEM;
    }
    JSValueRef exception = NULL;
    JSStringRef s = JSValueCreateJSONString(js, v, 0, &exception);
    if (!s) {
        /* No exception: JSON.stringify gave undefined (function, symbol). With one: a
         * cycle or a BigInt. */
        if (exception) { /* "RangeError: Maximum call stack size exceeded." when too deep */
            char *thrown = js_value_to_utf8(js, exception, NULL);
            static const char prefix[] = "value cannot be represented as JSON: ";
            *json = thrown ? malloc(sizeof(prefix) + strlen(thrown)) : NULL;
            if (*json)
                strcat(strcpy(*json, prefix), thrown);
            free(thrown);
        } else {
            *json = strdup(JSValueIsObject(js, v) ? "result is a function"
                                                  : "result is a symbol");
        }
        if (*json)
            *len_out = strlen(*json);
        return JSP_ENOTJSON;
    }
    *json = js_string_to_utf8(s, len_out);
    JSStringRelease(s);
    return *json ? 0 : JSP_ENOMEM;
}

JSValueRef js_value_from_json(JSContextRef js, const char *json, size_t len)
{
    JSStringRef s = js_string_from_utf8(json, len);
    if (!s)
        return NULL;
    JSValueRef v = JSValueMakeFromJSONString(js, s);
    JSStringRelease(s);
    return v;
}

static char *string_property(JSContextRef js, JSObjectRef o, JSStringRef key)
{
    JSValueRef exception = NULL;
    JSValueRef v = JSObjectGetProperty(js, o, key, &exception);
    if (exception || JSValueIsUndefined(js, v) || JSValueIsNull(js, v))
        return NULL;
    return js_value_to_utf8(js, v, NULL);
}

static int int_property(JSContextRef js, JSObjectRef o, JSStringRef key)
{
    JSValueRef exception = NULL;
    JSValueRef v = JSObjectGetProperty(js, o, key, &exception);
    if (exception || !JSValueIsNumber(js, v))
        return 0;
    return (int)JSValueToNumber(js, v, NULL);
}

/* "Can't find variable: TextEncoder" in a context without the group that defines it: say
 * which group does, so a user need not find the groups one failed run at a time. */
static void hint_missing_group(JSContextRef js, jsp_result *r)
{
    static const char prefix[] = "Can't find variable: ";
    engine_ctx *ec = engine_ctx_of(js);
    if (!ec || !r->error_name || strcmp(r->error_name, "ReferenceError") != 0 || !r->error_message ||
        strncmp(r->error_message, prefix, sizeof(prefix) - 1) != 0)
        return;
    char hint[300];
    if (!api_groups_hint_missing(r->error_message + sizeof(prefix) - 1, ec->apis, hint, sizeof(hint)))
        return;
    size_t len = strlen(r->error_message), hint_len = strlen(hint);
    char *longer = realloc(r->error_message, len + hint_len + 1);
    if (!longer)
        return; /* the plain message is still true */
    memcpy(longer + len, hint, hint_len + 1);
    r->error_message = longer;
}

jsp_result *js_exception_result(engine_vm *vm, JSContextRef js, JSValueRef exception, int code)
{
    jsp_result *r = calloc(1, sizeof(*r));
    if (!r)
        return result_out_of_memory();
    r->code = code;
    if (JSValueIsObject(js, exception)) {
        JSObjectRef o = (JSObjectRef)exception;
        r->error_name = string_property(js, o, vm->names.name);
        r->error_message = string_property(js, o, vm->names.message);
        r->error_stack = string_property(js, o, vm->names.stack);
        r->error_line = int_property(js, o, vm->names.line);
        r->error_column = int_property(js, o, vm->names.column);
        /* the host's own frame below every call (engine_entry.c) is not the guest's */
        static const char entry_frame[] = "jspoolEntry@[native code]";
        size_t stack_len = r->error_stack ? strlen(r->error_stack) : 0;
        if (stack_len >= sizeof(entry_frame) - 1 &&
            strcmp(r->error_stack + stack_len - (sizeof(entry_frame) - 1), entry_frame) == 0) {
            stack_len -= sizeof(entry_frame) - 1;
            if (stack_len && r->error_stack[stack_len - 1] == '\n')
                stack_len--;
            r->error_stack[stack_len] = '\0';
        }
        if (r->error_stack && r->error_stack[0] == '\0') {
            free(r->error_stack);
            r->error_stack = NULL;
        }
    }
    /* `throw "boom"` or an object without name/message: describe the thrown value. */
    if (!r->error_name)
        r->error_name = strdup("Error");
    if (!r->error_message)
        r->error_message = js_value_to_utf8(js, exception, NULL);
    if (!r->error_name || !r->error_message) {
        jsp_result_free(r);
        return result_out_of_memory();
    }
    hint_missing_group(js, r);
    return r;
}

JSValueRef js_make_error(JSContextRef js, const char *constructor, const char *message)
{
    JSStringRef ctor_name = JSStringCreateWithUTF8CString(constructor);
    JSValueRef ctor = JSObjectGetProperty(js, JSContextGetGlobalObject(js), ctor_name, NULL);
    JSStringRelease(ctor_name);
    JSStringRef text = js_string_from_utf8(message, strlen(message));
    JSValueRef arg = JSValueMakeString(js, text);
    JSStringRelease(text);
    /* If user code replaced the constructor, fall back to a plain Error (never trust
     * globals the guest can overwrite to build host errors). */
    if (ctor && JSValueIsObject(js, ctor) && JSObjectIsConstructor(js, (JSObjectRef)ctor)) {
        JSValueRef exception = NULL;
        JSObjectRef e = JSObjectCallAsConstructor(js, (JSObjectRef)ctor, 1, &arg, &exception);
        if (e && !exception)
            return e;
    }
    return JSObjectMakeError(js, 1, &arg, NULL);
}

int js_global_names(engine_ctx *ec, char ***names_out, size_t *count_out)
{
    if (engine_ctx_ready(ec) != 0)
        return JSP_ENOMEM;
    JSContextRef js = ec->js;
    JSValueRef arg = JSContextGetGlobalObject(js);
    JSValueRef exception = NULL;
    JSValueRef list = JSObjectCallAsFunction(js, ec->get_own_names, NULL, 1, &arg, &exception);
    if (exception || !JSValueIsObject(js, list))
        return JSP_EJS;
    JSObjectRef array = (JSObjectRef)list;
    JSValueRef length = JSObjectGetProperty(js, array, ec->vm->names.length, NULL);
    size_t count = (size_t)JSValueToNumber(js, length, NULL);
    char **names = calloc(count ? count : 1, sizeof(char *));
    if (!names)
        return JSP_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        JSValueRef item = JSObjectGetPropertyAtIndex(js, array, (unsigned)i, NULL);
        names[i] = js_value_to_utf8(js, item, NULL);
        if (!names[i]) {
            js_free_names(names, i);
            return JSP_ENOMEM;
        }
    }
    *names_out = names;
    *count_out = count;
    return 0;
}

void js_free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

JSValueRef js_evaluate_utf8(JSContextRef js, const char *source, const char *url, JSValueRef *exception)
{
    JSStringRef text = JSStringCreateWithUTF8CString(source);
    JSStringRef source_url = JSStringCreateWithUTF8CString(url);
    JSValueRef value = JSEvaluateScript(js, text, NULL, source_url, 1, exception);
    JSStringRelease(text);
    JSStringRelease(source_url);
    return value;
}
