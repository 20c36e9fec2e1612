/* fuzz_support.h — what the fuzz targets share: an oracle check that aborts (libFuzzer then
 * keeps the input), and what it takes to compare a JSON verdict with jansson's. Header
 * only: each target is one translation unit. */
#ifndef JSP_FUZZ_SUPPORT_H
#define JSP_FUZZ_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                         \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: oracle failed: %s\n", __FILE__, __LINE__, #cond);      \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

/* Deepest bracket nesting outside strings: enough to excuse jspool's 512 cap, which is
 * deliberately below jansson's 2048. */
static inline size_t json_text_depth(const char *s, size_t len)
{
    size_t depth = 0, deepest = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        if (in_string) {
            if (s[i] == '\\')
                i++;
            else if (s[i] == '"')
                in_string = false;
        } else if (s[i] == '"') {
            in_string = true;
        } else if (s[i] == '[' || s[i] == '{') {
            if (++depth > deepest)
                deepest = depth;
        } else if ((s[i] == ']' || s[i] == '}') && depth) {
            depth--;
        }
    }
    return deepest;
}

/* jansson refusals of text that RFC 8259's grammar allows: lone surrogate escapes,
 * numbers out of its range, \u0000 (in keys always), nesting past 2048. */
static inline bool jansson_is_stricter(const char *why)
{
    return strstr(why, "invalid Unicode") || strstr(why, "too big") || strstr(why, "overflow") ||
           strstr(why, "NUL") || strstr(why, "depth");
}

/* A one-thread pool with a quiet log and one context with these API groups and a 5 s CPU
 * limit, after evaluating setup (which must succeed): the set-up of the targets that run
 * guest JS. Needs jspool.h included before this header. */
#ifdef JSPOOL_H
static inline void fuzz_quiet_log(int level, uint64_t context_id, const char *message, void *user)
{
}

static inline jsp_context *fuzz_js_context(const char *apis, const char *setup)
{
    jsp_pool *pool = NULL;
    jsp_context *ctx = NULL;
    jsp_pool_config cfg = {.threads = 1, .log = fuzz_quiet_log};
    CHECK(jsp_pool_new(&cfg, &pool) == 0);
    jsp_context_config c = {.apis = apis, .cpu_limit_ms = 5000};
    CHECK(jsp_context_new(pool, &c, &ctx) == 0);
    jsp_result *r = NULL;
    CHECK(jsp_eval(ctx, setup, -1, &r) == 0);
    jsp_result_free(r);
    return ctx; /* the pool lives as long as the process */
}
#endif

/* Writes text[0, len) as a JSON string literal, quotes included, into out (room for
 * len * 6 + 2 bytes); returns the length written. Control characters become \u00XX. */
static inline size_t json_quote_into(const char *text, size_t len, char *out)
{
    size_t at = 0;
    out[at++] = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '"' || c == '\\') {
            out[at++] = '\\';
            out[at++] = (char)c;
        } else if (c < 0x20) {
            at += (size_t)snprintf(out + at, 7, "\\u%04x", c);
        } else {
            out[at++] = (char)c;
        }
    }
    out[at++] = '"';
    return at;
}

#endif
