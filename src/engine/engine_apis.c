/* engine_apis.c — installs the JS-written web-API groups of a context lazily: each global
 * a group defines starts as an accessor on globalThis; the first read runs the group's
 * embedded source (its dependencies load the same way when it touches them), replaces
 * every accessor of the group with a plain writable, configurable, non-enumerable data
 * property, and returns the value. `typeof X`, `'X' in globalThis` and property order
 * behave as if X had been there from the start; assigning X before use just sets it. */
#include "apis/api_groups.h"
#include "engine/engine_internal.h"
#include "util/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(API_GROUP_COUNT <= 8, "engine_ctx.api_exports is too small");

/* Run once per context; JSC's code cache makes every run after the VM's first cheap. */
static const char installer_source[] =
    "(function (load, groups) {\n"
    "  'use strict';\n"
    "  const defineProperty = Object.defineProperty;\n"
    "  for (const [group, names] of groups) {\n"
    "    for (const name of names) {\n"
    "      defineProperty(globalThis, name, {\n"
    "        configurable: true, enumerable: false,\n"
    "        get() {\n"
    "          const exports = load(group);\n"
    "          for (const n of names)\n"
    "            defineProperty(globalThis, n, { value: exports[n], writable: true, configurable: true, enumerable: false });\n"
    "          return exports[name];\n"
    "        },\n"
    "        set(value) {\n"
    "          defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });\n"
    "        },\n"
    "      });\n"
    "    }\n"
    "  }\n"
    "})";

/* ---- natives the JS groups may use for their hot paths (second factory argument) ---- */

static void free_bytes(void *bytes, void *context)
{
    free(bytes);
}

