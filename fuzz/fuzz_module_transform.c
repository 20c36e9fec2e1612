/* fuzz_module_transform — module_transform on arbitrary bytes.
 * Oracles: the output is deterministic and well formed (prefix, a body span, a tail that is
 * only the exports object — or, for a module with imports, only the hoisted function
 * returning it with its `export *` indices), keeps every line terminator of the source (line numbers are
 * promised), lists unique export names, and reports errors with a position; and, for
 * UTF-8 input (all the engine ever gets), the property the engine's safety rests on: when
 * the body parses on its own as a script, the whole wrapper parses and evaluating it yields
 * a function without running any module code (no global appears). */
#include "engine/module_transform.h"
#include "util/utf8.h"

#include <JavaScriptCore/JavaScript.h>
#include "fuzz_support.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "(function(){\"use strict\";"
/* Modules with import forms (m.linked): the linker's record comes in as __jsp_r. */
#define LINKED_OPEN "(function(__jsp_r){"
#define LINKED_PREFIX LINKED_OPEN "\"use strict\";__jsp_r.x(__jsp_x);"

static JSGlobalContextRef js;

/* Line terminators as the transform counts them: LF, CR, U+2028, U+2029. */
static void count_terminators(const char *s, size_t len, size_t counts[3])
{
    counts[0] = counts[1] = counts[2] = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n')
            counts[0]++;
        else if (s[i] == '\r')
            counts[1]++;
        else if (i + 2 < len && (unsigned char)s[i] == 0xE2 && (unsigned char)s[i + 1] == 0x80 &&
                 ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9))
            counts[2]++;
    }
}

static size_t global_property_count(void)
{
    JSPropertyNameArrayRef names = JSObjectCopyPropertyNames(js, JSContextGetGlobalObject(js));
    size_t n = JSPropertyNameArrayGetCount(names);
    JSPropertyNameArrayRelease(names);
    return n;
}

static bool parses(const char *text, size_t len)
{
    char *copy = malloc(len + 1);
    CHECK(copy);
    memcpy(copy, text, len);
    copy[len] = '\0';
    JSStringRef s = JSStringCreateWithUTF8CString(copy);
    free(copy);
    bool ok = JSCheckScriptSyntax(js, s, NULL, 1, NULL);
    JSStringRelease(s);
    return ok;
}

static void check_with_engine(const module_script *m, bool names_reserved)
{
    if (!js)
        js = JSGlobalContextCreate(NULL);
    /* The tests give the source as C strings; a NUL would end it early. */
    if (memchr(m->script, '\0', m->script_len))
        return;
    if (!parses(m->script + m->body_start, m->body_end - m->body_start))
        return;
    /* A body declaring one of the wrapper's reserved names (__jsp_r, __jsp_x,
     * __jsp_default) makes the wrapper a redeclaration error: refused, not an escape. */
    if (names_reserved && !parses(m->script, m->script_len))
        return;
    CHECK(parses(m->script, m->script_len)); /* a valid body never breaks the wrapper */
    size_t before = global_property_count();
    JSStringRef s = JSStringCreateWithUTF8CString(m->script);
    JSValueRef exception = NULL;
    JSValueRef v = JSEvaluateScript(js, s, NULL, NULL, 1, &exception);
    JSStringRelease(s);
    CHECK(!exception);
    CHECK(JSValueIsObject(js, v) && JSObjectIsFunction(js, (JSObjectRef)v));
    CHECK(global_property_count() == before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so that ASan sees any read past the end. */
    char *src = malloc(size ? size : 1);
    CHECK(src);
    memcpy(src, data, size);
    module_script m, again;
    int rc = module_transform(src, size, &m);
    int rc_again = module_transform(src, size, &again);
    CHECK(rc == rc_again);
    CHECK(rc != MODULE_TRANSFORM_NOMEM);
    if (rc == MODULE_TRANSFORM_OK) {
        CHECK(m.script && m.script[m.script_len] == '\0');
        CHECK(memchr(src, '\0', size) || strlen(m.script) == m.script_len);
        CHECK(m.script_len == again.script_len && memcmp(m.script, again.script, m.script_len) == 0);
        const char *prefix = m.linked ? LINKED_PREFIX : PREFIX;
        CHECK(m.line1_prefix_len == strlen(prefix));
        CHECK(strncmp(m.script, prefix, m.line1_prefix_len) == 0);
        CHECK(m.body_start == strlen(m.linked ? LINKED_OPEN : "(function(){"));
        CHECK(m.body_end >= m.line1_prefix_len && m.body_end <= m.script_len);
        CHECK(m.linked || m.import_count == 0);
        /* The tail: "\n;return {" getters "};})" (linked: "\n;function __jsp_x(){return
         * [{" getters "}, [" indices "]];}})") and nothing else after the body. */
        const char *tail = m.script + m.body_end;
        size_t tail_len = m.script_len - m.body_end;
        const char *head = m.linked ? "\n;function __jsp_x(){return [{" : "\n;return {";
        const char *end = m.linked ? "]];}})" : "};})";
        CHECK(strncmp(tail, head, strlen(head)) == 0);
        CHECK(tail_len >= strlen(head) + strlen(end) &&
              strcmp(tail + tail_len - strlen(end), end) == 0);
        CHECK(memchr(tail + 1, '\n', tail_len - 1) == NULL);
        for (size_t i = 0; i < tail_len; i++) /* only quotes in names are escaped */
            CHECK(tail[i] != '\\' || tail[i + 1] == '"');
        size_t in[3], out[3];
        count_terminators(src, size, in);
        count_terminators(m.script + m.line1_prefix_len, m.body_end - m.line1_prefix_len, out);
        CHECK(in[0] == out[0] && in[1] == out[1] && in[2] == out[2]);
        for (size_t i = 0; i < m.export_count; i++) {
            CHECK(m.export_names[i]);
            for (size_t j = 0; j < i; j++)
                CHECK(strcmp(m.export_names[i], m.export_names[j]) != 0);
        }
        if (m.hint[0])
            CHECK(m.hint_line >= 1 && m.hint_column >= 1);
        if (utf8_is_valid(src, size))
            check_with_engine(&m, memmem(src, size, "__jsp_", 6) != NULL);
    } else {
        CHECK(rc == MODULE_TRANSFORM_UNSUPPORTED || rc == MODULE_TRANSFORM_SYNTAX);
        CHECK(!m.script && m.export_count == 0);
        CHECK(m.error_message[0] && m.error_line >= 1 && m.error_column >= 1);
    }
    module_script_free(&m);
    module_script_free(&again);
    free(src);
    return 0;
}
