/* main.c — the jspool command: `jspool eval CODE` and `jspool run FILE [FUNCTION
 * [ARGS_JSON]]`, on one pool with one context. Exit status: 0 success, 1 the JavaScript
 * failed (exception, syntax error, unknown function...), 2 usage or bad input, 3 the file
 * could not be read, 4 the pool could not start. */
#include "jspool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/data_dir.h"
#include "server/server.h"

enum { EXIT_JS_FAILED = 1, EXIT_USAGE = 2, EXIT_IO = 3, EXIT_POOL = 4 };

static void usage(FILE *out)
{
    fputs("usage: jspool eval [--apis LIST] [EGRESS] CODE\n"
          "       jspool run [--apis LIST] [EGRESS] [--data DIR] FILE [FUNCTION [ARGS_JSON]]\n"
          "       jspool serve [MODULE.js ...] [--config FILE] [--listen HOST:PORT]\n"
          "                    [--threads N] [--token-file FILE] [--max-body BYTES]\n"
          "                    [--grace-ms MS] [--log-format logfmt|json]\n"
          "                    [--ws-allowed-origins ORIGIN,...]\n"
          "                    [--ws-max-calls-in-flight N] [--ws-max-queued-bytes BYTES]\n"
          "                    [--data DIR] [--durability disk|process] [--supervise 1|0]\n"
          "\n"
          "eval  evaluates CODE as a script and prints its value as JSON.\n"
          "run   loads FILE (as a script when it parses as one, else as an ES module);\n"
          "      with FUNCTION, calls it with ARGS_JSON (a JSON array, default []) and\n"
          "      prints the result as JSON (without FUNCTION it prints nothing, as node).\n"
          "      Promises are awaited. console.log/info/debug\n"
          "      print to stdout, console.warn/error to stderr (eval too).\n"
          "--apis picks the web-API groups (\"events,encoding\", \"all\", \"none\"; default\n"
          "      console,timers,performance,navigator).\n"
          "EGRESS: --egress-allow LIST (what fetch, WebSocket and EventSource\n"
          "      may reach: \"api.example.com,*.cdn.test:443\";\n"
          "      default nothing), --egress-allow-loopback, --egress-allow-private (those\n"
          "      address ranges, checked after DNS; default refused). docs/apis.md#fetch\n"
          "--data DIR gives FILE a store, DIR/STEM.jspdb (examples/bank.js: DIR/bank.jspdb),\n"
          "      so its tables (the global db) carry over from one run to the next.\n"
          "serve serves the pool over HTTP/JSON (default 127.0.0.1:8080); each MODULE.js is\n"
          "      deployed as a context named after the file, its tables in DIR/NAME.jspdb\n"
          "      (--data, default ./jspool-data). SIGTERM/SIGINT drain it. It runs in a\n"
          "      worker process restarted on the same port if it crashes (--supervise 0:\n"
          "      in this process, for a supervisor of your own).\n"
          "      A non-loopback --listen needs --token-file (the bearer token every route\n"
          "      but /healthz then requires; docs/server.md).\n"
          "\n"
          "exit status: 0 ok, 1 JavaScript error, 2 usage or bad input, 3 file unreadable,\n"
          "             4 runtime could not start\n",
          out);
}

/* FILE's store inside --data DIR: "STEM.jspdb" (examples/bank.js -> bank.jspdb), the
 * stem being the base name without its last extension; a name the server would refuse
 * for a context works here too (it names a file in a directory the user chose). NULL
 * when out of memory. */
static char *store_file_for(const char *path)
{
    char *stem = data_dir_stem(path);
    char *file = stem ? data_dir_store_file(NULL, stem) : NULL;
    free(stem);
    return file;
}

/* console output as Node prints it: log/info/debug to stdout without a prefix (so it can
 * be piped), warn/error to stderr. The pool's own diagnostics (context 0, such as a heap
 * recycle at info level) are not the script's output: stderr. Runs on the runtime thread;
 * stdio locks each call. */
static void cli_log(int level, uint64_t context_id, const char *message, void *user)
{
    (void)user;
    FILE *out = level >= JSP_LOG_WARN || context_id == 0 ? stderr : stdout;
    fputs(message, out);
    fputc('\n', out);
}

