/* request_body.c — see request_body.h. jansson does the JSON; this file only says which
 * shapes the routes accept. */
#include "server/request_body.h"

#include "jspool.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int refuse(request_body *out, const char *error_id, const char *message)
{
    out->error_id = error_id;
    snprintf(out->message, sizeof(out->message), "%s", message);
    json_decref(out->json);
    out->json = NULL;
    out->name = out->module = out->source = out->apis = out->ns = NULL;
    out->store = 0;
    return 400;
}

/* \u0000 stays refused (no JSON_ALLOW_NUL): every string goes on as a C string. */
static int load(const char *text, size_t len, request_body *out)
{
    memset(out, 0, sizeof(*out));
    if (!text)
        return refuse(out, "invalid_json", "request body is not JSON: missing");
    json_error_t error;
    out->json = json_loadb(text, len, JSON_DECODE_ANY, &error);
    if (!out->json) {
        char message[sizeof(out->message)];
        snprintf(message, sizeof(message), "request body is not JSON: %s", error.text);
        return refuse(out, "invalid_json", message);
    }
    return 0;
}

/* One limit a client asked for: absent stays 0 (the server's default); otherwise an
 * integer of at least minimum, clamped to max (max < 0: none). Zero, negative (-1,
 * "unlimited", is for the operator's config file only) and non-integer values are refused
 * with why filled. */
static bool client_limit(const json_t *v, const char *key, long max, long minimum, json_int_t *out,
                         char *why, size_t why_len)
{
    *out = 0;
    if (!v)
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < minimum) {
        snprintf(why, why_len, "limits.%s must be an integer of at least %ld (no limit, -1, is for "
                 "the operator's config only)", key, minimum);
        return false;
    }
    *out = json_integer_value(v);
    if (max >= 0 && *out > max)
        *out = max;
    return true;
}

/* "module" is source text; "examples/bank.js" or "./app.mjs" there is a file name that a
 * user meant the server to read (it would fail as `Can't find variable: examples`). A
 * path: no whitespace or code punctuation, ends in .js/.mjs/.cjs, short. */
static bool looks_like_a_file_path(const char *text)
{
    size_t n = strlen(text);
    if (n < 4 || n > 1024 || strcspn(text, " \t\r\n;(){}=,'\"`+*") != n)
        return false;
    const char *dot = strrchr(text, '.');
    return dot && (strcmp(dot, ".js") == 0 || strcmp(dot, ".mjs") == 0 || strcmp(dot, ".cjs") == 0);
}

int request_body_parse_create(const char *text, size_t len, const request_limit_maxima *max,
                              request_body *out)
{
    if (load(text, len, out) != 0)
        return 400;
    json_t *limits = NULL, *cpu = NULL, *wall = NULL, *memory = NULL, *storage = NULL;
    json_error_t error;
    int rc = json_unpack_ex(out->json, &error, JSON_STRICT, "{s?s, s?s, s?s, s?o, s?s, s?s, s?b}",
                            "name", &out->name, "module", &out->module, "source", &out->source,
                            "limits", &limits, "apis", &out->apis, "namespace", &out->ns, "store",
                            &out->store);
    if (rc == 0 && limits)
        rc = json_unpack_ex(limits, &error, JSON_STRICT, "{s?o, s?o, s?o, s?o}", "cpu_ms", &cpu,
                            "wall_ms", &wall, "memory_bytes", &memory, "storage_quota", &storage);
    if (rc != 0)
        return refuse(out, "invalid_argument", error.text);
    if (out->module && out->source)
        return refuse(out, "invalid_argument", "give either module or source, not both");
    const char *code = out->module ? out->module : out->source;
    if (code && looks_like_a_file_path(code))
        return refuse(out, "invalid_argument",
                      out->module ? "\"module\" holds the module's source text, not a file name: send "
                                    "the file's contents, or deploy the file with `jspool serve FILE.js`"
                                  : "\"source\" holds script text, not a file name: send the file's "
                                    "contents, or deploy a module file with `jspool serve FILE.js`");
    if (out->store && !out->name) /* a context is rebuilt from its name: no name, no file */
        return refuse(out, "invalid_argument", "store: true needs a name (the store's file is "
                      "named after the context, so a context of that name finds it again)");
    char why[sizeof(out->message)] = "";
    if (!client_limit(cpu, "cpu_ms", max->cpu_ms, 1, &out->cpu_ms, why, sizeof(why)) ||
        !client_limit(wall, "wall_ms", max->wall_ms, 1, &out->wall_ms, why, sizeof(why)) ||
        !client_limit(memory, "memory_bytes", max->memory_bytes, 4L << 20, &out->memory_bytes, why,
                      sizeof(why)) ||
        !client_limit(storage, "storage_quota", max->storage_quota, 1, &out->storage_quota, why, sizeof(why)))
        return refuse(out, "invalid_argument", why);
    const char *ns = out->ns;
    if (ns && (!*ns || strlen(ns) > 64 || strspn(ns, JSP_NAMESPACE_CHARS) != strlen(ns)))
        return refuse(out, "invalid_argument", "namespace: 1 to 64 characters of A-Z a-z 0-9 . _ -");
    return 0;
}

int request_body_parse_eval(const char *text, size_t len, request_body *out)
{
    if (load(text, len, out) != 0)
        return 400;
    json_error_t error;
    if (json_unpack_ex(out->json, &error, JSON_STRICT, "{s:s}", "source", &out->source) != 0)
        return refuse(out, "invalid_argument", error.text);
    return 0;
}

void request_body_free(request_body *out)
{
    json_decref(out->json);
    out->json = NULL;
}
