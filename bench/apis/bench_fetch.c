/* bench_fetch.c — runs one JS snippet (argv[2]) in a context with the fetch and websocket
 * groups whose egress policy allows 127.0.0.1:PORT (argv[1]) with up to 64 requests in
 * flight, 1 GiB responses and no time limits, and prints what it evaluates to (awaited).
 * bench/apis/fetch.sh and websocket.sh run it against Node. */
#include <jspool.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench_fetch PORT SNIPPET\n");
        return 2;
    }
    char allow[64], base[96];
    snprintf(allow, sizeof(allow), "127.0.0.1:%s", argv[1]);
    snprintf(base, sizeof(base), "globalThis.BASE = 'http://127.0.0.1:%s'", argv[1]);
    jsp_pool_config pc = {.threads = 1};
    jsp_pool *pool;
    jsp_context *ctx;
    jsp_result *r = NULL;
    if (jsp_pool_new(&pc, &pool) != 0)
        return 1;
    jsp_context_config cfg = {.apis = "fetch,websocket", .cpu_limit_ms = -1, .wall_limit_ms = -1, .egress_allow = allow,
                              .egress_allow_loopback = 1, .egress_max_requests = 64,
                              .egress_max_response_bytes = (uint64_t)1 << 30, .egress_timeout_ms = -1};
    int rc = jsp_context_new(pool, &cfg, &ctx);
    if (rc == 0 && (rc = jsp_eval(ctx, base, -1, &r)) == 0) {
        jsp_result_free(r);
        rc = jsp_eval(ctx, argv[2], -1, &r);
        if (rc == 0)
            printf("%s\n", r->json);
        else
            fprintf(stderr, "bench_fetch: %s\n", r->error_message);
    }
    jsp_result_free(r);
    if (ctx)
        jsp_context_free(ctx);
    jsp_pool_free(pool);
    return rc == 0 ? 0 : 1;
}
