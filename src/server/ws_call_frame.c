/* ws_call_frame.c — see ws_call_frame.h. One pass over the top level of the object; nested
 * values are skipped by counting brackets outside strings (no recursion, no allocation),
 * which is enough because the only nested value used, "args", is checked in full by the
 * library before the call runs. */
#include "server/ws_call_frame.h"

#include <jspool.h>
#include <stdint.h>
#include <string.h>

static const char ID_PROBLEM[] = "\"id\" must be an integer from 0 to 2^53-1 or a string of at most 128 bytes";

static size_t skip_ws(const char *s, size_t at, size_t len)
{
    while (at < len && (s[at] == ' ' || s[at] == '\t' || s[at] == '\n' || s[at] == '\r'))
        at++;
    return at;
}

/* s[at] is the opening quote; returns the index after the closing one, or 0. */
static size_t skip_string(const char *s, size_t at, size_t len)
{
    for (at++; at < len; at++) {
        unsigned char c = (unsigned char)s[at];
        if (c == '"')
            return at + 1;
        if (c < 0x20)
            return 0;
        if (c == '\\')
            at++;
    }
    return 0;
}

/* Returns the index after the value starting at s[at], or 0. */
static size_t skip_value(const char *s, size_t at, size_t len)
{
    if (at >= len)
        return 0;
    if (s[at] == '"')
        return skip_string(s, at, len);
    if (s[at] == '[' || s[at] == '{') {
        size_t depth = 0;
        while (at < len) {
            char c = s[at];
            if (c == '"') {
                if (!(at = skip_string(s, at, len)))
                    return 0;
                continue;
            }
            if (c == '[' || c == '{')
                depth++;
            else if ((c == ']' || c == '}') && --depth == 0)
                return at + 1;
            at++;
        }
        return 0;
    }
    size_t start = at; /* a number or a literal: up to the next delimiter */
    while (at < len && !strchr(",]} \t\r\n", s[at]) && s[at] != '\0')
        at++;
    return at > start ? at : 0;
}

/* RFC 3629 UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static bool is_utf8(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        size_t n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2
                 : c >= 0xf0 && c <= 0xf4 ? 3 : 4;
        if (n == 4 || i + n >= len)
            return false;
        for (size_t k = 1; k <= n; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
        if ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] > 0x9f) ||
            (c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] > 0x8f))
            return false;
        i += n + 1;
    }
    return true;
}

/* The 4 hex digits at s[at..] before end, or 0x10000 when they are not. */
static unsigned hex4(const char *s, size_t at, size_t end)
{
    unsigned value = 0;
    for (size_t k = at; k < at + 4; k++) {
        char c = k < end ? s[k] : '\0';
        int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (digit < 0)
            return 0x10000;
        value = value * 16 + (unsigned)digit;
    }
    return value;
}

/* The id as written: a non-negative integer up to 2^53-1 without sign, fraction or
 * exponent, or a string of valid escapes (surrogates in pairs, so that strict parsers read
 * the echo too) and UTF-8 up to WS_CALL_MAX_ID_BYTES. */
static bool is_usable_id(const char *s, size_t len)
{
    if (s[0] == '"') {
        if (len - 2 > WS_CALL_MAX_ID_BYTES)
            return false;
        for (size_t i = 1; i + 1 < len; i++) {
            if (s[i] != '\\')
                continue;
            char e = s[++i];
            if (e == 'u') {
                unsigned unit = hex4(s, i + 1, len - 1);
                if (unit > 0xffff || (unit >= 0xdc00 && unit <= 0xdfff))
                    return false; /* not 4 hex digits, or a low surrogate alone */
                i += 4;
                if (unit >= 0xd800 && unit <= 0xdbff) { /* a high surrogate needs its low half */
                    unsigned low = i + 2 < len - 1 && s[i + 1] == '\\' && s[i + 2] == 'u' ? hex4(s, i + 3, len - 1) : 0;
                    if (low < 0xdc00 || low > 0xdfff)
                        return false;
                    i += 6;
                }
            } else if (!strchr("\"\\/bfnrt", e) || e == '\0') {
                return false;
            }
        }
        return is_utf8((const unsigned char *)s + 1, len - 2);
    }
    if (len > 16 || (len > 1 && s[0] == '0'))
        return false;
    uint64_t value = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        value = value * 10 + (uint64_t)(s[i] - '0');
    }
    return value <= (UINT64_C(1) << 53) - 1;
}

static bool refuse(ws_call_frame *out, int code, const char *message)
{
    if (!out->error) { /* the first problem found is the one reported */
        out->error = code;
        out->message = message;
    }
    return true;
}

bool ws_call_frame_parse(const char *s, size_t len, ws_call_frame *out)
{
    memset(out, 0, sizeof(*out));
    const char *id = NULL, *call = NULL, *args = NULL;
    size_t id_len = 0, call_len = 0, args_len = 0;
    bool is_duplicate = false, has_unknown = false, is_scanned = false;
    size_t at = skip_ws(s, 0, len);
    if (at == len || s[at] != '{')
        return false;
    at = skip_ws(s, at + 1, len);
    if (at < len && s[at] == '}')
        return false; /* {} */
    while (at < len) {
        if (s[at] != '"')
            break;
        size_t key_end = skip_string(s, at, len);
        if (!key_end)
            break;
        const char *key = s + at + 1;
        size_t key_len = key_end - at - 2;
        at = skip_ws(s, key_end, len);
        if (at == len || s[at] != ':')
            break;
        size_t value_at = skip_ws(s, at + 1, len);
        size_t value_end = skip_value(s, value_at, len);
        if (!value_end)
            break;
        const char **slot = NULL;
        size_t *slot_len = NULL;
        if (key_len == 2 && memcmp(key, "id", 2) == 0)
            slot = &id, slot_len = &id_len;
        else if (key_len == 4 && memcmp(key, "call", 4) == 0)
            slot = &call, slot_len = &call_len;
        else if (key_len == 4 && memcmp(key, "args", 4) == 0)
            slot = &args, slot_len = &args_len;
        else
            has_unknown = true;
        if (slot) {
            is_duplicate |= *slot != NULL;
            *slot = s + value_at;
            *slot_len = value_end - value_at;
        }
        at = skip_ws(s, value_end, len);
        if (at < len && s[at] == ',') {
            at = skip_ws(s, at + 1, len);
            continue;
        }
        if (at < len && s[at] == '}')
            is_scanned = skip_ws(s, at + 1, len) == len;
        break;
    }
    if (!id || !call)
        return false; /* a message */
    if (is_usable_id(id, id_len)) {
        out->id = id;
        out->id_len = id_len;
    } else {
        refuse(out, JSP_EINVAL, ID_PROBLEM);
    }
    if (!is_scanned)
        return refuse(out, JSP_EJSON, "the call frame is not valid JSON");
    if (is_duplicate)
        refuse(out, JSP_EINVAL, "a key of the call frame is given twice");
    if (has_unknown)
        refuse(out, JSP_EINVAL, "a call frame has only the keys id, call and args");
    if (call[0] != '"' || call_len < 3 || call_len - 2 > WS_CALL_MAX_FUNCTION_BYTES ||
        memchr(call, '\\', call_len))
        refuse(out, JSP_EINVAL, "\"call\" must be a function name: a string of 1 to 256 bytes without escapes");
    else
        out->function = call + 1, out->function_len = call_len - 2;
    if (args && args[0] != '[')
        refuse(out, JSP_EINVAL, "\"args\" must be an array");
    else
        out->args = args, out->args_len = args_len;
    return true;
}
