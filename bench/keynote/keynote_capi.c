/* keynote_capi — keynote-2's transfer workload through the C API, no network: the ceiling
 * the server's transports sit under.
 *
 *   keynote_capi [--module examples/bank.js] [--data DIR] [--inflight 2560] [--accounts 100000]
 *                [--balance 1000000000] [--alpha 0] [--seconds 10] [--warmup 3] [--seed N]
 *                [--pairs 10000000]
 *
 * One pool with default configuration, one context "bank" with the module loaded by
 * jsp_load_module_named; with --data its store is DIR/bank.jspdb, durable before the done
 * callback (KEYNOTE_ACK_BEFORE_FLUSH=1 in the environment: acknowledged before the flush,
 * JSP_DURABLE_PROCESS, to show what durability costs). Seeding: seed(first, count, balance) in chunks of 10,000; a module without
 * `seed` (today's in-heap bank.js) gets open(String(i), balance) per account. Then K calls
 * to transfer("<from>", "<to>", 1) stay in flight (--inflight, default 64 × 40 as the network
 * run), each done callback issuing the next from keynote-2's pair list (keynote_pairs.h).
 * TPS = transfers acknowledged without error inside the window after the warm-up; p50/p99
 * from jsp_call_async to its done callback. audit() is checked at the end. One JSON line on
 * stdout. */
#include "keynote_pairs.h"
#include "../bench_common.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/resource.h>

typedef struct options {
    const char *module, *data;
    int inflight, seconds, warmup;
    uint32_t accounts, seed;
    double alpha, balance;
    size_t pairs;
} options;

static options opt;
static jsp_context *ctx;
static keynote_pairs pairs;
static uint64_t *sent_ns; /* per slot */
static size_t cursor;     /* next pair; only the context's runtime thread moves it */
static atomic_bool sending, measuring;
static atomic_int outstanding;
static atomic_uint_fast64_t window_end_ns;
static uint64_t acked, errors, errors_total; /* runtime thread while running */
static uint64_t *lat;
static size_t nlat, lat_cap;
static char first_error[512];

static void die(const char *what)
{
    fprintf(stderr, "keynote_capi: %s\n", what);
    exit(1);
}

static void issue(size_t slot);

static void on_done(jsp_result *r, void *user)
{
    size_t slot = (size_t)(uintptr_t)user;
    uint64_t now = bench_now_ns();
    bool ok = r->code == 0;
    if (!ok) {
        errors_total++;
        if (!first_error[0])
            snprintf(first_error, sizeof first_error, "%s: %s", r->error_name, r->error_message);
    }
    if (atomic_load(&measuring) && now < atomic_load(&window_end_ns)) {
        if (!ok) {
            errors++;
        } else {
            acked++;
            if (nlat == lat_cap) {
                lat_cap = lat_cap ? lat_cap * 2 : 1 << 20;
                lat = realloc(lat, lat_cap * sizeof *lat);
                if (!lat)
                    die("out of memory");
            }
            lat[nlat++] = now - sent_ns[slot];
        }
    }
    jsp_result_free(r);
    if (atomic_load(&sending))
        issue(slot);
    else
        atomic_fetch_sub(&outstanding, 1);
}

static void issue(size_t slot)
{
    if (cursor >= pairs.count)
        cursor = 0;
    char args[64];
    int n = snprintf(args, sizeof args, "[\"%u\",\"%u\",1]", pairs.from[cursor], pairs.to[cursor]);
    cursor++;
    sent_ns[slot] = bench_now_ns();
    int rc = jsp_call_async(ctx, "transfer", args, n, on_done, (void *)(uintptr_t)slot);
    if (rc != 0) {
        errors_total++;
        if (!first_error[0])
            snprintf(first_error, sizeof first_error, "jsp_call_async: %s", jsp_strerror(rc));
        atomic_fetch_sub(&outstanding, 1);
    }
}

static char *read_file(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)*len + 1);
    if (text && fread(text, 1, (size_t)*len, f) != (size_t)*len) {
        free(text);
        text = NULL;
    }
    if (text)
        text[*len] = 0;
    fclose(f);
    return text;
}

