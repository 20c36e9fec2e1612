/* config.c — the server's config file: one `key = value` per line, `#` starts a comment,
 * blank lines are ignored. Every key mirrors a command-line flag or a library setting;
 * docs/server.md lists them with their defaults. Unknown keys are an error. */
#include "server/server.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { KIND_STRING, KIND_INT, KIND_LIMIT, KIND_U64, KIND_SIZE, KIND_DOUBLE, KIND_BOOL_LOG, KIND_MODULES, KIND_DURABILITY } kind;

typedef struct key_spec {
    const char *name;
    kind kind;
    size_t offset;
} key_spec;

#define AT(field) offsetof(server_options, field)
static const key_spec keys[] = {
    {"listen", KIND_STRING, AT(listen)},
    {"threads", KIND_INT, AT(threads)},
    {"token_file", KIND_STRING, AT(token_file)},
    {"max_body_bytes", KIND_SIZE, AT(max_body_bytes)},
    {"max_connections", KIND_INT, AT(max_connections)},
    {"grace_ms", KIND_INT, AT(grace_ms)},
    {"supervise", KIND_INT, AT(supervise)},
    {"log_format", KIND_BOOL_LOG, AT(log_json)},
    {"modules", KIND_MODULES, AT(modules)},
    {"max_contexts", KIND_INT, AT(pool.max_contexts)},
    {"max_stores", KIND_INT, AT(pool.max_stores)},
    {"max_egress_connections", KIND_INT, AT(pool.max_egress_connections)},
    {"max_queued_jobs", KIND_INT, AT(pool.max_queued_jobs)},
    {"max_timers_per_context", KIND_INT, AT(pool.max_timers_per_context)},
    {"max_host_calls_per_context", KIND_INT, AT(pool.max_host_calls_per_context)},
    {"heap_check_request_interval", KIND_INT, AT(pool.heap_check_request_interval)},
    {"heap_check_time_interval_ms", KIND_INT, AT(pool.heap_check_time_interval_ms)},
    {"heap_limit_bytes", KIND_U64, AT(pool.heap_limit_bytes)},
    {"heap_growth_ratio", KIND_DOUBLE, AT(pool.heap_growth_ratio)},
    {"cpu_limit_ms", KIND_LIMIT, AT(cpu_limit_ms)},
    {"wall_limit_ms", KIND_LIMIT, AT(wall_limit_ms)},
    {"cpu_share", KIND_DOUBLE, AT(pool.cpu_share)},
    {"cpu_share_window_ms", KIND_INT, AT(pool.cpu_share_window_ms)},
    {"memory_limit_bytes", KIND_U64, AT(memory_limit_bytes)},
    {"max_cpu_limit_ms", KIND_LIMIT, AT(max_cpu_limit_ms)},
    {"max_wall_limit_ms", KIND_LIMIT, AT(max_wall_limit_ms)},
    {"max_memory_limit_bytes", KIND_LIMIT, AT(max_memory_limit_bytes)},
    {"storage_quota", KIND_U64, AT(storage_quota)},
    {"max_storage_quota", KIND_LIMIT, AT(max_storage_quota)},
    {"ws_allowed_origins", KIND_STRING, AT(ws_allowed_origins)},
    {"max_memory_bytes", KIND_U64, AT(pool.max_memory_bytes)},
    {"module_memory_limit_bytes", KIND_U64, AT(module_memory_limit_bytes)},
    {"ws_max_calls_in_flight", KIND_INT, AT(ws_max_calls_in_flight)},
    {"ws_max_queued_bytes", KIND_U64, AT(ws_max_queued_bytes)},
    {"ws_max_total_queued_bytes", KIND_U64, AT(ws_max_total_queued_bytes)},
    {"data_dir", KIND_STRING, AT(data_dir)},
    {"store_durability", KIND_DURABILITY, AT(store_durability)},
    {"store_max_rows_per_call", KIND_U64, AT(store_max_rows_per_call)},
    {"store_max_bytes_per_call", KIND_U64, AT(store_max_bytes_per_call)},
    {"store_max_file_bytes", KIND_U64, AT(store_max_file_bytes)},
    {"egress_allow", KIND_STRING, AT(egress_allow)},
    {"egress_allow_loopback", KIND_INT, AT(egress_allow_loopback)},
    {"egress_allow_private", KIND_INT, AT(egress_allow_private)},
    {"egress_max_requests", KIND_INT, AT(egress_max_requests)},
    {"egress_max_response_bytes", KIND_U64, AT(egress_max_response_bytes)},
    {"egress_timeout_ms", KIND_LIMIT, AT(egress_timeout_ms)},
    {"egress_ca_file", KIND_STRING, AT(egress_ca_file)},
};

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static char *keep(server_options *o, const char *text)
{
    if (o->owned_count == sizeof(o->owned) / sizeof(o->owned[0]))
        return NULL;
    char *copy = strdup(text);
    if (copy)
        o->owned[o->owned_count++] = copy;
    return copy;
}

