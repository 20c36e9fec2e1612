/* web-platform-tests conformance: for each area whose WPT data a Debian package ships, runs
 * our driver (tests/wpt/<area>.js, on tests/wpt/harness.js) over that data in a fresh
 * context, prints `wpt <area>: passed/applicable`, logs every failure to
 * build/tests/wpt-<area>.log and fails unless every applicable subtest passes. Subtests that
 * do not apply are listed below with the reason. Missing data fails with the fix. */
#include <glob.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/support.h"

typedef struct wpt_area {
    const char *name;      /* also the driver's file name: tests/wpt/<name>.js */
    const char *apis;      /* the groups the context gets (timers: the harness's timeout) */
    const char *data_glob; /* where the Debian package puts the data */
    const char *package;   /* that package (installed by scripts/deps.sh) */
    size_t min_subtests;   /* fewer means the data file is not the one we know */
} wpt_area;

/* Subtests that do not apply or that we knowingly fail, by area and name prefix, each with
 * its reason. A listed
 * subtest that passes fails the suite, so the list cannot go stale. */
typedef struct wpt_exclusion {
    const char *area;
    const char *prefix;
    const char *reason;
} wpt_exclusion;

#define NOT_IMPLEMENTED "the encoding group decodes utf-8, utf-16le and windows-1252 only"
static const wpt_exclusion exclusions[] = {
    {"encoding-labels", "ibm866: ", NOT_IMPLEMENTED},
    {"encoding-labels", "iso-8859-", NOT_IMPLEMENTED},
    {"encoding-labels", "koi8-", NOT_IMPLEMENTED},
    {"encoding-labels", "macintosh: ", NOT_IMPLEMENTED},
    {"encoding-labels", "windows-874: ", NOT_IMPLEMENTED},
    {"encoding-labels", "windows-1250: ", NOT_IMPLEMENTED},
    {"encoding-labels", "windows-1251: ", NOT_IMPLEMENTED},
    {"encoding-labels", "windows-1253: ", NOT_IMPLEMENTED},
    {"encoding-labels", "windows-1254: ", NOT_IMPLEMENTED},
    {"encoding-labels", "windows-1255: ", NOT_IMPLEMENTED},
    {"encoding-labels", "windows-1256: ", NOT_IMPLEMENTED},
    {"encoding-labels", "windows-1257: ", NOT_IMPLEMENTED},
    {"encoding-labels", "windows-1258: ", NOT_IMPLEMENTED},
    {"encoding-labels", "x-mac-cyrillic: ", NOT_IMPLEMENTED},
    {"encoding-labels", "gbk: ", NOT_IMPLEMENTED},
    {"encoding-labels", "gb18030: ", NOT_IMPLEMENTED},
    {"encoding-labels", "big5: ", NOT_IMPLEMENTED},
    {"encoding-labels", "euc-jp: ", NOT_IMPLEMENTED},
    {"encoding-labels", "iso-2022-jp: ", NOT_IMPLEMENTED},
    {"encoding-labels", "shift_jis: ", NOT_IMPLEMENTED},
    {"encoding-labels", "euc-kr: ", NOT_IMPLEMENTED},
    {"encoding-labels", "utf-16be: ", NOT_IMPLEMENTED},
    {"encoding-labels", "x-user-defined: ", NOT_IMPLEMENTED},
};

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    size_t got = fread(text, 1, (size_t)size, f);
    fclose(f);
    text[got] = '\0';
    if (len)
        *len = got;
    return text;
}

static const char *exclusion_for(const char *area, const char *subtest)
{
    for (size_t i = 0; i < sizeof(exclusions) / sizeof(exclusions[0]); i++) {
        if (strcmp(exclusions[i].area, area) == 0 &&
            strncmp(subtest, exclusions[i].prefix, strlen(exclusions[i].prefix)) == 0)
            return exclusions[i].reason;
    }
    return NULL;
}

