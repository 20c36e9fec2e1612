/* fuzz_dom — what a guest or a host hands the dom group: markup for gumbo (innerHTML and
 * DOMParser, natives_dom.c → dom.js's builder and serializer) and CSS selectors
 * (querySelectorAll in the guest, jsp_dom_find_all from the host). The first input byte
 * picks the path; the rest is the text.
 * Oracle: markup that is valid UTF-8 always parses (no exception), its serialization
 * parses again (the call's CPU limit may stop gumbo on deep nesting: JSP_ECPU_LIMIT); a selector is either run (JSON
 * array) or refused with a SyntaxError DOMException — never another error, never a
 * crash; input that is not UTF-8 is refused with JSP_EUTF8 and nothing else. */
#include "jspool.h"

#include "fuzz_support.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static jsp_context *ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ctx)
        ctx = fuzz_js_context("dom", "document.body.innerHTML = '<div id=a class=\"x y\"><p>1</p><p lang=en>2<b>3</b></p>"
                              "<ul><li>a<li>b</ul><svg><g/></svg></div>';\n"
                              "function reparse(html) { const d = document.createElement('div'); d.innerHTML = html;"
                              " const once = d.innerHTML; d.innerHTML = once; return typeof d.innerHTML; }\n"
                              "function select(s) { try { return document.querySelectorAll(s).length >= 0; }"
                              " catch (e) { return e instanceof DOMException && e.name === 'SyntaxError'; } }\n0");
    if (size < 1)
        return 0;
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    size_t len = strlen(text); /* up to the first NUL: the C API takes C strings here */
    jsp_result *r = NULL;
    if (data[0] & 1) { /* the host's selector */
        int rc = jsp_dom_find_all(ctx, text, 0, &r);
        CHECK(rc == 0 || rc == JSP_EUTF8 || (rc == JSP_EJS && strcmp(r->error_name, "SyntaxError") == 0));
        jsp_result_free(r);
    } else { /* the guest's markup or selector, as a JSON string argument */
        size_t at = 0;
        char *args = malloc(len * 6 + 5);
        args[at++] = '[';
        at += json_quote_into(text, len, args + at);
        args[at++] = ']';
        int rc = jsp_call(ctx, data[0] & 2 ? "select" : "reparse", args, (long)at, &r);
        CHECK(rc == JSP_EUTF8 || rc == JSP_ECPU_LIMIT /* gumbo on deep nesting, stopped */ ||
              (rc == 0 && strcmp(r->json, data[0] & 2 ? "true" : "\"string\"") == 0));
        jsp_result_free(r);
        free(args);
    }
    free(text);
    return 0;
}
