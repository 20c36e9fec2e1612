/* fuzz_ws_call_frame — the WebSocket call-frame scanner (server/ws_call_frame.c) on arbitrary
 * bytes. Oracles: every span it returns lies inside the input; an accepted call has a plain
 * name and an array (or no) args; an id it keeps is itself JSON (a non-negative integer up to
 * 2^53-1 or a string); and when jansson reads the whole text as an object without escapes
 * whose keys are id, call and args with valid values, the scanner accepts it as that very
 * call (same id value, name and args). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include "server/ws_call_frame.h"

#include <jansson.h>
#include <jspool.h>
#include <stdint.h>

#include "fuzz_support.h"

static bool inside(const char *text, size_t len, const char *span, size_t span_len)
{
    return span >= text && span + span_len <= text + len;
}

/* Whether jansson's reading of the object says it is a well-formed call. */
static bool is_good_call(json_t *o)
{
    if (!json_is_object(o) || json_object_size(o) > 3)
        return false;
    json_t *id = json_object_get(o, "id"), *call = json_object_get(o, "call"), *args = json_object_get(o, "args");
    if (!id || !call || json_object_size(o) != 2 + (args != NULL))
        return false;
    bool is_id = (json_is_integer(id) && json_integer_value(id) >= 0 &&
                  json_integer_value(id) <= (json_int_t)((UINT64_C(1) << 53) - 1)) ||
                 (json_is_string(id) && json_string_length(id) <= WS_CALL_MAX_ID_BYTES);
    return is_id && json_is_string(call) && json_string_length(call) >= 1 &&
           json_string_length(call) <= WS_CALL_MAX_FUNCTION_BYTES && (!args || json_is_array(args));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    ws_call_frame f;
    bool is_call = ws_call_frame_parse(text, size, &f);
    if (is_call) {
        CHECK(f.error == 0 || f.message);
        if (f.id) {
            CHECK(inside(text, size, f.id, f.id_len));
            json_t *id = json_loadb(f.id, f.id_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
            CHECK(json_is_string(id) || (json_is_integer(id) && json_integer_value(id) >= 0));
            json_decref(id);
        }
        if (f.error == 0) {
            CHECK(f.id && f.function && f.function_len >= 1 && f.function_len <= WS_CALL_MAX_FUNCTION_BYTES);
            CHECK(inside(text, size, f.function, f.function_len) && !memchr(f.function, '\\', f.function_len));
            CHECK(!f.args || (inside(text, size, f.args, f.args_len) && f.args[0] == '['));
        }
    }
    /* Texts without escapes (so raw keys and strings are what jansson decodes) and without
     * "-0" (jansson reads it as the integer 0, the scanner refuses a sign). */
    if (memchr(text, '\\', size) || memmem(text, size, "-0", 2) || memchr(text, '\0', size))
        return 0;
    json_t *o = json_loadb(text, size, JSON_REJECT_DUPLICATES, NULL);
    if (is_good_call(o)) {
        CHECK(is_call && f.error == 0);
        json_t *id = json_loadb(f.id, f.id_len, JSON_DECODE_ANY, NULL);
        CHECK(json_equal(id, json_object_get(o, "id")));
        json_decref(id);
        const char *name = json_string_value(json_object_get(o, "call"));
        CHECK(strlen(name) == f.function_len && memcmp(name, f.function, f.function_len) == 0);
        json_t *args = f.args ? json_loadb(f.args, f.args_len, 0, NULL) : NULL;
        CHECK(!f.args == !json_object_get(o, "args") && (!f.args || json_equal(args, json_object_get(o, "args"))));
        json_decref(args);
    }
    json_decref(o);
    return 0;
}
