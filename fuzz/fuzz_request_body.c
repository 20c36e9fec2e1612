/* fuzz_request_body — the request bodies the server interprets itself (request_body.c:
 * POST /v1/contexts and POST .../eval), on arbitrary bytes. The first byte picks the route.
 * Oracle: the verdict agrees with an independent reading of the same JSON through
 * jansson's object iteration (accepted exactly when the body is an object of known keys
 * with the right types and ranges, and not both module and source, nor a module or source
 * that is only a file's name, nor "store": true without a name; limits clamped to the maxima; "egress" only narrowing the operator's: its allow
 * list within the operator's (jsp_egress_check, fuzzed on its own by fuzz_egress_policy),
 * a range only if the operator allows it, numbers clamped), accepted fields are the JSON's
 * own strings, and a refusal names one of the two error ids with a message. */
#include "jspool.h"
#include "server/request_body.h"

#include <jansson.h>
#include <stdbool.h>
#include "fuzz_support.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool same_string(json_t *object, const char *key, const char *parsed)
{
    json_t *v = json_object_get(object, key);
    return v ? parsed && strcmp(json_string_value(v), parsed) == 0 : parsed == NULL;
}

static bool limits_ok(json_t *limits)
{
    if (!json_is_object(limits))
        return false;
    const char *key;
    json_t *v;
    json_object_foreach(limits, key, v) {
        if (strcmp(key, "cpu_ms") && strcmp(key, "wall_ms") && strcmp(key, "memory_bytes"))
            return false;
        if (!json_is_integer(v) || json_integer_value(v) < (strcmp(key, "memory_bytes") ? 1 : 4L << 20))
            return false;
    }
    return true;
}

/* The operator's egress the bodies are checked against. */
static const request_egress operator_egress = {.allow = "*.example.com, 127.0.0.1", .allow_loopback = 1,
                                               .max_requests = 8, .max_response_bytes = 1000, .timeout_ms = -1};

static bool egress_ok(json_t *egress)
{
    if (!json_is_object(egress))
        return false;
    const char *key;
    json_t *v;
    json_object_foreach(egress, key, v) {
        if (!strcmp(key, "allow")) {
            if (!json_is_string(v) || jsp_egress_check(json_string_value(v), operator_egress.allow, NULL, 0) != 0)
                return false;
        } else if (!strcmp(key, "allow_loopback") || !strcmp(key, "allow_private")) {
            if (!json_is_boolean(v) || (json_is_true(v) && !strcmp(key, "allow_private")))
                return false; /* the operator allows loopback, not private */
        } else if (!strcmp(key, "max_requests") || !strcmp(key, "max_response_bytes") || !strcmp(key, "timeout_ms")) {
            if (!json_is_integer(v) || json_integer_value(v) < 1)
                return false;
        } else {
            return false;
        }
    }
    return true;
}

/* Whether a create body should be accepted, read independently of json_unpack. */
/* A script or module that is only a file's name ("examples/bank.js"): refused, with a hint
 * (request_body.c). Spelled out here: 4 to 1024 bytes, none of the code punctuation, and
 * a .js, .mjs or .cjs ending. */
static bool names_a_file(json_t *code)
{
    const char *text = json_string_value(code);
    size_t n = text ? strlen(text) : 0;
    if (n < 4 || n > 1024)
        return false;
    for (const char *c = text; *c; c++)
        if (strchr(" \t\r\n;(){}=,'\"`+*", *c))
            return false;
    static const char *const endings[] = {".js", ".mjs", ".cjs"};
    for (int i = 0; i < 3; i++) {
        size_t e = strlen(endings[i]);
        if (n >= e && strcmp(text + n - e, endings[i]) == 0)
            return true;
    }
    return false;
}

static bool create_ok(json_t *body)
{
    if (!json_is_object(body))
        return false;
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        if (strcmp(key, "limits") == 0) {
            if (!limits_ok(v))
                return false;
        } else if (strcmp(key, "egress") == 0) {
            if (!egress_ok(v))
                return false;
        } else if (!strcmp(key, "name") || !strcmp(key, "module") || !strcmp(key, "source") ||
                   !strcmp(key, "apis")) {
            if (!json_is_string(v))
                return false;
        } else if (!strcmp(key, "store")) {
            if (!json_is_boolean(v))
                return false;
        } else if (!strcmp(key, "namespace")) {
            const char *ns = json_string_value(v);
            if (!ns || !*ns || strlen(ns) > 64)
                return false;
            for (const char *c = ns; *c; c++) /* spelled out, not JSP_NAMESPACE_CHARS */
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                      *c == '.' || *c == '_' || *c == '-'))
                    return false;
        } else {
            return false;
        }
    }
    json_t *module = json_object_get(body, "module"), *source = json_object_get(body, "source");
    return !(module && source) && !names_a_file(module ? module : source) &&
           !(json_is_true(json_object_get(body, "store")) && !json_object_get(body, "name"));
}

