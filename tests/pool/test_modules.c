/* Tests for ES module imports between files: resolution with jsp_module_loader_files
 * (relative paths, node_modules packages with package.json exports/module/main), each
 * module evaluated once per context in dependency order, cycles, re-exports, JSON
 * modules, import(), errors that name the files, confinement to the root, and a VM
 * recycle rebuilding the graph. Fixtures: tests/fixtures/modules/. */
#include "support/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

SUITE_POOL(1)

TestSuite(modules, .init = suite_pool_setup, .fini = suite_pool_teardown);

static jsp_context *context_rooted_at(jsp_pool *p, const char *root)
{
    jsp_context_config cfg = {.module_loader = jsp_module_loader_files,
                              .module_loader_user = (void *)root};
    jsp_context *ctx = NULL;
    cr_assert_eq(jsp_context_new(p, &cfg, &ctx), 0);
    return ctx;
}

static jsp_result *load(jsp_context *ctx, const char *source)
{
    jsp_result *r = NULL;
    jsp_load_module(ctx, source, -1, &r);
    cr_assert_not_null(r);
    return r;
}

static void load_ok(jsp_context *ctx, const char *source)
{
    jsp_result *r = load(ctx, source);
    cr_assert_eq(r->code, 0, "load failed: %s: %s", r->error_name, r->error_message);
    jsp_result_free(r);
}

static void expect_call(jsp_context *ctx, const char *fn, const char *args, const char *json)
{
    char *got = call_ok(ctx, fn, args);
    cr_expect_str_eq(got, json, "%s(%s) gave %s", fn, args ? args : "", got);
    free(got);
}

/* The entry module in the root directory, as `jspool run main.js` loads it. */
static jsp_context *main_context(void)
{
    jsp_context *ctx = context_rooted_at(pool, MODULES_DIR);
    load_ok(ctx, "export * from './main.js';");
    return ctx;
}

Test(modules, relative_named_default_and_namespace_imports_work)
{
    jsp_context *ctx = main_context();
    expect_call(ctx, "sum", "[2, 3]", "5");
    expect_call(ctx, "names", NULL,
                "[\"math\",\"math\",\"function\",\"add,bump,count,math,mathName,plus\"]");
    expect_call(ctx, "json", NULL, "{\"greeting\":\"hello\",\"n\":3}");
    jsp_context_free(ctx);
}

Test(modules, packages_resolve_from_node_modules_as_node_does)
{
    jsp_context *ctx = main_context();
    /* greeter: exports "." with the import condition (not require's CommonJS file), a
     * conditional "./extra" subpath; plainpkg: "module" before "main"; @scope/tool:
     * no package.json, index.js. */
    expect_call(ctx, "packages", NULL, "[\"hello jspool!\",\"extra\",\"plain\",\"scoped\"]");
    jsp_context_free(ctx);
}

Test(modules, each_module_runs_once_per_context_and_namespaces_are_live)
{
    jsp_context *ctx = main_context();
    /* math.js is imported by main.js twice and through lib/index.js: one run. */
    expect_call(ctx, "runs", NULL, "1");
    /* `export let count` changed by bump(): the namespaces see it. */
    expect_call(ctx, "liveNamespace", NULL, "[2,2]");
    /* A named import is a snapshot taken when the import ran (documented), the
     * namespace is live. */
    expect_call(ctx, "snapshot", NULL, "[0,3]");
    /* Another load reuses the evaluated graph. */
    load_ok(ctx, "import {add} from './lib/math.js'; export const again = () => globalThis.mathRuns;");
    expect_call(ctx, "again", NULL, "1");
    /* A second context has its own registry. */
    jsp_context *other = main_context();
    expect_call(other, "runs", NULL, "1");
    expect_call(other, "liveNamespace", NULL, "[2,2]");
    jsp_context_free(other);
    jsp_context_free(ctx);
}

