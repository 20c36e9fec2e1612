/* Spare globals: a runtime builds a few contexts' globals ahead while idle, for the API
 * groups the last context asked for (engine_vm_prepare_spare). What a tenant must see is
 * what a global made on demand gives: nothing of any earlier tenant, exactly its own
 * groups, working natives, and the same global names. Each test lets the runtime idle
 * (50 ms) before creating, so the contexts it checks come from the stock. A creator takes
 * a spare without waiting for the runtime (runtime.c): the context is usable at once, its
 * limits hold from its first call, and a busy runtime does not hold the creator up. */
#include "support/support.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

SUITE_POOL(1)

TestSuite(spare_globals, .init = suite_pool_setup, .fini = suite_pool_teardown, .timeout = 60);

static jsp_context *with_apis(const char *apis)
{
    jsp_context_config cfg = {.apis = apis};
    return context_with(pool, &cfg);
}

Test(spare_globals, a_context_sees_nothing_an_earlier_tenant_left)
{
    jsp_context *first = with_apis(NULL);
    free(eval_ok(first, "globalThis.leak = 'secret'; Object.prototype.polluted = 1;"
                        "Array.prototype.push = () => 0; setTimeout(() => {}, 1); 0"));
    sleep_ms(50); /* idle: spares are built for the default groups */
    for (int i = 0; i < 6; i++) { /* more than the stock: spares, then made on demand */
        jsp_context *next = with_apis(NULL);
        expect_eval(next, "[typeof leak, ({}).polluted, [1].push(2)]", "[\"undefined\",null,2]");
        jsp_context_free(next);
    }
    jsp_context_free(first);
}

Test(spare_globals, a_context_gets_exactly_the_groups_it_asked_for)
{
    jsp_context *all = with_apis("all");
    sleep_ms(50); /* spares are built for "all" */
    jsp_context *bare = with_apis("none");
    expect_eval(bare, "[typeof TextEncoder, typeof setTimeout, typeof console]",
                "[\"undefined\",\"undefined\",\"undefined\"]");
    sleep_ms(50); /* spares follow the last request: "none" */
    jsp_context *full = with_apis("all");
    expect_eval(full, "[typeof TextEncoder, typeof setTimeout, typeof URL]", "[\"function\",\"function\",\"function\"]");
    jsp_context *full_again = with_apis("all");
    expect_eval(full_again, "new TextEncoder().encode('hé').length", "3");
    jsp_context_free(all);
    jsp_context_free(bare);
    jsp_context_free(full);
    jsp_context_free(full_again);
}

static char *globals_of(jsp_context *ctx)
{
    jsp_result *r = NULL;
    cr_assert_eq(jsp_globals_list(ctx, &r), 0);
    char *json = strdup(r->json);
    jsp_result_free(r);
    return json;
}

Test(spare_globals, a_context_from_the_stock_has_the_same_globals_and_working_natives)
{
    jsp_context *made = with_apis(NULL); /* on demand: the stock is empty at first */
    char *expected = globals_of(made);
    sleep_ms(50);
    jsp_context *taken = with_apis(NULL);
    char *got = globals_of(taken);
    cr_expect_str_eq(got, expected);
    /* its natives find it: a timer fires in it and console logs under its id */
    free(eval_ok(taken, "setTimeout(() => { globalThis.fired = true; console.log('from the stock'); }, 1); 0"));
    cr_expect(eval_until(taken, "globalThis.fired === true", "true", 2000));
    cr_expect(collector_has(&logs, "from the stock"));
    free(expected);
    free(got);
    jsp_context_free(made);
    jsp_context_free(taken);
}

/* A busy runtime (one thread, a call spinning 600 ms) does not hold up a creation that
 * finds a spare: it returns at once, and the new context's first call runs after the
 * busy one, under its own limits. */
Test(spare_globals, a_creator_takes_a_spare_without_waiting_for_a_busy_runtime)
{
    jsp_context *busy = with_apis(NULL);
    sleep_ms(50); /* spares for the default groups */
    later_eval *spin = eval_later(busy, "const end = Date.now() + 600; while (Date.now() < end); 1");
    sleep_ms(50); /* the spin runs */
    uint64_t start = now_ms();
    jsp_context_config cfg = {.cpu_limit_ms = 50, .wall_limit_ms = 5000};
    jsp_context *quick = context_with(pool, &cfg);
    uint64_t took = now_ms() - start;
    cr_expect_lt(took, 300, "creation waited %llu ms for the busy runtime", (unsigned long long)took);
    jsp_result *r = NULL;
    cr_expect_eq(jsp_eval(quick, "for (;;);", -1, &r), JSP_ECPU_LIMIT); /* limits from the first call */
    jsp_result_free(r);
    expect_eval(quick, "typeof setTimeout + typeof console.log", "\"functionfunction\"");
    cr_expect(later_is_done(spin, 5000));
    later_free(spin);
    jsp_context_free(quick);
    jsp_context_free(busy);
}

/* Freed the moment it exists (its creation job may not have run yet): nothing leaks
 * (the sanitizers check), and its name is free again at once. */
Test(spare_globals, a_context_freed_before_its_runtime_took_its_spare)
{
    jsp_context *first = with_apis(NULL);
    sleep_ms(50);
    for (int i = 0; i < 8; i++) {
        jsp_context_config cfg = {.name = "short-lived"};
        jsp_context *ctx = context_with(pool, &cfg);
        jsp_context_free(ctx);
    }
    expect_eval(first, "1 + 1", "2");
    jsp_context_free(first);
}