/* The data file's path (the first match of the glob), or NULL. Caller frees. */
static char *find_data(const char *pattern)
{
    glob_t g;
    char *path = NULL;
    if (glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0)
        path = strdup(g.gl_pathv[g.gl_pathc - 1]);
    globfree(&g);
    return path;
}

static void run_area(const wpt_area *area)
{
    char *data_path = find_data(area->data_glob);
    cr_assert(data_path, "wpt %s: its data (%s, from the Debian package %s) is not installed; "
                         "run scripts/deps.sh as root",
              area->name, area->data_glob, area->package);

    char driver_path[1024];
    snprintf(driver_path, sizeof(driver_path), "%s/%s.js", WPT_DIR, area->name);
    size_t harness_len = 0, data_len = 0;
    char *harness = slurp(WPT_DIR "/harness.js", &harness_len);
    char *driver = slurp(driver_path, NULL);
    char *data = slurp(data_path, &data_len);
    cr_assert(harness && driver && data, "wpt %s: cannot read %s, %s or %s", area->name,
              WPT_DIR "/harness.js", driver_path, data_path);

    /* harness, then the data as WPT_DATA, then the driver: a string for an indirect eval,
     * so that it runs as a script of its own (its 'use strict' and its syntax errors) */
    json_t *driver_str = json_string(driver);
    char *driver_json = json_dumps(driver_str, JSON_ENCODE_ANY);
    size_t cap = harness_len + data_len + strlen(driver_json) + 256;
    char *source = malloc(cap);
    snprintf(source, cap, "%s\nglobalThis.WPT_DATA = %s;\n(0, eval)(%s);\n__wpt_finish();", harness,
             data, driver_json);

    jsp_pool *pool = pool_for_test(1, NULL, NULL);
    jsp_context_config cfg = {.apis = area->apis, .cpu_limit_ms = 60000, .wall_limit_ms = 120000};
    jsp_context *ctx = NULL;
    cr_assert_eq(jsp_context_new(pool, &cfg, &ctx), 0);
    char *results_json = eval_ok(ctx, source);

    json_error_t error;
    json_t *results = json_loads(results_json, 0, &error);
    cr_assert(json_is_array(results), "wpt %s: results are not an array: %s", area->name, error.text);

    char log_path[1024];
    snprintf(log_path, sizeof(log_path), "%s/wpt-%s.log", WPT_LOG_DIR, area->name);
    FILE *log = fopen(log_path, "w");
    cr_assert(log, "cannot write %s", log_path);
    fprintf(log, "# wpt %s: data %s\n", area->name, data_path);

    size_t total = json_array_size(results), passed = 0, failed = 0, excluded = 0, stale = 0;
    for (size_t i = 0; i < total; i++) {
        json_t *r = json_array_get(results, i);
        const char *name = json_string_value(json_object_get(r, "name"));
        const char *status = json_string_value(json_object_get(r, "status"));
        const char *message = json_string_value(json_object_get(r, "message"));
        bool pass = status && strcmp(status, "PASS") == 0;
        const char *reason = exclusion_for(area->name, name);
        if (reason) {
            excluded++;
            if (pass) {
                stale++;
                fprintf(log, "EXCLUDED BUT PASSES %s (listed as: %s)\n", name, reason);
            } else {
                fprintf(log, "EXCLUDED %s: %s\n", name, reason);
            }
        } else if (pass) {
            passed++;
        } else {
            failed++;
            fprintf(log, "%s %s: %s\n", status, name, message);
        }
    }
    fclose(log);
    size_t applicable = total - excluded;
    printf("wpt %s: %zu/%zu passed, %zu excluded with reasons (%zu subtests; log %s)\n", area->name,
           passed, applicable, excluded, total, log_path);
    fflush(stdout);

    cr_expect_geq(total, area->min_subtests, "wpt %s: only %zu subtests from %s", area->name, total,
                  data_path);
    cr_expect_eq(failed, 0, "wpt %s: %zu of %zu applicable subtests failed; see %s", area->name, failed,
                 applicable, log_path);
    cr_expect_eq(stale, 0, "wpt %s: %zu excluded subtests pass; remove their exclusions (see %s)",
                 area->name, stale, log_path);

    json_decref(results);
    json_decref(driver_str);
    free(driver_json);
    free(results_json);
    jsp_context_free(ctx);
    jsp_pool_free(pool);
    free(source);
    free(data);
    free(driver);
    free(harness);
    free(data_path);
}