Test(modules, dependencies_run_before_dependents_in_import_order)
{
    jsp_context *ctx = context_rooted_at(pool, MODULES_DIR "/order");
    jsp_result *r = NULL;
    char *source = NULL;
    FILE *f = fopen(MODULES_DIR "/order/main.js", "rb");
    cr_assert_not_null(f);
    size_t cap = 0;
    cr_assert_gt(getdelim(&source, &cap, '\0', f), 0);
    fclose(f);
    cr_assert_eq(jsp_load_module(ctx, source, -1, &r), 0, "%s", r->error_message);
    jsp_result_free(r);
    free(source);
    /* z once (shared by x and y), then x, y, and the body of main after its imports
     * although its first line comes before them. */
    expect_call(ctx, "order", NULL, "[\"z\",\"x\",\"y\",\"main-body\"]");
    jsp_context_free(ctx);
}

Test(modules, an_import_cycle_completes_with_hoisted_functions)
{
    jsp_context *ctx = context_rooted_at(pool, MODULES_DIR);
    load_ok(ctx, "export * from './cycle/main.js';");
    expect_call(ctx, "run", NULL, "[\"b+a\",\"b\",\"b\"]");
    jsp_context_free(ctx);
}

/* A named import of a binding not yet initialised when the import statement runs (the
 * module exporting it is still waiting for its own imports) is bound once that module
 * finishes: zod's core.js/util.js shape. Node prints ["#x","core"] (cycle2/main.js). */
Test(modules, a_named_import_in_a_cycle_is_bound_when_its_module_finishes)
{
    jsp_context *ctx = context_rooted_at(pool, MODULES_DIR);
    load_ok(ctx, "export * from './cycle2/main.js';");
    expect_call(ctx, "run", NULL, "[\"#x\",\"core\"]");
    jsp_context_free(ctx);
}

Test(modules, re_exports_list_every_name)
{
    jsp_context *ctx = context_rooted_at(pool, MODULES_DIR);
    jsp_result *r = load(ctx, "export * from './lib/index.js'; export {add as total} from './lib/math.js';");
    cr_assert_eq(r->code, 0, "%s", r->error_message);
    cr_expect_str_eq(r->json, "[\"add\",\"bump\",\"count\",\"math\",\"mathName\",\"plus\",\"total\"]");
    jsp_result_free(r);
    expect_call(ctx, "plus", "[1, 2]", "3");
    expect_call(ctx, "total", "[1, 2]", "3");
    jsp_context_free(ctx);
}

Test(modules, dynamic_import_returns_a_promise_of_the_namespace)
{
    jsp_context *ctx = main_context();
    expect_call(ctx, "later", "[\"./lib/math.js\"]", "[\"add\",\"bump\",\"count\",\"default\"]");
    expect_call(ctx, "later", "[\"greeter/extra\"]", "[\"extra\"]");
    jsp_result *r = NULL;
    cr_assert_eq(jsp_call(ctx, "later", "[\"./no-such.js\"]", -1, &r), JSP_EJS);
    cr_expect(strstr(r->error_message, "cannot find module './no-such.js'") != NULL, "%s", r->error_message);
    cr_expect(strstr(r->error_message, "/main.js") != NULL, "names the importer: %s", r->error_message);
    jsp_result_free(r);
    char *url = call_ok(ctx, "meta", NULL);
    cr_expect(strncmp(url, "\"file:///", 9) == 0 && strstr(url, "/modules/main.js\""), "%s", url);
    free(url);
    jsp_context_free(ctx);
}

Test(modules, a_missing_file_names_the_specifier_and_the_importer)
{
    jsp_context *ctx = context_rooted_at(pool, MODULES_DIR);
    jsp_result *r = load(ctx, "import './errors/missing_file.js';");
    cr_assert_eq(r->code, JSP_EMODULE);
    cr_expect(strstr(r->error_message, "cannot find module './nope.js' imported by ") != NULL, "%s", r->error_message);
    cr_expect(strstr(r->error_message, "errors/missing_file.js:2") != NULL, "file and line: %s", r->error_message);
    jsp_result_free(r);
    /* The entry's own import: its line. */
    r = load(ctx, "export const a = 1;\n\nimport x from './gone.js';");
    cr_assert_eq(r->code, JSP_EMODULE);
    cr_expect_eq(r->error_line, 3);
    cr_expect(strstr(r->error_message, "the entry module, line:3") == NULL);
    cr_expect(strstr(r->error_message, "'./gone.js'") != NULL, "%s", r->error_message);
    jsp_result_free(r);
    jsp_context_free(ctx);
}

