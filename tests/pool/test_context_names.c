/* Context names: the rules (length, characters, UTF-8, not a number, reserved forms) are
 * checked at jsp_context_new with the broken rule named by jsp_context_name_check; a name
 * is unique among the pool's live contexts, free again once its context is destroyed, and
 * two threads racing for one name get it once. Workers keep their derived names. */
#include "support/support.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

SUITE_POOL(2)

TestSuite(context_names, .init = suite_pool_setup, .fini = suite_pool_teardown, .timeout = 60);

static int create_named(const char *name, jsp_context **out)
{
    jsp_context_config cfg = {.name = name, .apis = "console,timers,worker"};
    return jsp_context_new(pool, &cfg, out);
}

/* The name is refused with code by both the check (naming the rule) and jsp_context_new. */
static void expect_refused(const char *name, int code, const char *rule)
{
    char why[200];
    cr_expect_eq(jsp_context_name_check(name, why, sizeof(why)), code, "check of '%s'", name);
    cr_expect(strstr(why, rule), "why '%s' lacks '%s'", why, rule);
    jsp_context *ctx = (jsp_context *)1;
    cr_expect_eq(create_named(name, &ctx), code, "jsp_context_new with '%s'", name);
    cr_expect_null(ctx);
}

Test(context_names, names_breaking_a_rule_are_refused_with_the_rule_named)
{
    char long_name[66];
    memset(long_name, 'a', 65);
    long_name[65] = '\0';
    char *huge = malloc(100001); /* the 100 KB name of the report */
    memset(huge, 'x', 100000);
    huge[100000] = '\0';
    expect_refused("", JSP_EINVAL, "empty");
    expect_refused(long_name, JSP_EINVAL, "longer than 64 bytes");
    expect_refused(huge, JSP_EINVAL, "longer than 64 bytes");
    expect_refused("a/b", JSP_EINVAL, "'/'");
    expect_refused("a b", JSP_EINVAL, "0x20");
    expect_refused("tab\there", JSP_EINVAL, "0x09");
    expect_refused("evil\xe2\x80\xaegnp.exe", JSP_EINVAL, "0xe2"); /* U+202E RIGHT-TO-LEFT OVERRIDE */
    expect_refused("caf\xc3\xa9", JSP_EINVAL, "only letters");
    expect_refused("bad\xff", JSP_EUTF8, "not valid UTF-8");
    expect_refused("\xc0\xaf", JSP_EUTF8, "not valid UTF-8");  /* overlong '/' */
    expect_refused("5", JSP_EINVAL, "all digits");
    expect_refused("00012", JSP_EINVAL, "all digits");
    expect_refused(".", JSP_EINVAL, "'..'");
    expect_refused("..", JSP_EINVAL, "'..'");
    expect_refused("ctx-7", JSP_EINVAL, "reserved");
    cr_expect_eq(jsp_context_name_check(NULL, NULL, 0), JSP_EINVAL);
    free(huge);
}

Test(context_names, names_following_the_rules_are_accepted_and_kept)
{
    char longest[65];
    memset(longest, 'z', 64);
    longest[64] = '\0';
    const char *const good[] = {"bank", "a.b_c-D9", "5a", "ctx-", "ctx-a1", "...", "-", longest};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char why[200] = "untouched";
        cr_expect_eq(jsp_context_name_check(good[i], why, sizeof(why)), 0, "'%s': %s", good[i], why);
        cr_expect_str_eq(why, "");
        jsp_context *ctx = NULL;
        cr_assert_eq(create_named(good[i], &ctx), 0, "'%s'", good[i]);
        cr_expect_str_eq(jsp_context_name(ctx), good[i]);
        jsp_context_free(ctx);
    }
}

Test(context_names, a_name_is_unique_until_its_context_is_destroyed)
{
    jsp_context *first = NULL, *second = NULL, *third = NULL;
    cr_assert_eq(create_named("billing", &first), 0);
    cr_expect_eq(create_named("billing", &second), JSP_EEXIST);
    cr_expect_null(second);
    char *v = eval_ok(first, "'still here'"); /* the refused twin did not touch it */
    cr_expect_str_eq(v, "\"still here\"");
    free(v);
    jsp_context_destroy(first); /* handle kept: the name is free as soon as destroy returns */
    cr_assert_eq(create_named("billing", &second), 0);
    jsp_context_free(first);
    cr_expect_eq(create_named("billing", &third), JSP_EEXIST);
    jsp_context_free(second);
    cr_assert_eq(create_named("billing", &third), 0);
    jsp_context_free(third);
}

Test(context_names, unnamed_contexts_are_ctx_id_and_cannot_be_impersonated)
{
    jsp_context *plain = NULL, *impostor = NULL;
    cr_assert_eq(jsp_context_new(pool, NULL, &plain), 0);
    char name[32];
    snprintf(name, sizeof(name), "ctx-%llu", (unsigned long long)jsp_context_id(plain));
    cr_expect_str_eq(jsp_context_name(plain), name);
    cr_expect_eq(create_named(name, &impostor), JSP_EINVAL);
    jsp_context *another = NULL; /* two unnamed contexts never clash */
    cr_assert_eq(jsp_context_new(pool, NULL, &another), 0);
    jsp_context_free(another);
    jsp_context_free(plain);
}

typedef struct racer {
    pthread_t thread;
    jsp_context *ctx;
    int rc;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    r->rc = create_named("contested", &r->ctx);
    return NULL;
}

Test(context_names, threads_racing_for_one_name_get_it_once)
{
    enum { RACERS = 8 };
    racer racers[RACERS] = {{0}};
    for (int i = 0; i < RACERS; i++)
        pthread_create(&racers[i].thread, NULL, race, &racers[i]);
    int winners = 0, refused = 0;
    for (int i = 0; i < RACERS; i++) /* all done before any frees: a freed name is free again */
        pthread_join(racers[i].thread, NULL);
    for (int i = 0; i < RACERS; i++) {
        winners += racers[i].rc == 0;
        refused += racers[i].rc == JSP_EEXIST;
        jsp_context_free(racers[i].ctx);
    }
    cr_expect_eq(winners, 1);
    cr_expect_eq(refused, RACERS - 1);
}

Test(context_names, workers_of_a_named_context_still_start)
{
    jsp_context *parent = NULL;
    cr_assert_eq(create_named("parent", &parent), 0);
    for (int round = 0; round < 2; round++) { /* a second worker: derived names do not clash */
        char *v = eval_ok(parent, "new Promise((resolve, reject) => {"
                                  "  const w = new Worker('onmessage = (e) => postMessage(e.data + 1)');"
                                  "  w.onmessage = (e) => { w.terminate(); resolve(e.data) };"
                                  "  w.onerror = (e) => reject(new Error(e.message));"
                                  "  w.postMessage(41);"
                                  "})");
        cr_expect_str_eq(v, "42");
        free(v);
    }
    jsp_context_free(parent);
}