TestSuite(wpt, .timeout = 300);

/* TextDecoder labels over the Encoding standard's encodings.json (the table WPT's
 * encoding/resources/encodings.js holds), as shipped by gjs-tests. */
Test(wpt, encoding_labels_name_their_encodings)
{
    static const wpt_area area = {"encoding-labels", "encoding,timers",
                                  "/usr/libexec/installed-tests/gjs/js/modules/encodings.json",
                                  "gjs-tests", 400};
    run_area(&area);
}

/* atob over WPT's fetch/data-urls/resources/base64.json, as shipped by librust-data-url-dev. */
Test(wpt, atob_decodes_the_forgiving_base64_table)
{
    static const wpt_area area = {"atob", "encoding,timers",
                                  "/usr/share/cargo/registry/data-url-*/tests/base64.json",
                                  "librust-data-url-dev", 70};
    run_area(&area);
}

/* The harness itself: a wrong value, a missing or wrong exception, a rejected or
 * never-finished async test each count as failures, so a pass count means something. */
Test(wpt, harness_reports_each_kind_of_failure)
{
    char *harness = slurp(WPT_DIR "/harness.js", NULL);
    cr_assert(harness);
    static const char *const cases =
        "test(() => assert_equals(1, 1), 'equal');"
        "test(() => assert_equals(0, -0), 'zero signs differ');"
        "test(() => assert_equals('1', 1), 'types differ');"
        "test(() => assert_array_equals([1, NaN], [1, NaN]), 'nan equals nan');"
        "test(() => assert_throws_js(TypeError, () => {}), 'nothing thrown');"
        "test(() => assert_throws_js(TypeError, () => { throw new RangeError('x'); }), 'wrong error');"
        "test(() => assert_throws_dom('SyntaxError', () => { throw new SyntaxError('x'); }), 'js error for dom');"
        "test(() => assert_throws_dom('AbortError', () => { throw new DOMException('x', 'AbortError'); }), 'dom error');"
        "promise_test(() => Promise.reject(new Error('no')), 'rejected');"
        "promise_test(async (t) => { await promise_rejects_js(t, TypeError, Promise.reject(new TypeError())); }, 'rejects');"
        "async_test((t) => setTimeout(t.step_func_done(() => assert_true(true)), 1), 'async done');"
        "async_test(() => {}, 'never done');"
        "async_test((t) => setTimeout(t.step_func(() => assert_false(true)), 1), 'async fails');"
        "__wpt_finish(200).then((rs) => rs.map((r) => r.name + '=' + r.status).sort().join(','));";
    size_t cap = strlen(harness) + strlen(cases) + 2;
    char *source = malloc(cap);
    snprintf(source, cap, "%s\n%s", harness, cases);
    jsp_pool *pool = pool_for_test(1, NULL, NULL);
    jsp_context_config cfg = {.apis = "events,timers"};
    jsp_context *ctx = NULL;
    cr_assert_eq(jsp_context_new(pool, &cfg, &ctx), 0);
    char *got = eval_ok(ctx, source);
    cr_expect_str_eq(got, "\"async done=PASS,async fails=FAIL,dom error=PASS,equal=PASS,js error for dom=FAIL,"
                          "nan equals nan=PASS,never done=TIMEOUT,nothing thrown=FAIL,rejected=FAIL,"
                          "rejects=PASS,types differ=FAIL,wrong error=FAIL,zero signs differ=FAIL\"");
    free(got);
    jsp_context_free(ctx);
    jsp_pool_free(pool);
    free(source);
    free(harness);
}