Test(modules, a_missing_export_names_both_files)
{
    jsp_context *ctx = context_rooted_at(pool, MODULES_DIR "/errors");
    jsp_result *r = load(ctx, "export * from './missing_export.js';");
    cr_assert_eq(r->code, JSP_EMODULE, "%d %s", r->code, r->error_message);
    cr_expect(strstr(r->error_message, "errors/ok.js does not provide an export named 'subtract'") != NULL,
              "%s", r->error_message);
    cr_expect(strstr(r->error_message, "imported by ") && strstr(r->error_message, "missing_export.js"),
              "%s", r->error_message);
    jsp_result_free(r);
    jsp_context_free(ctx);
}

Test(modules, a_syntax_error_in_a_dependency_names_its_file_and_line)
{
    jsp_context *ctx = context_rooted_at(pool, MODULES_DIR "/errors");
    jsp_result *r = load(ctx, "export * from './imports_bad.js';");
    cr_assert_eq(r->code, JSP_ESYNTAX, "%d %s", r->code, r->error_message);
    cr_expect(strstr(r->error_message, "errors/bad_syntax.js:3:") != NULL, "%s", r->error_message);
    cr_expect_eq(r->error_line, 3);
    jsp_result_free(r);
    /* A dependency that throws: JSP_EJS, and importing it again throws again. */
    r = load(ctx, "import './imports_throws.js';");
    cr_assert_eq(r->code, JSP_EJS);
    cr_expect(strstr(r->error_message, "dependency failed at its top level") != NULL);
    cr_expect(r->error_stack && strstr(r->error_stack, "throws.js"), "stack names the file: %s", r->error_stack);
    jsp_result_free(r);
    r = load(ctx, "import {z} from './throws.js';");
    cr_assert_eq(r->code, JSP_EJS);
    jsp_result_free(r);
    /* The failed loads left the context usable. */
    load_ok(ctx, "import {add} from './ok.js'; export const three = () => add(1, 2);");
    expect_call(ctx, "three", NULL, "3");
    jsp_context_free(ctx);
}

/* A module file is .js, .mjs or .json with no dotted path part: import('./.env') once
 * ran the file as JS and its secret came back in the ReferenceError. One message for a
 * missing file, a file outside the root and a non-module, so nothing tells which exist. */
Test(modules, only_source_files_are_modules_and_their_text_never_shows)
{
    jsp_context *ctx = context_rooted_at(pool, MODULES_DIR);
    load_ok(ctx, "export async function peek(p) { return (await import(p)).default; }");
    const char *tries[] = {"[\"./.env\"]", "[\"./token\"]", "[\"./missing.js\"]"};
    char first[512] = "";
    for (size_t i = 0; i < 3; i++) {
        jsp_result *r = NULL;
        cr_assert_eq(jsp_call(ctx, "peek", tries[i], -1, &r), JSP_EJS, "%s", tries[i]);
        cr_expect(strstr(r->error_message, "sk_live") == NULL && strstr(r->error_message, "s3cr3t") == NULL,
                  "the file's text leaked: %s", r->error_message);
        cr_expect(strstr(r->error_message, "is not a module file under the module root") != NULL, "%s",
                  r->error_message);
        const char *tail = strstr(r->error_message, "is not a module file"); /* after the specifier */
        if (i == 0)
            snprintf(first, sizeof first, "%s", tail);
        else
            cr_expect_str_eq(tail, first, "the answers tell the cases apart");
        jsp_result_free(r);
    }
    jsp_context_free(ctx);
}

