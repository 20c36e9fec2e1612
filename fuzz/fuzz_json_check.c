/* fuzz_json_check — json_is_valid against jansson's verdict on the same bytes.
 * They must agree on every UTF-8 input, except where jansson is stricter than RFC 8259's
 * grammar (lone surrogate escapes, integers or reals out of its range, \u0000 in a key)
 * and where ours is (nesting deeper than 512, refused on purpose). jansson stops at a NUL
 * byte, so a raw NUL is judged without it: never valid. */
#include "util/json_check.h"
#include "util/utf8.h"

#include <jansson.h>
#include "fuzz_support.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    bool ours = json_is_valid(text, size);
    /* A raw NUL is never valid JSON (jansson stops reading at one, so it cannot judge). */
    if (memchr(text, '\0', size)) {
        if (ours) {
            fprintf(stderr, "json_is_valid accepts a raw NUL byte\n");
            abort();
        }
    } else if (utf8_is_valid(text, size)) {
        json_error_t error;
        json_t *value = json_loadb(text, size, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &error);
        bool theirs = value != NULL;
        json_decref(value);
        if (ours && !theirs && !jansson_is_stricter(error.text) && json_text_depth(text, size) < 2048) {
            fprintf(stderr, "json_is_valid accepts what jansson refuses: %s\n", error.text);
            abort();
        }
        if (!ours && theirs && json_text_depth(text, size) <= 512) {
            fprintf(stderr, "json_is_valid refuses valid JSON (depth %zu)\n", json_text_depth(text, size));
            abort();
        }
    }
    free(text);
    return 0;
}