/* Sets one key; returns NULL or what is wrong. */
static const char *set_key(server_options *o, const key_spec *k, char *value)
{
    char *field = (char *)o + k->offset;
    char *end = NULL;
    errno = 0;
    switch (k->kind) {
    case KIND_STRING: {
        char *copy = keep(o, value);
        if (!copy)
            return "too many strings";
        *(const char **)field = copy;
        return NULL;
    }
    case KIND_MODULES: {
        static const char *list[32];
        size_t count = 0;
        for (char *save = NULL, *part = strtok_r(value, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
            if (count == 32)
                return "more than 32 modules";
            if (!(list[count++] = keep(o, trim(part))))
                return "too many strings";
        }
        o->modules = list;
        o->module_count = count;
        return NULL;
    }
    case KIND_BOOL_LOG:
        if (strcmp(value, "logfmt") != 0 && strcmp(value, "json") != 0)
            return "log_format is logfmt or json";
        *(int *)field = strcmp(value, "json") == 0;
        return NULL;
    case KIND_DURABILITY:
        if (server_durability_parse(value, (int *)field) != 0)
            return "store_durability is disk or process";
        return NULL;
    case KIND_DOUBLE: {
        double d = strtod(value, &end);
        if (*end || end == value || errno)
            return "not a number";
        *(double *)field = d;
        return NULL;
    }
    case KIND_LIMIT: /* a positive number, or "none" / -1 for no limit (operators only) */
        if (strcmp(value, "none") == 0) {
            *(long *)field = -1;
            return NULL;
        }
        /* fall through */
    default: {
        long long n = strtoll(value, &end, 10);
        if (*end || end == value || errno)
            return "not an integer";
        if (k->kind == KIND_INT && (n < -1 || n > 0x7fffffff))
            return "out of range";
        if (k->kind == KIND_LIMIT && (n == 0 || n < -1))
            return "must be a positive number, or none (-1)";
        if ((k->kind == KIND_U64 || k->kind == KIND_SIZE) && n < 0)
            return "must not be negative";
        if (k->kind == KIND_INT)
            *(int *)field = (int)n;
        else if (k->kind == KIND_LIMIT)
            *(long *)field = (long)n;
        else if (k->kind == KIND_U64)
            *(uint64_t *)field = (uint64_t)n;
        else
            *(size_t *)field = (size_t)n;
        return NULL;
    }
    }
}

bool server_config_load(const char *path, server_options *o, char *error, size_t error_len)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(error, error_len, "%s: %s", path, strerror(errno));
        return false;
    }
    char line[4096];
    int number = 0;
    bool is_ok = true;
    while (is_ok && fgets(line, sizeof(line), f)) {
        number++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *text = trim(line);
        if (!*text)
            continue;
        char *equals = strchr(text, '=');
        if (!equals) {
            snprintf(error, error_len, "%s:%d: expected key = value", path, number);
            is_ok = false;
            break;
        }
        *equals = '\0';
        char *key = trim(text), *value = trim(equals + 1);
        const key_spec *k = NULL;
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && !k; i++)
            if (strcmp(keys[i].name, key) == 0)
                k = &keys[i];
        const char *problem = !k ? "unknown key" : !*value ? "empty value" : set_key(o, k, value);
        if (problem) {
            snprintf(error, error_len, "%s:%d: %s: %s", path, number, key, problem);
            is_ok = false;
        }
    }
    fclose(f);
    return is_ok;
}

void server_options_free(server_options *o)
{
    for (size_t i = 0; i < o->owned_count; i++)
        free(o->owned[i]);
    o->owned_count = 0;
}

int server_durability_parse(const char *text, int *out)
{
    if (strcmp(text, "disk") == 0)
        *out = JSP_DURABLE_DISK;
    else if (strcmp(text, "process") == 0)
        *out = JSP_DURABLE_PROCESS;
    else
        return -1;
    return 0;
}
