/* request_body.c — see request_body.h. jansson does the JSON; this file only says which
 * shapes the routes accept. */
#include "server/request_body.h"

#include <stdio.h>
#include <string.h>

static int refuse(request_body *out, const char *error_id, const char *message)
{
    out->error_id = error_id;
    snprintf(out->message, sizeof(out->message), "%s", message);
    json_decref(out->json);
    out->json = NULL;
    out->name = out->module = out->source = out->apis = NULL;
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

int request_body_parse_create(const char *text, size_t len, request_body *out)
{
    if (load(text, len, out) != 0)
        return 400;
    json_t *limits = NULL;
    json_error_t error;
    int rc = json_unpack_ex(out->json, &error, JSON_STRICT, "{s?s, s?s, s?s, s?o, s?s}", "name",
                            &out->name, "module", &out->module, "source", &out->source, "limits",
                            &limits, "apis", &out->apis);
    if (rc == 0 && limits)
        rc = json_unpack_ex(limits, &error, JSON_STRICT, "{s?I, s?I, s?I}", "cpu_ms", &out->cpu_ms,
                            "wall_ms", &out->wall_ms, "memory_bytes", &out->memory_bytes);
    if (rc != 0)
        return refuse(out, "invalid_argument", error.text);
    if (out->module && out->source)
        return refuse(out, "invalid_argument", "give either module or source, not both");
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