Test(modules, imports_cannot_leave_the_root)
{
    jsp_context *ctx = context_rooted_at(pool, MODULES_DIR);
    /* ../ out of the root */
    jsp_result *r = load(ctx, "export * from './errors/escape.js';");
    cr_assert_eq(r->code, JSP_EMODULE);
    cr_expect(strstr(r->error_message, "outside the module root") != NULL, "%s", r->error_message);
    jsp_result_free(r);
    /* an absolute path, and import() */
    r = load(ctx, "import x from '/etc/passwd';");
    cr_assert_eq(r->code, JSP_EMODULE);
    jsp_result_free(r);
    load_ok(ctx, "export async function peek(p) { return (await import(p)).default; }");
    r = NULL;
    cr_assert_eq(jsp_call(ctx, "peek", "[\"../outside_root.js\"]", -1, &r), JSP_EJS);
    cr_expect(strstr(r->error_message, "outside the module root") != NULL, "%s", r->error_message);
    jsp_result_free(r);
    /* a package that does not export the path (its CommonJS file) */
    r = load(ctx, "export * from './errors/cjs.js';");
    cr_assert_eq(r->code, JSP_EMODULE);
    cr_expect(strstr(r->error_message, "does not export this path") != NULL, "%s", r->error_message);
    jsp_result_free(r);
    /* a package path that climbs out */
    r = load(ctx, "import x from 'plainpkg/../../../outside_root.js';");
    cr_assert_eq(r->code, JSP_EMODULE);
    cr_expect(strstr(r->error_message, "outside the module root") != NULL, "%s", r->error_message);
    jsp_result_free(r);
    /* node: built-ins and URLs */
    r = load(ctx, "import fs from 'node:fs';");
    cr_assert_eq(r->code, JSP_EMODULE);
    cr_expect(strstr(r->error_message, "built-in modules and URLs are not supported") != NULL);
    jsp_result_free(r);
    jsp_context_free(ctx);
}

Test(modules, a_symlink_out_of_the_root_is_refused)
{
    char dir[] = "/tmp/jsp-modules-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char link[300];
    snprintf(link, sizeof link, "%s/link.js", dir);
    cr_assert_eq(symlink(MODULES_DIR "/../outside_root.js", link), 0);
    jsp_context *ctx = context_rooted_at(pool, dir);
    jsp_result *r = load(ctx, "import secret from './link.js'; export const s = () => secret;");
    cr_expect_eq(r->code, JSP_EMODULE);
    cr_expect(strstr(r->error_message, "outside the module root") != NULL, "%s", r->error_message);
    jsp_result_free(r);
    jsp_context_free(ctx);
    unlink(link);
    rmdir(dir);
}

Test(modules, without_a_loader_imports_are_refused_and_nothing_is_read)
{
    jsp_context *ctx = context_for_test(pool);
    jsp_result *r = load(ctx, "import x from '" MODULES_DIR "/lib/math.js';");
    cr_assert_eq(r->code, JSP_EMODULE);
    cr_expect(strstr(r->error_message, "no module loader") != NULL, "%s", r->error_message);
    cr_expect_eq(r->error_line, 1);
    jsp_result_free(r);
    load_ok(ctx, "export async function dyn() { return import('./x.js'); }");
    r = NULL;
    cr_assert_eq(jsp_call(ctx, "dyn", NULL, -1, &r), JSP_EJS);
    cr_expect(strstr(r->error_message, "no module loader") != NULL, "%s", r->error_message);
    jsp_result_free(r);
    jsp_context_free(ctx);
}

Test(modules, a_vm_recycle_rebuilds_the_imported_graph)
{
    jsp_pool_config cfg = {.threads = 1, .heap_limit_bytes = 1, .heap_check_request_interval = 5};
    jsp_pool *small = NULL;
    cr_assert_eq(jsp_pool_new(&cfg, &small), 0);
    jsp_context *ctx = context_rooted_at(small, MODULES_DIR);
    load_ok(ctx, "export * from './main.js';");
    /* The heap check follows every 5th call; the recycle may land after the reply. */
    for (int i = 0; i < 500 && jsp_context_generation(ctx) == 0; i++) {
        expect_call(ctx, "sum", "[2, 3]", "5");
        if (i >= 30)
            sleep_ms(2);
    }
    cr_assert_geq(jsp_context_generation(ctx), 1, "never recycled");
    expect_call(ctx, "packages", NULL, "[\"hello jspool!\",\"extra\",\"plain\",\"scoped\"]");
    expect_call(ctx, "runs", NULL, "1");
    jsp_context_free(ctx);
    jsp_pool_free(small);
}

