/* fuzz_apis_resolve — the argument parsing a client or operator reaches with text:
 * jsp_apis_resolve (the `apis` string of a context, from the C API and from POST
 * /v1/contexts) and the server's config file parser (server_config_load, fed through a
 * memfd). The first input byte picks the parser and, for apis, the output buffer size.
 * Oracles, apis: the output is NUL-terminated inside the buffer whatever its size; a
 * truncated answer is a prefix of the full one; a resolved list names only known groups,
 * and resolving it again (without the internal groups it added) gives it back.
 * Config: a success leaves every field in range and owned strings freed by
 * server_options_free (LeakSanitizer); a failure says "FILE:LINE: ...". */
#include "jspool.h"
#include "server/server.h"

#include "fuzz_support.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Public group names (docs/apis.md) and the internal one jsp_apis_resolve may add. */
static const char *const public_groups[] = {
    "console", "timers", "events", "encoding", "structured-clone", "buffer", "channel",
    "worker", "crypto", "locks", "streams", "compression", "url", "performance", "navigator",
    "storage", "fetch", "dom", "websocket", "eventsource", NULL,
};

static bool is_public(const char *name, size_t len)
{
    for (const char *const *g = public_groups; *g; g++)
        if (strlen(*g) == len && memcmp(*g, name, len) == 0)
            return true;
    return false;
}

/* The list without internal groups, as a string that resolves to the same set. */
static void public_only(const char *list, char *out, size_t out_len)
{
    size_t n = 0;
    out[0] = '\0';
    for (const char *at = list; *at;) {
        size_t len = strcspn(at, ",");
        CHECK(len > 0);
        if (is_public(at, len)) {
            CHECK(n + len + 2 < out_len);
            n += (size_t)snprintf(out + n, out_len - n, "%s%.*s", n ? "," : "", (int)len, at);
        } else {
            CHECK(len == strlen("domexception") && memcmp(at, "domexception", len) == 0);
        }
        at += len + (at[len] == ',');
    }
}

static void fuzz_apis(const char *spec, size_t out_len)
{
    char full[1024], small[128], again[1024], pub[1024];
    int rc = jsp_apis_resolve(spec, full, sizeof(full));
    CHECK(rc == 0 || rc == JSP_EINVAL);
    CHECK(memchr(full, '\0', sizeof(full)));
    memset(small, 'x', sizeof(small));
    int rc_small = jsp_apis_resolve(spec, small, out_len);
    CHECK(rc_small == rc);
    for (size_t i = out_len; i < sizeof(small); i++)
        CHECK(small[i] == 'x'); /* nothing written past out_len */
    if (out_len) {
        CHECK(memchr(small, '\0', out_len));
        CHECK(strncmp(small, full, strlen(small)) == 0);
    }
    if (rc != 0)
        return;
    public_only(full, pub, sizeof(pub));
    CHECK(jsp_apis_resolve(*pub ? pub : "none", again, sizeof(again)) == 0);
    CHECK(strcmp(again, full) == 0);
}

static void fuzz_config(const char *text, size_t len)
{
    int fd = memfd_create("jspool.conf", 0);
    CHECK(fd >= 0);
    CHECK(write(fd, text, len) == (ssize_t)len);
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    server_options o;
    memset(&o, 0, sizeof(o));
    char error[512];
    error[0] = '\0';
    if (server_config_load(path, &o, error, sizeof(error))) {
        CHECK(o.module_count <= 32);
        CHECK(o.owned_count <= 64);
        CHECK(o.module_count == 0 || o.modules);
        for (size_t i = 0; i < o.module_count; i++)
            CHECK(o.modules[i]);
        CHECK(o.threads >= -1);
    } else {
        CHECK(strncmp(error, path, strlen(path)) == 0 && error[strlen(path)] == ':');
    }
    server_options_free(&o);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char *text = malloc(size);
    CHECK(text);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (data[0] & 0x80)
        fuzz_config(text, size - 1);
    else
        fuzz_apis(text, data[0] & 0x7f);
    free(text);
    return 0;
}
