/* request_body.c — see request_body.h. jansson does the JSON; this file only says which
 * shapes the routes accept. */
#include "server/request_body.h"

#include "jspool.h"

#include <limits.h>
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
    out->egress = (request_egress){0};
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
        snprintf(why, why_len, "%s must be an integer of at least %ld (no limit, -1, is for "
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

/* "egress": {...} within the operator's (max). NULL, or what is wrong (in why). */
static const char *narrow_egress(const json_t *egress, const request_egress *max, request_egress *out, char *why,
                                 size_t why_len)
{
    *out = *max;
    if (!egress)
        return NULL;
    const char *allow = NULL;
    int loopback = -1, private_ = -1;
    json_t *requests = NULL, *bytes = NULL, *timeout = NULL;
    json_error_t error;
    if (json_unpack_ex((json_t *)egress, &error, JSON_STRICT, "{s?s, s?b, s?b, s?o, s?o, s?o}", "allow", &allow,
                       "allow_loopback", &loopback, "allow_private", &private_, "max_requests", &requests,
                       "max_response_bytes", &bytes, "timeout_ms", &timeout) != 0) {
        snprintf(why, why_len, "egress: %s", error.text);
        return why;
    }
    char text[240];
    if (allow && jsp_egress_check(allow, max->allow ? max->allow : "", text, sizeof(text)) != 0) {
        snprintf(why, why_len, "egress.allow: %s", text);
        return why;
    }
    if ((loopback > 0 && !max->allow_loopback) || (private_ > 0 && !max->allow_private)) {
        snprintf(why, why_len, "egress.%s: the operator does not allow it (egress_%s in the server's config)",
                 loopback > 0 && !max->allow_loopback ? "allow_loopback" : "allow_private",
                 loopback > 0 && !max->allow_loopback ? "allow_loopback" : "allow_private");
        return why;
    }
    if (allow)
        out->allow = allow;
    if (loopback >= 0)
        out->allow_loopback = loopback;
    if (private_ >= 0)
        out->allow_private = private_;
    json_int_t n;
    if (!client_limit(requests, "egress.max_requests", max->max_requests ? max->max_requests : JSP_DEFAULT_EGRESS_MAX_REQUESTS,
                      1, &n, why, why_len))
        return why;
    if (n)
        out->max_requests = (int)n;
    uint64_t max_bytes_u = max->max_response_bytes ? max->max_response_bytes : JSP_DEFAULT_EGRESS_MAX_RESPONSE_BYTES;
    long max_bytes = max_bytes_u > LONG_MAX ? LONG_MAX : (long)max_bytes_u;
    if (!client_limit(bytes, "egress.max_response_bytes", max_bytes, 1, &n, why, why_len))
        return why;
    if (n)
        out->max_response_bytes = (uint64_t)n;
    long max_timeout = max->timeout_ms ? max->timeout_ms : JSP_DEFAULT_EGRESS_TIMEOUT_MS;
    if (!client_limit(timeout, "egress.timeout_ms", max_timeout, 1, &n, why, why_len))
        return why;
    if (n)
        out->timeout_ms = (long)n;
    return NULL;
}

int request_body_parse_create(const char *text, size_t len, const request_limit_maxima *max,
                              request_body *out)
{
    if (load(text, len, out) != 0)
        return 400;
    json_t *limits = NULL, *cpu = NULL, *wall = NULL, *memory = NULL, *storage = NULL, *egress = NULL;
    json_error_t error;
    int rc = json_unpack_ex(out->json, &error, JSON_STRICT, "{s?s, s?s, s?s, s?o, s?s, s?s, s?b, s?o}",
                            "name", &out->name, "module", &out->module, "source", &out->source,
                            "limits", &limits, "apis", &out->apis, "namespace", &out->ns, "store",
                            &out->store, "egress", &egress);
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
    if (!client_limit(cpu, "limits.cpu_ms", max->cpu_ms, 1, &out->cpu_ms, why, sizeof(why)) ||
        !client_limit(wall, "limits.wall_ms", max->wall_ms, 1, &out->wall_ms, why, sizeof(why)) ||
        !client_limit(memory, "limits.memory_bytes", max->memory_bytes, 4L << 20, &out->memory_bytes, why,
                      sizeof(why)) ||
        !client_limit(storage, "limits.storage_quota", max->storage_quota, 1, &out->storage_quota, why,
                      sizeof(why)))
        return refuse(out, "invalid_argument", why);
    if (narrow_egress(egress, &max->egress, &out->egress, why, sizeof(why)))
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