Test(modules, a_files_module_root_is_its_project_directory)
{
    char *root = jsp_module_root_for_file(MODULES_DIR "/lib/math.js");
    cr_assert_not_null(root);
    size_t n = strlen(root);
    cr_expect(n > 17 && strcmp(root + n - 17, "/fixtures/modules") == 0,
              "the nearest package.json's directory: %s", root);
    free(root);
    cr_expect_null(jsp_module_root_for_file(MODULES_DIR "/no/such/file.js"));
}

/* CommonJS, as Node 20 runs tests/fixtures/modules/cjs/main.mjs (the expected values are
 * what `node -e "import('./main.mjs')..."` printed there): named and default imports of a
 * .cjs file, a package's require() graph with a cycle and a JSON file, a UMD file (.js
 * without import/export), import() of CommonJS. */
static jsp_context *cjs_context(void)
{
    jsp_context *ctx = context_rooted_at(pool, MODULES_DIR "/cjs");
    load_ok(ctx, "export * from './main.mjs';");
    return ctx;
}

Test(modules, commonjs_files_and_packages_import_as_node_runs_them)
{
    jsp_context *ctx = cjs_context();
    expect_call(ctx, "fromEsm", NULL, "[2,\"counter\",\"object\",\"cjspkg-b\"]");
    expect_call(ctx, "umdShape", NULL, "[\"object\",\"1.0\",\"X\"]");
    expect_call(ctx, "cycle", NULL, "[\"early/undefined\",\"-b\"]");
    expect_call(ctx, "counterFacts", NULL, "[\"counter.cjs\",\"cjs\",true]");
    expect_call(ctx, "dynamic", NULL, "true");
    /* beyond Node: a package whose "exports" has only the require condition */
    expect_call(ctx, "requireOnly", NULL, "42");
    jsp_context_free(ctx);
}

Test(modules, require_errors_name_the_file_and_can_be_caught)
{
    jsp_context *ctx = context_rooted_at(pool, MODULES_DIR "/cjs");
    load_ok(ctx, "import * as m from './errors.cjs'; export const r = () => m.results;");
    expect_call(ctx, "r", NULL,
                "[\"caught: cannot find module 'fs' imported by " MODULES_DIR
                "/cjs/errors.cjs: no node_modules/fs in its directory or any parent up to the "
                "module root\",\"TypeError\",\"SyntaxError\"]");
    /* a syntax error in a CommonJS file names the file, line and column */
    jsp_result *r = load(ctx, "import x from './bad.cjs';");
    cr_assert_eq(r->code, JSP_ESYNTAX, "%s", r->error_message);
    cr_expect(strstr(r->error_message, "/cjs/bad.cjs:3:") != NULL, "%s", r->error_message);
    jsp_result_free(r);
    /* the body cannot close its function early and run at top level */
    r = load(ctx, "import x from './escape.cjs';");
    cr_expect_eq(r->code, JSP_ESYNTAX, "%s", r->error_message);
    jsp_result_free(r);
    expect_eval(ctx, "typeof globalThis.escaped", "\"undefined\"");
    /* a throw at top level: its stack names the file and line */
    r = load(ctx, "import x from './throws.cjs';");
    cr_assert_eq(r->code, JSP_EJS, "%s", r->error_message);
    cr_expect(r->error_stack && strstr(r->error_stack, "/cjs/throws.cjs:2:") != NULL, "%s",
              r->error_stack ? r->error_stack : "(no stack)");
    jsp_result_free(r);
    /* a hashbang line and a top-level return, as Node allows in CommonJS */
    load_ok(ctx, "import e from './early_return.cjs'; export const keys = () => Object.keys(e);");
    expect_call(ctx, "keys", NULL, "[\"a\"]");
    jsp_context_free(ctx);
}