static bool eval_ok(json_t *body)
{
    return json_is_object(body) && json_object_size(body) == 1 &&
           json_is_string(json_object_get(body, "source"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    bool is_create = data[0] & 1;
    size_t len = size - 1;
    char *text = malloc(len ? len : 1);
    CHECK(text);
    memcpy(text, data + 1, len);
    request_body parsed;
    /* small maxima so that clamping happens often */
    static request_limit_maxima max = {.cpu_ms = 1000, .wall_ms = -1, .memory_bytes = 64L << 20};
    max.egress = operator_egress;
    int rc = is_create ? request_body_parse_create(data[0] & 2 ? NULL : text, len, &max, &parsed)
                       : request_body_parse_eval(text, len, &parsed);
    CHECK(rc == 0 || rc == 400);
    json_t *reference = is_create && data[0] & 2 ? NULL : json_loadb(text, len, JSON_DECODE_ANY, NULL);
    bool expected = reference && (is_create ? create_ok(reference) : eval_ok(reference));
    CHECK((rc == 0) == expected);
    if (rc == 0) {
        CHECK(parsed.json);
        CHECK(same_string(reference, "source", parsed.source));
        if (is_create) {
            CHECK(same_string(reference, "name", parsed.name));
            CHECK(same_string(reference, "module", parsed.module));
            CHECK(same_string(reference, "apis", parsed.apis));
            json_t *limits = json_object_get(reference, "limits");
            json_t *cpu = limits ? json_object_get(limits, "cpu_ms") : NULL;
            json_t *wall = limits ? json_object_get(limits, "wall_ms") : NULL;
            json_t *memory = limits ? json_object_get(limits, "memory_bytes") : NULL;
            json_int_t asked = cpu ? json_integer_value(cpu) : 0;
            CHECK(parsed.cpu_ms == (asked > max.cpu_ms ? max.cpu_ms : asked)); /* clamped */
            CHECK(parsed.wall_ms == (wall ? json_integer_value(wall) : 0));  /* no maximum */
            asked = memory ? json_integer_value(memory) : 0;
            CHECK(parsed.memory_bytes == (asked > max.memory_bytes ? max.memory_bytes : asked));
            CHECK(same_string(reference, "namespace", parsed.ns));
            CHECK(parsed.store == json_is_true(json_object_get(reference, "store")));
            /* egress: the operator's, narrowed */
            json_t *egress = json_object_get(reference, "egress");
            json_t *allow = egress ? json_object_get(egress, "allow") : NULL;
            CHECK(allow ? parsed.egress.allow && !strcmp(parsed.egress.allow, json_string_value(allow))
                        : parsed.egress.allow == operator_egress.allow);
            json_t *loopback = egress ? json_object_get(egress, "allow_loopback") : NULL;
            CHECK(parsed.egress.allow_loopback == (loopback ? json_is_true(loopback) : 1));
            CHECK(parsed.egress.allow_private == 0);
            json_t *n = egress ? json_object_get(egress, "max_requests") : NULL;
            asked = n ? json_integer_value(n) : 8;
            CHECK(parsed.egress.max_requests == (asked > 8 ? 8 : asked));
            n = egress ? json_object_get(egress, "max_response_bytes") : NULL;
            asked = n ? json_integer_value(n) : 1000;
            CHECK(parsed.egress.max_response_bytes == (uint64_t)(asked > 1000 ? 1000 : asked));
            n = egress ? json_object_get(egress, "timeout_ms") : NULL;
            CHECK(parsed.egress.timeout_ms == (n ? (long)json_integer_value(n) : -1)); /* no maximum */
        }
    } else {
        CHECK(!parsed.json && !parsed.name && !parsed.source && !parsed.module && !parsed.apis && !parsed.ns &&
              !parsed.store);
        CHECK(parsed.error_id && parsed.message[0]);
        CHECK(strcmp(parsed.error_id, reference ? "invalid_argument" : "invalid_json") == 0);
    }
    request_body_free(&parsed);
    request_body_free(&parsed);
    json_decref(reference);
    free(text);
    return 0;
}
