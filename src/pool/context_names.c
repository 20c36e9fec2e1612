/* context_names.c — see context_names.h. The rules keep a name addressable as one URL
 * path segment of the server without escaping (`/v1/contexts/{name}`), unambiguous next
 * to ids, and free of look-alike or reordering characters (bidi overrides, controls). */
#include "pool/context_names.h"
#include "runtime/runtime.h"
#include "util/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct context_name_entry {
    context_name_entry *next;
    struct jsp_context *ctx; /* its name is ctx->name, alive as long as the entry */
};

static void say(char *why, size_t why_len, const char *message)
{
    if (why && why_len)
        snprintf(why, why_len, "%s", message);
}

static bool is_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

static bool is_all_digits(const char *s)
{
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

int jsp_context_name_check(const char *name, char *why, size_t why_len)
{
    if (why && why_len)
        why[0] = '\0';
    if (!name) {
        say(why, why_len, "name is NULL");
        return JSP_EINVAL;
    }
    size_t len = strnlen(name, CONTEXT_NAME_MAX + 1); /* never scans a huge name */
    if (len == 0) {
        say(why, why_len, "name is empty (1 to 64 bytes)");
        return JSP_EINVAL;
    }
    if (len > CONTEXT_NAME_MAX) {
        say(why, why_len, "name is longer than 64 bytes");
        return JSP_EINVAL;
    }
    if (!utf8_is_valid(name, len)) {
        say(why, why_len, "name is not valid UTF-8");
        return JSP_EUTF8;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!is_name_char(c)) {
            char shown[8];
            if (c > 0x20 && c < 0x7f)
                snprintf(shown, sizeof(shown), "'%c'", c);
            else
                snprintf(shown, sizeof(shown), "0x%02x", c);
            if (why && why_len)
                snprintf(why, why_len, "name has the byte %s at offset %zu: only letters A-Z a-z, "
                         "digits, '.', '_' and '-' are allowed", shown, i);
            return JSP_EINVAL;
        }
    }
    if (is_all_digits(name)) {
        say(why, why_len, "name is all digits, which would be read as a context id");
        return JSP_EINVAL;
    }
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        say(why, why_len, "name is '.' or '..', which a URL path cannot address");
        return JSP_EINVAL;
    }
    if (strncmp(name, "ctx-", 4) == 0 && name[4] && is_all_digits(name + 4)) {
        say(why, why_len, "names of the form ctx-<digits> are reserved for unnamed contexts");
        return JSP_EINVAL;
    }
    return 0;
}

static size_t bucket_of(const char *name)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211u;
    return (size_t)(h % CONTEXT_NAME_BUCKETS);
}

int context_names_init(context_names *t)
{
    memset(t->buckets, 0, sizeof(t->buckets));
    return pthread_mutex_init(&t->lock, NULL) == 0 ? 0 : JSP_ESYSTEM;
}

void context_names_destroy(context_names *t)
{
    for (size_t i = 0; i < CONTEXT_NAME_BUCKETS; i++) /* empty by now: every handle released */
        while (t->buckets[i]) {
            context_name_entry *e = t->buckets[i];
            t->buckets[i] = e->next;
            free(e);
        }
    pthread_mutex_destroy(&t->lock);
}

int context_names_claim(context_names *t, struct jsp_context *ctx)
{
    context_name_entry **bucket = &t->buckets[bucket_of(ctx->name)];
    context_name_entry *fresh = malloc(sizeof(*fresh));
    if (!fresh)
        return JSP_ENOMEM;
    int rc = 0;
    pthread_mutex_lock(&t->lock);
    for (context_name_entry *e = *bucket; e && rc == 0; e = e->next)
        if (strcmp(e->ctx->name, ctx->name) == 0)
            rc = JSP_EEXIST;
    if (rc == 0) {
        fresh->ctx = ctx;
        fresh->next = *bucket;
        *bucket = fresh;
        fresh = NULL;
    }
    pthread_mutex_unlock(&t->lock);
    free(fresh);
    return rc;
}

void context_names_release(context_names *t, struct jsp_context *ctx)
{
    if (!ctx->name)
        return;
    context_name_entry *gone = NULL;
    pthread_mutex_lock(&t->lock);
    for (context_name_entry **at = &t->buckets[bucket_of(ctx->name)]; *at; at = &(*at)->next)
        if ((*at)->ctx == ctx) {
            gone = *at;
            *at = gone->next;
            break;
        }
    pthread_mutex_unlock(&t->lock);
    free(gone);
}