/* jsp_call; on error prints the message and returns the code. */
static int call(const char *fn, const char *args, jsp_result **out)
{
    jsp_result *r = NULL;
    int rc = jsp_call(ctx, fn, args, (long)strlen(args), &r);
    if (rc != 0 && rc != JSP_ENOTFOUND)
        fprintf(stderr, "keynote_capi: %s(%s): %s: %s\n", fn, args, r ? r->error_name : "",
                r ? r->error_message : jsp_strerror(rc));
    if (out)
        *out = r;
    else
        jsp_result_free(r);
    return rc;
}

static void seed(void)
{
    char args[128];
    for (uint32_t first = 0; first < opt.accounts; first += 10000) {
        uint32_t count = opt.accounts - first < 10000 ? opt.accounts - first : 10000;
        snprintf(args, sizeof args, "[%u,%u,%.0f]", first, count, opt.balance);
        int rc = call("seed", args, NULL);
        if (rc == JSP_ENOTFOUND)
            break;
        if (rc != 0)
            die("seed failed");
        if (first + count == opt.accounts)
            return;
    }
    fprintf(stderr, "keynote_capi: the module has no seed(); opening accounts one by one\n");
    for (uint32_t i = 0; i < opt.accounts; i++) {
        snprintf(args, sizeof args, "[\"%u\",%.0f]", i, opt.balance);
        if (call("open", args, NULL) != 0)
            die("open failed");
    }
}

static void parse_options(int argc, char **argv)
{
    opt = (options){.module = "examples/bank.js", .inflight = 64 * 40, .accounts = 100000,
                    .balance = 1e9, .seconds = 10, .warmup = 3, .seed = KEYNOTE_DEFAULT_SEED,
                    .pairs = 10000000};
    static const struct option longs[] = {
        {"module", required_argument, 0, 'm'},  {"data", required_argument, 0, 'd'},
        {"inflight", required_argument, 0, 'i'}, {"accounts", required_argument, 0, 'a'},
        {"balance", required_argument, 0, 'b'}, {"alpha", required_argument, 0, 'z'},
        {"seconds", required_argument, 0, 's'}, {"warmup", required_argument, 0, 'w'},
        {"seed", required_argument, 0, 'r'},    {"pairs", required_argument, 0, 'p'},
        {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'm': opt.module = optarg; break;
        case 'd': opt.data = optarg; break;
        case 'i': opt.inflight = atoi(optarg); break;
        case 'a': opt.accounts = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'b': opt.balance = strtod(optarg, NULL); break;
        case 'z': opt.alpha = strtod(optarg, NULL); break;
        case 's': opt.seconds = atoi(optarg); break;
        case 'w': opt.warmup = atoi(optarg); break;
        case 'r': opt.seed = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'p': opt.pairs = strtoull(optarg, NULL, 10); break;
        default:
            fprintf(stderr, "usage: see the comment at the top of keynote_capi.c\n");
            exit(2);
        }
    }
    if (opt.inflight < 1 || opt.inflight > 9000 || opt.accounts < 2 || opt.seconds < 1 ||
        opt.warmup < 0 || opt.pairs < 1 || !(opt.alpha >= 0))
        die("an option is out of range (inflight 1..9000: the context's queue holds 10000)");
}