/* The script parser stopped at a module keyword: `export` anywhere, or `import` (which a
 * classic script only knows as import(...)). JSC's own wording, so the engine's lexer is
 * the judge, not a guess from line starts. */
static int stopped_at_module_keyword(const jsp_result *r)
{
    const char *m = r->error_message ? r->error_message : "";
    return strstr(m, "keyword 'export'") != NULL || strstr(m, "import call expects") != NULL;
}

/* Loads FILE's text: as a classic script when it parses as one, else as an ES module.
 * Parsing fails before anything runs, so the script attempt has no effect on a module
 * (and `export` is never valid in a script, so no module is taken for a script). When
 * both fail, the error shown is the module's if the script parser stopped at a module
 * keyword (the error is past it), else the script's (the first error, in either reading).
 * Trying the module first would be wrong: a module runs strict and keeps its top-level
 * functions out of the global scope, so a script would change meaning. */
static int load_file(jsp_context *ctx, const char *path, const char *source, size_t len,
                     jsp_result **r, int *is_module)
{
    *is_module = 0;
    jsp_eval_named(ctx, source, (long)len, path, r); /* stack traces name the file */
    if ((*r)->code != JSP_ESYNTAX)
        return (*r)->code;
    jsp_result *as_module = NULL;
    jsp_load_module_named(ctx, source, (long)len, path, &as_module);
    if (as_module->code == JSP_OK || stopped_at_module_keyword(*r)) {
        jsp_result_free(*r);
        *r = as_module;
        *is_module = 1;
    } else {
        jsp_result_free(as_module);
    }
    return (*r)->code;
}

/* Prints the value, or the error in the shape a shell user reads; returns the exit code. */
static int report(const char *what, jsp_result *r)
{
    int code = r->code;
    if (code == JSP_OK) {
        puts(r->json);
    } else if (code == JSP_ESYNTAX || code == JSP_EMODULE) {
        fprintf(stderr, "%s: %s: %s (line %d, column %d)\n", what, r->error_name,
                r->error_message, r->error_line, r->error_column);
    } else if (code == JSP_EJS) {
        fprintf(stderr, "%s: %s: %s\n", what, r->error_name, r->error_message);
        if (r->error_stack)
            fprintf(stderr, "%s\n", r->error_stack);
    } else {
        fprintf(stderr, "%s: %s (%s)\n", what, r->error_message, jsp_error_id(code));
    }
    jsp_result_free(r);
    if (code == JSP_OK)
        return 0;
    if (code == JSP_EUTF8 || code == JSP_EJSON || code == JSP_EINVAL)
        return EXIT_USAGE;
    return EXIT_JS_FAILED;
}

/* jspool serve [MODULE.js ...] [--config FILE] [--listen HOST:PORT] [--threads N]
 *              [--token-file F] [--max-body BYTES] [--grace-ms MS] [--log-format F]
 *              [--ws-allowed-origins LIST] [--ws-max-calls-in-flight N]
 *              [--ws-max-queued-bytes BYTES] [--data DIR] [--durability disk|process]
 *              [--supervise 1|0]
 * A config file is read first; flags override it; modules on the command line replace
 * the file's list. */
