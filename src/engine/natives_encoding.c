/* natives_encoding.c — the encoding group's C fast paths (see encoding.js): UTF-8 encode,
 * decode of valid UTF-8, and base64 both ways. Invalid input is left to the JS side, which
 * applies the standards' replacement and error rules. */
#include "engine/engine_internal.h"
#include "util/utf8.h"

#include <stdlib.h>

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

void natives_encoding_add(JSContextRef js, JSObjectRef natives)
{
    natives_define(js, natives, "utf8Encode", native_utf8_encode);
    natives_define(js, natives, "utf8DecodeValid", native_utf8_decode_valid);
    natives_define(js, natives, "btoaLatin1", native_btoa);
    natives_define(js, natives, "atobForgiving", native_atob);
}
