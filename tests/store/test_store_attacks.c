/* What a hostile tenant's module can do through `db` that outlives or escapes the limits
 * of its call (review/three). Each test states the attack and fails while it works. */
#include "support/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

TestSuite(store_attacks, .timeout = 240);

static char dir[64];
static char path[128];

static void fresh_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/jsp_store_attacks_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/ctx.jspdb", dir);
}

static void remove_dir(void)
{
    char file[160];
    const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(file, sizeof(file), "%s%s", path, suffixes[i]);
        unlink(file);
    }
    rmdir(dir);
}

static int new_store_context(jsp_pool *pool, const jsp_context_config *extra, jsp_context **ctx)
{
    jsp_context_config cfg = extra ? *extra : (jsp_context_config){0};
    cfg.store_path = path;
    return jsp_context_new(pool, &cfg, ctx);
}

static int call_code(jsp_context *ctx, const char *fn, const char *args, char *message, size_t len)
{
    jsp_result *r = NULL;
    int rc = jsp_call(ctx, fn, args, -1, &r);
    if (message)
        snprintf(message, len, "%s: %s", rc ? r->error_name : "ok", rc ? r->error_message : r->json);
    jsp_result_free(r);
    return rc;
}

static const char many_tables_module[] =
    "function tables(prefix) { const t = {};\n"
    "  for (let i = 0; i < 200; i++) t[prefix + i] = {columns: {k: 'integer'}, primaryKey: 'k'};\n"
    "  return t; }\n"
    "export function declare(prefix) { db.declare(tables(prefix)); return prefix; }\n";

/* The cap of 200 tables is checked on each declaration, not on the stored schema a
 * declaration is merged into (tables absent from it are kept): two declarations of 200
 * different tables store 400. The stored schema is then refused by the store's own parser:
 * every later declaration fails, and after a restart the context cannot be created at all
 * ("the stored schema is damaged") — a tenant bricks its store, and with it its module's
 * load, for good; meanwhile 400 tables' statements are prepared on the runtime thread. */
Test(store_attacks, declarations_cannot_push_the_stored_schema_past_the_table_cap)
{
    fresh_dir();
    jsp_pool *pool = pool_for_test(1, NULL, NULL);
    jsp_context *ctx = NULL;
    cr_assert_eq(new_store_context(pool, NULL, &ctx), 0);
    jsp_result *r = NULL;
    cr_assert_eq(jsp_load_module(ctx, many_tables_module, -1, &r), 0);
    jsp_result_free(r);
    char message[400];
    cr_assert_eq(call_code(ctx, "declare", "[\"a\"]", message, sizeof(message)), 0, "%s", message);
    int rc = call_code(ctx, "declare", "[\"b\"]", message, sizeof(message));
    cr_log_info("second declaration of 200 other tables: %d %s", rc, message);
    /* refusing the second declaration is fine; what follows must keep working */
    rc = call_code(ctx, "declare", "[\"a\"]", message, sizeof(message));
    cr_expect_eq(rc, 0, "the first declaration again, in a later call: %s", message);
    jsp_context_free(ctx);
    ctx = NULL;
    rc = new_store_context(pool, NULL, &ctx);
    cr_expect_eq(rc, 0, "the context's store reopens after a restart (%s)", jsp_strerror(rc));
    if (ctx)
        jsp_context_free(ctx);
    jsp_pool_free(pool);
    remove_dir();
}