static int serve(int argc, char **argv)
{
    server_options o = {.supervise = 1};
    const char **modules = calloc((size_t)argc, sizeof(*modules));
    if (!modules)
        return EXIT_POOL;
    int status = -1;
    for (int i = 2; i + 1 < argc && status < 0; i++) {
        char error[600];
        if (strcmp(argv[i], "--config") == 0 && !server_config_load(argv[i + 1], &o, error, sizeof(error))) {
            fprintf(stderr, "jspool serve: %s\n", error);
            status = EXIT_USAGE;
        }
    }
    size_t module_count = 0;
    for (int i = 2; i < argc && status < 0; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strncmp(argv[i], "--", 2) != 0) {
            modules[module_count++] = argv[i];
            continue;
        }
        if (!value) {
            fprintf(stderr, "jspool serve: %s needs a value\n", argv[i]);
            status = EXIT_USAGE;
            break;
        }
        if (strcmp(argv[i], "--config") == 0)
            ; /* read above */
        else if (strcmp(argv[i], "--listen") == 0)
            o.listen = value;
        else if (strcmp(argv[i], "--token-file") == 0)
            o.token_file = value;
        else if (strcmp(argv[i], "--ws-allowed-origins") == 0)
            o.ws_allowed_origins = value;
        else if (strcmp(argv[i], "--data") == 0)
            o.data_dir = value;
        else if (strcmp(argv[i], "--durability") == 0 &&
                 server_durability_parse(value, &o.store_durability) == 0)
            ;
        else if (strcmp(argv[i], "--threads") == 0)
            o.threads = (int)strtol(value, &end, 10);
        else if (strcmp(argv[i], "--max-body") == 0)
            o.max_body_bytes = (size_t)strtoull(value, &end, 10);
        else if (strcmp(argv[i], "--ws-max-calls-in-flight") == 0)
            o.ws_max_calls_in_flight = (int)strtol(value, &end, 10);
        else if (strcmp(argv[i], "--ws-max-queued-bytes") == 0)
            o.ws_max_queued_bytes = strtoull(value, &end, 10);
        else if (strcmp(argv[i], "--grace-ms") == 0)
            o.grace_ms = (int)strtol(value, &end, 10);
        else if (strcmp(argv[i], "--supervise") == 0 && (strcmp(value, "0") == 0 || strcmp(value, "1") == 0))
            o.supervise = value[0] == '1';
        else if (strcmp(argv[i], "--log-format") == 0 &&
                 (strcmp(value, "json") == 0 || strcmp(value, "logfmt") == 0))
            o.log_json = strcmp(value, "json") == 0;
        else {
            fprintf(stderr, "jspool serve: unknown option or value: %s %s\n", argv[i], value);
            status = EXIT_USAGE;
            break;
        }
        if (end && (*end || end == value)) {
            fprintf(stderr, "jspool serve: %s wants a number, got '%s'\n", argv[i], value);
            status = EXIT_USAGE;
            break;
        }
        i++;
    }
    if (module_count) {
        o.modules = modules;
        o.module_count = module_count;
    }
    if (status < 0)
        status = o.supervise ? server_supervise(&o) : server_run(&o);
    server_options_free(&o);
    free(modules);
    return status;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    /* `jspool serve --help`, `jspool run --help`: an option, never a value or a file name
     * (run's FUNCTION and ARGS_JSON come after FILE, so a script named --help is ./--help) */
    for (int i = 2; i < argc && argc >= 2 && (strcmp(argv[1], "serve") == 0 || i <= 4); i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        }
    if (argc >= 2 && strcmp(argv[1], "serve") == 0)
        return serve(argc, argv);
    /* eval/run [--apis LIST] [EGRESS] [--data DIR] ...: the options go right after the command */
    const char *apis = NULL, *data = NULL, *egress_allow = NULL;
    int egress_loopback = 0, egress_private = 0;
    for (;;) {
        if (argc >= 3 && (strcmp(argv[2], "--egress-allow-loopback") == 0 ||
                          strcmp(argv[2], "--egress-allow-private") == 0)) { /* flags: no value */
            if (strcmp(argv[2], "--egress-allow-loopback") == 0)
                egress_loopback = 1;
            else
                egress_private = 1;
            argv[2] = argv[1];
            argv += 1;
            argc -= 1;
            continue;
        }
        if (!(argc >= 4 && (strcmp(argv[2], "--apis") == 0 || strcmp(argv[2], "--data") == 0 ||
                            strcmp(argv[2], "--egress-allow") == 0)))
            break;
        char problem[256];
        if (strcmp(argv[2], "--egress-allow") == 0) {
            if (jsp_egress_check(argv[3], NULL, problem, sizeof(problem)) != 0) {
                fprintf(stderr, "jspool: --egress-allow: %s\n", problem);
                return EXIT_USAGE;
            }
            egress_allow = argv[3];
        } else if (strcmp(argv[2], "--data") == 0) {
            data = argv[3];
        } else if (jsp_apis_resolve(argv[3], problem, sizeof(problem)) != 0) {
            fprintf(stderr, "jspool: %s\n", problem);
            return EXIT_USAGE;
        } else {
            apis = argv[3];
        }
        argv[3] = argv[1];
        argv += 2;
        argc -= 2;
    }
    int is_eval = argc == 3 && strcmp(argv[1], "eval") == 0 && !data;
    int is_run = argc >= 3 && argc <= 5 && strcmp(argv[1], "run") == 0;
    if (!is_eval && !is_run) {
        if (data && strcmp(argv[1], "eval") == 0)
            fputs("jspool: --data is for run (a store is named after the file)\n", stderr);
        usage(stderr);
        return EXIT_USAGE;
    }
    char *source = NULL;
    size_t source_len = 0;
    if (is_run) {
        source = server_read_file(argv[2], &source_len);
        if (!source) {
            fprintf(stderr, "jspool: cannot read %s: %s\n", argv[2], strerror(errno));
            return EXIT_IO;
        }
    }
    /* run --data DIR FILE: the store DIR/STEM.jspdb, DIR made (0700) when missing */
    char *store_path = NULL;
    if (data) {
        data_dir dir;
        char why[600];
        if (!data_dir_open(&dir, data, false, why, sizeof(why))) {
            fprintf(stderr, "jspool: %s\n", why);
            free(source);
            return EXIT_IO;
        }
        char *file = store_file_for(argv[2]);
        store_path = file ? data_dir_join(&dir, file) : NULL;
        free(file);
        data_dir_close(&dir);
        if (!store_path) {
            fprintf(stderr, "jspool: out of memory\n");
            free(source);
            return EXIT_POOL;
        }
    }
    /* a UTF-8 byte-order mark is not JavaScript (Node strips it too) */
    size_t bom = source_len >= 3 && memcmp(source, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    jsp_pool *pool;
    jsp_pool_config config = {.threads = 1, .log = cli_log};
    int rc = jsp_pool_new(&config, &pool);
    jsp_context *ctx = NULL;
    /* A file's imports: relative files and node_modules under its project root. */
    char *module_root = is_run ? jsp_module_root_for_file(argv[2]) : NULL;
    jsp_context_config context_config = {.apis = apis,
                                         .module_loader = module_root ? jsp_module_loader_files : NULL,
                                         .module_loader_user = module_root,
                                         .store_path = store_path,
                                         .egress_allow = egress_allow,
                                         .egress_allow_loopback = egress_loopback,
                                         .egress_allow_private = egress_private};
    if (rc == 0)
        rc = jsp_context_new(pool, &context_config, &ctx);
    if (rc != 0) {
        if (rc == JSP_ESTORE) /* the cause was logged above (cli_log: stderr) */
            fprintf(stderr, "jspool: cannot open the store %s\n", store_path);
        else
            fprintf(stderr, "jspool: cannot start: %s\n", jsp_strerror(rc));
        free(source);
        free(store_path);
        jsp_pool_free(pool);
        free(module_root);
        return rc == JSP_ESTORE ? EXIT_IO : EXIT_POOL;
    }
    free(store_path); /* copied by jsp_context_new */
    jsp_result *r = NULL;
    int status;
    if (is_eval) {
        jsp_eval(ctx, argv[2], -1, &r);
        status = report("jspool", r);
    } else {
        int is_module;
        load_file(ctx, argv[2], source + bom, source_len - bom, &r, &is_module);
        (void)is_module;
        if (r->code != JSP_OK || argc == 3) {
            if (r->code == JSP_OK && argc == 3) {
                jsp_result_free(r); /* run for its effects, as `node FILE`: prints nothing */
                status = 0;
            } else {
                status = report(argv[2], r);
            }
        } else {
            jsp_result_free(r);
            jsp_call(ctx, argv[3], argc == 5 ? argv[4] : "[]", -1, &r);
            status = report(argv[3], r);
        }
    }
    free(source);
    jsp_context_free(ctx);
    jsp_pool_free(pool);
    free(module_root); /* after the pool: its runtime may read it until then */
    return status;
}
