/* fuzz_url — what a guest hands the url group: new URL(input, base) with both strings
 * from the fuzzer (the input up to the first newline is the URL; what follows, if
 * anything, the base), then URLSearchParams over the same bytes.
 * Oracle: the URL Standard strips a leading tab, and the url group's fast path
 * (url.js fastParse) never takes an input starting with one, so new URL('\t' + input, base)
 * goes through the basic parser: both must agree on every component (or both throw a
 * TypeError); nothing else is ever thrown; URLSearchParams serializes to a string that
 * parses back to the same list; input that is not UTF-8 is refused with JSP_EUTF8 and
 * nothing else. */
#include "jspool.h"

#include "fuzz_support.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static jsp_context *ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ctx)
        ctx = fuzz_js_context("url", "const keys = ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname',"
                              " 'port', 'pathname', 'search', 'hash'];\n"
                              "function view(s, base) { try { const u = new URL(s, base);"
                              " return JSON.stringify([keys.map((k) => u[k]), u.searchParams.toString()]); }"
                              " catch (e) { if (e instanceof TypeError) return 'TypeError'; throw e; } }\n"
                              "function same(s, base) { base = base === null ? undefined : base;"
                              " if (view(s, base) !== view('\\t' + s, base)) return 'fast and basic parsers differ';"
                              " const p = new URLSearchParams(s), q = new URLSearchParams(p.toString());"
                              " return JSON.stringify([...p]) === JSON.stringify([...q]) || 'form round trip differs'; }\n0");
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    size_t len = strlen(text); /* up to the first NUL: the C API takes C strings here */
    const char *newline = memchr(text, '\n', len);
    size_t url_len = newline ? (size_t)(newline - text) : len;
    char *args = malloc(len * 6 + 16);
    size_t at = 0;
    args[at++] = '[';
    at += json_quote_into(text, url_len, args + at);
    args[at++] = ',';
    if (newline) {
        at += json_quote_into(newline + 1, len - url_len - 1, args + at);
    } else {
        memcpy(args + at, "null", 4);
        at += 4;
    }
    args[at++] = ']';
    jsp_result *r = NULL;
    int rc = jsp_call(ctx, "same", args, (long)at, &r);
    if (rc == 0 && strcmp(r->json, "true") != 0)
        fprintf(stderr, "fuzz_url: %s for %s\n", r->json, args);
    CHECK(rc == JSP_EUTF8 || (rc == 0 && strcmp(r->json, "true") == 0));
    jsp_result_free(r);
    free(args);
    free(text);
    return 0;
}