int main(int argc, char **argv)
{
    parse_options(argc, argv);
    if (keynote_pairs_make(&pairs, opt.accounts, opt.alpha, opt.seed, opt.pairs) != 0)
        die("cannot draw the pairs");
    long src_len = 0;
    char *src = read_file(opt.module, &src_len);
    if (!src)
        die("cannot read the module (run from the repository root or pass --module)");

    jsp_pool_config pcfg = {0};
    pcfg.log = bench_log_quietly;
    jsp_pool *pool = NULL;
    if (jsp_pool_new(&pcfg, &pool) != 0)
        die("jsp_pool_new failed");
    jsp_context_config ccfg = {0};
    ccfg.name = "bank";
    char store_path[4096] = "";
    if (opt.data) {
        snprintf(store_path, sizeof store_path, "%s/bank.jspdb", opt.data);
        ccfg.store_path = store_path;
        ccfg.store_durability = getenv("KEYNOTE_ACK_BEFORE_FLUSH") ? JSP_DURABLE_PROCESS : JSP_DURABLE_DISK;
    }
    int rc = jsp_context_new(pool, &ccfg, &ctx);
    if (rc != 0) {
        fprintf(stderr, "keynote_capi: jsp_context_new: %s\n", jsp_strerror(rc));
        return 1;
    }
    jsp_result *r = NULL;
    rc = jsp_load_module_named(ctx, src, src_len, opt.module, &r);
    if (rc != 0) {
        fprintf(stderr, "keynote_capi: load: %s\n", r ? r->error_message : jsp_strerror(rc));
        return 1;
    }
    jsp_result_free(r);
    uint64_t t0 = bench_now_ns();
    seed();
    fprintf(stderr, "keynote_capi: seeded %u accounts in %.2f s%s%s\n", opt.accounts,
            (double)(bench_now_ns() - t0) / 1e9, store_path[0] ? " into " : " (no store)",
            store_path);

    sent_ns = calloc((size_t)opt.inflight, sizeof *sent_ns);
    if (!sent_ns)
        die("out of memory");
    atomic_store(&window_end_ns, UINT64_MAX);
    atomic_store(&sending, true);
    atomic_store(&outstanding, opt.inflight);
    /* The first K calls come from this thread; cursor is then only moved by the runtime
     * thread, but the first callbacks may already run: hand out the first K pairs here. */
    cursor = (size_t)opt.inflight % pairs.count;
    for (int i = 0; i < opt.inflight; i++) {
        char args[64];
        int n = snprintf(args, sizeof args, "[\"%u\",\"%u\",1]", pairs.from[i % pairs.count],
                         pairs.to[i % pairs.count]);
        sent_ns[i] = bench_now_ns();
        if (jsp_call_async(ctx, "transfer", args, n, on_done, (void *)(uintptr_t)i) != 0)
            die("jsp_call_async refused the first calls");
    }
    /* cursor: only on_done moves it from here on; its first read happens-after the runtime
     * thread dequeued a call we queued after this store (the queue's lock orders them). */
    bench_sleep_ms(opt.warmup * 1000L);
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    uint64_t w0 = bench_now_ns();
    atomic_store(&window_end_ns, w0 + (uint64_t)opt.seconds * 1000000000u);
    atomic_store(&measuring, true);
    bench_sleep_ms(opt.seconds * 1000L);
    uint64_t w1 = bench_now_ns();
    getrusage(RUSAGE_SELF, &ru1);
    atomic_store(&sending, false);
    while (atomic_load(&outstanding) > 0 && bench_now_ns() - w1 < 10000000000u)
        bench_sleep_ms(5);

    char audit_text[512] = "";
    bool audit_ok = false;
    if (call("audit", "[]", &r) == 0) {
        snprintf(audit_text, sizeof audit_text, "%s", r->json);
        double n = 0, total = 0;
        const char *a = strstr(r->json, "\"accounts\":"), *t = strstr(r->json, "\"total\":");
        if (a && t) {
            n = strtod(a + 11, NULL);
            total = strtod(t + 8, NULL);
            audit_ok = n == opt.accounts && total == opt.accounts * opt.balance;
        }
    }
    jsp_result_free(r);

    double wall = (double)(w1 - w0) / 1e9;
    double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
                 (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
                 (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
                 (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
    qsort(lat, nlat, sizeof *lat, bench_compare_u64);
    double load[3] = {0};
    getloadavg(load, 3);
    printf("{\"system\":\"jspool-capi\",\"store\":%s,\"alpha\":%g,\"inflight\":%d,"
           "\"accounts\":%u,\"seconds\":%d,\"warmup\":%d,\"tps\":%.0f,\"acked\":%" PRIu64 ","
           "\"errors\":%" PRIu64 ",\"errors_total\":%" PRIu64 ",\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
           "\"process_cpu_cores\":%.2f,\"loadavg1\":%.2f,\"invariant_ok\":%s}\n",
           store_path[0] ? "true" : "false", opt.alpha, opt.inflight, opt.accounts, opt.seconds,
           opt.warmup, (double)acked / wall, acked, errors, errors_total,
           (double)bench_percentile(lat, nlat, 0.50) / 1e6,
           (double)bench_percentile(lat, nlat, 0.99) / 1e6, cpu / wall, load[0],
           bench_bool(audit_ok));
    if (first_error[0])
        fprintf(stderr, "keynote_capi: first error: %s\n", first_error);
    if (!audit_ok)
        fprintf(stderr, "keynote_capi: audit failed: %s\n", audit_text);
    jsp_context_free(ctx);
    jsp_pool_free(pool);
    free(src);
    free(sent_ns);
    free(lat);
    keynote_pairs_free(&pairs);
    return audit_ok ? 0 : 4;
}
