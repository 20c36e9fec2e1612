/* resolver.c — src/runtime/resolver.c across threads, as a plain program for TSan: lookups
 * answered by their threads while the loop starts, cancels and closes others. A fake
 * getaddrinfo (the test hook) answers 127.0.0.1 after 0-2 ms; every third lookup is
 * cancelled at once, so answers race their cancels. Checks that each lookup ends exactly
 * once (done, or gone after a cancel) and that none is left in flight. */
#include "runtime/resolver.h"

#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <uv.h>

enum { LOOKUPS = 300 };

static int done_count, gone_count, failed_count, refused_count;

static int fake_getaddrinfo(const char *host, const char *port, const struct addrinfo *hints, struct addrinfo **res)
{
    (void)host;
    static atomic_uint calls;
    struct timespec pause = {0, (long)(atomic_fetch_add(&calls, 1) * 7919u % 2000u) * 1000};
    nanosleep(&pause, NULL);
    return getaddrinfo("127.0.0.1", port, hints, res);
}

static void on_done(void *data, int status, struct addrinfo *res)
{
    (void)data;
    done_count++;
    failed_count += status != 0 || !res;
    if (res)
        freeaddrinfo(res);
}

static void on_gone(void *data)
{
    (void)data;
    gone_count++;
}

int main(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    resolver_set_getaddrinfo_for_test(fake_getaddrinfo);
    int started = 0, cancelled = 0;
    for (int i = 0; i < LOOKUPS; i++) {
        char why[200];
        resolver_lookup *l = resolver_start(&loop, "example.test", 80 + i % 7, on_done, NULL, why, sizeof(why));
        if (!l) { /* the process's cap: let some finish */
            refused_count++;
            uv_run(&loop, UV_RUN_ONCE);
            continue;
        }
        started++;
        if (i % 3 == 0) {
            resolver_cancel(l, on_gone, NULL);
            cancelled++;
        }
        if (i % 10 == 0)
            uv_run(&loop, UV_RUN_NOWAIT);
    }
    uv_run(&loop, UV_RUN_DEFAULT); /* until every lookup's handle is closed */
    int left = resolver_in_flight();
    resolver_set_getaddrinfo_for_test(NULL);
    uv_loop_close(&loop);
    printf("resolver: %d started (%d cancelled), %d done, %d gone, %d failed, %d refused at the cap, %d left\n",
           started, cancelled, done_count, gone_count, failed_count, refused_count, left);
    if (done_count != started - cancelled || gone_count != cancelled || failed_count || left) {
        fprintf(stderr, "resolver: each lookup must end exactly once\n");
        return 1;
    }
    return 0;
}