/* utf8Encode(string) -> Uint8Array: lone surrogates become U+FFFD, as TextEncoder does. */
static JSValueRef native_utf8_encode(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                     const JSValueRef argv[], JSValueRef *exception)
{
    JSStringRef s = JSValueToStringCopy(js, argc ? argv[0] : JSValueMakeUndefined(js), exception);
    if (!s)
        return JSValueMakeUndefined(js);
    const JSChar *units = JSStringGetCharactersPtr(s);
    size_t n = JSStringGetLength(s), at = 0;
    unsigned char *out = malloc(n * 3 + 1);
    for (size_t i = 0; out && i < n; i++) {
        uint32_t c = units[i];
        if (c >= 0xD800 && c <= 0xDBFF && i + 1 < n && units[i + 1] >= 0xDC00 && units[i + 1] <= 0xDFFF)
            c = 0x10000 + ((c - 0xD800) << 10) + (units[++i] - 0xDC00);
        else if (c >= 0xD800 && c <= 0xDFFF)
            c = 0xFFFD;
        if (c < 0x80) {
            out[at++] = (unsigned char)c;
        } else if (c < 0x800) {
            out[at++] = (unsigned char)(0xC0 | c >> 6);
            out[at++] = (unsigned char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            out[at++] = (unsigned char)(0xE0 | c >> 12);
            out[at++] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            out[at++] = (unsigned char)(0x80 | (c & 0x3F));
        } else {
            out[at++] = (unsigned char)(0xF0 | c >> 18);
            out[at++] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
            out[at++] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            out[at++] = (unsigned char)(0x80 | (c & 0x3F));
        }
    }
    JSStringRelease(s);
    if (!out)
        return JSValueMakeUndefined(js);
    return JSObjectMakeTypedArrayWithBytesNoCopy(js, kJSTypedArrayTypeUint8Array, out, at, free_bytes, NULL, exception);
}

/* utf8DecodeValid(Uint8Array) -> string, or undefined when the bytes are not valid UTF-8
 * (the JS decoder then applies the standard's replacement or fatal rules). */
static JSValueRef native_utf8_decode_valid(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                           const JSValueRef argv[], JSValueRef *exception)
{
    if (!argc || !JSValueIsObject(js, argv[0]) ||
        JSValueGetTypedArrayType(js, argv[0], NULL) != kJSTypedArrayTypeUint8Array)
        return JSValueMakeUndefined(js);
    JSObjectRef array = (JSObjectRef)argv[0];
    /* the pointer is the start of the whole buffer here, whatever the view's offset */
    const char *bytes = JSObjectGetTypedArrayBytesPtr(js, array, exception);
    size_t offset = JSObjectGetTypedArrayByteOffset(js, array, exception);
    size_t len = JSObjectGetTypedArrayByteLength(js, array, exception);
    if (bytes)
        bytes += offset;
    if (*exception || (!bytes && len) || !utf8_is_valid(bytes ? bytes : "", len))
        return JSValueMakeUndefined(js);
    JSStringRef s = js_string_from_utf8(bytes ? bytes : "", len);
    if (!s)
        return JSValueMakeUndefined(js);
    JSValueRef value = JSValueMakeString(js, s);
    JSStringRelease(s);
    return value;
}

static const char base64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* btoaLatin1(string) -> base64, or undefined when a character is above U+00FF (the JS
 * side throws the standard's InvalidCharacterError). */
static JSValueRef native_btoa(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                              const JSValueRef argv[], JSValueRef *exception)
{
    JSStringRef s = JSValueToStringCopy(js, argc ? argv[0] : JSValueMakeUndefined(js), exception);
    if (!s)
        return JSValueMakeUndefined(js);
    const JSChar *in = JSStringGetCharactersPtr(s);
    size_t n = JSStringGetLength(s), at = 0;
    JSChar *out = malloc(((n + 2) / 3) * 4 * sizeof(JSChar) + 1);
    bool is_latin1 = out != NULL;
    for (size_t i = 0; is_latin1 && i < n; i += 3) {
        uint32_t a = in[i], b = i + 1 < n ? in[i + 1] : 0, c = i + 2 < n ? in[i + 2] : 0;
        if (a > 0xFF || b > 0xFF || c > 0xFF) {
            is_latin1 = false;
            break;
        }
        uint32_t v = a << 16 | b << 8 | c;
        out[at++] = (JSChar)base64_alphabet[v >> 18];
        out[at++] = (JSChar)base64_alphabet[(v >> 12) & 63];
        out[at++] = i + 1 < n ? (JSChar)base64_alphabet[(v >> 6) & 63] : '=';
        out[at++] = i + 2 < n ? (JSChar)base64_alphabet[v & 63] : '=';
    }
    JSStringRelease(s);
    JSValueRef result = JSValueMakeUndefined(js);
    if (is_latin1) {
        JSStringRef encoded = JSStringCreateWithCharacters(out, at);
        result = JSValueMakeString(js, encoded);
        JSStringRelease(encoded);
    }
    free(out);
    return result;
}

static int base64_value(JSChar c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* atobForgiving(string) -> binary string per the HTML standard's forgiving-base64 decode,
 * or undefined when it fails (the JS side throws InvalidCharacterError). */
static JSValueRef native_atob(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                              const JSValueRef argv[], JSValueRef *exception)
{
    JSStringRef s = JSValueToStringCopy(js, argc ? argv[0] : JSValueMakeUndefined(js), exception);
    if (!s)
        return JSValueMakeUndefined(js);
    const JSChar *in = JSStringGetCharactersPtr(s);
    size_t n = JSStringGetLength(s), kept = 0;
    JSChar *clean = malloc(n * sizeof(JSChar) + 1);
    for (size_t i = 0; clean && i < n; i++)
        if (!(in[i] == ' ' || in[i] == '\t' || in[i] == '\n' || in[i] == '\f' || in[i] == '\r'))
            clean[kept++] = in[i];
    JSStringRelease(s);
    if (clean && kept % 4 == 0 && kept && clean[kept - 1] == '=')
        kept -= kept >= 2 && clean[kept - 2] == '=' ? 2 : 1;
    bool is_valid = clean && kept % 4 != 1;
    JSChar *out = is_valid ? malloc((kept * 3 / 4 + 1) * sizeof(JSChar)) : NULL;
    size_t at = 0;
    uint32_t buffer = 0;
    int bits = 0;
    for (size_t i = 0; out && i < kept; i++) {
        int v = base64_value(clean[i]);
        if (v < 0) {
            is_valid = false;
            break;
        }
        buffer = buffer << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[at++] = (JSChar)((buffer >> bits) & 0xFF);
        }
    }
    JSValueRef result = JSValueMakeUndefined(js);
    if (is_valid && out) {
        JSStringRef decoded = JSStringCreateWithCharacters(out, at);
        result = JSValueMakeString(js, decoded);
        JSStringRelease(decoded);
    }
    free(clean);
    free(out);
    return result;
}

static JSObjectRef make_natives(JSContextRef js)
{
    static const struct { const char *name; JSObjectCallAsFunctionCallback fn; } natives[] = {
        {"utf8Encode", native_utf8_encode}, {"utf8DecodeValid", native_utf8_decode_valid},
        {"btoaLatin1", native_btoa}, {"atobForgiving", native_atob}};
    JSObjectRef object = JSObjectMake(js, NULL, NULL);
    for (size_t i = 0; i < sizeof(natives) / sizeof(natives[0]); i++) {
        JSStringRef name = JSStringCreateWithUTF8CString(natives[i].name);
        JSObjectSetProperty(js, object, name, JSObjectMakeFunctionWithCallback(js, name, natives[i].fn),
                            kJSPropertyAttributeReadOnly | kJSPropertyAttributeDontDelete, NULL);
        JSStringRelease(name);
    }
    return object;
}

/* load(group): runs the group's source once per context and returns its exports. */
static JSValueRef load_group(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                             const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    double index = argc ? JSValueToNumber(js, argv[0], NULL) : -1;
    if (!ec || !(index >= 0 && index < API_GROUP_COUNT) || !api_groups[(int)index].source)
        return JSValueMakeUndefined(js);
    int g = (int)index;
    if (ec->api_exports[g])
        return ec->api_exports[g];
    char url[64];
    snprintf(url, sizeof(url), "jspool:%s.js", api_groups[g].name);
    JSStringRef source = JSStringCreateWithUTF8CString(api_groups[g].source);
    JSStringRef source_url = JSStringCreateWithUTF8CString(url);
    JSValueRef factory = JSEvaluateScript(js, source, NULL, source_url, 1, exception);
    JSStringRelease(source);
    JSStringRelease(source_url);
    if (!factory || *exception || !JSValueIsObject(js, factory))
        return JSValueMakeUndefined(js);
    JSValueRef args[2] = {JSContextGetGlobalObject(js), make_natives(js)};
    JSValueRef exports = JSObjectCallAsFunction(js, (JSObjectRef)factory, NULL, 2, args, exception);
    if (!exports || *exception || !JSValueIsObject(js, exports))
        return JSValueMakeUndefined(js);
    JSValueProtect(js, exports);
    ec->api_exports[g] = (JSObjectRef)exports;
    return exports;
}

int engine_apis_install(engine_ctx *ec, uint32_t apis)
{
    char groups[512] = "[";
    size_t n = 1;
    for (int g = 0; g < API_GROUP_COUNT; g++) {
        if (!(apis & 1u << g) || !api_groups[g].source)
            continue;
        n += (size_t)snprintf(groups + n, sizeof(groups) - n, "%s[%d,[", n > 1 ? "," : "", g);
        for (const char *const *name = api_groups[g].globals; *name && n < sizeof(groups); name++)
            n += (size_t)snprintf(groups + n, sizeof(groups) - n, "%s\"%s\"",
                                  name == api_groups[g].globals ? "" : ",", *name);
        n += (size_t)snprintf(groups + n, sizeof(groups) - n, "]]");
    }
    if (n == 1)
        return 0; /* no JS group asked for */
    if (n + 2 >= sizeof(groups))
        return -1;
    strcat(groups, "]");
    JSContextRef js = ec->js;
    JSStringRef source = JSStringCreateWithUTF8CString(installer_source);
    JSStringRef source_url = JSStringCreateWithUTF8CString("jspool:apis-installer.js");
    JSValueRef exception = NULL;
    JSValueRef installer = JSEvaluateScript(js, source, NULL, source_url, 1, &exception);
    JSStringRelease(source);
    JSStringRelease(source_url);
    JSStringRef load_name = JSStringCreateWithUTF8CString("load");
    JSStringRef groups_json = JSStringCreateWithUTF8CString(groups);
    JSValueRef args[2] = {JSObjectMakeFunctionWithCallback(js, load_name, load_group),
                          JSValueMakeFromJSONString(js, groups_json)};
    JSStringRelease(load_name);
    JSStringRelease(groups_json);
    if (exception || !installer || !JSValueIsObject(js, installer) || !args[1])
        return -1;
    JSObjectCallAsFunction(js, (JSObjectRef)installer, NULL, 2, args, &exception);
    return exception ? -1 : 0;
}

void engine_apis_free(engine_ctx *ec)
{
    for (int g = 0; g < API_GROUP_COUNT; g++)
        if (ec->api_exports[g])
            JSValueUnprotect(ec->js, ec->api_exports[g]);
}
