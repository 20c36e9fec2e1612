/* bank.h — the bank workload the store suites and bench/store share: a declaration, seeding,
 * one transfer (read two rows, check funds, debit, credit, record it) through the store
 * layer alone, and the checks a reopened store must pass (sum invariant, balances equal to
 * a replay of the recorded transfers). Header-only; a scratch directory helper too. */
#ifndef JSP_TEST_STORE_BANK_H
#define JSP_TEST_STORE_BANK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

#define BANK_DECL                                                                              \
    "{\"tables\": {"                                                                           \
    "\"accounts\": {\"columns\": {\"id\": \"integer\", \"owner\": \"string\","                 \
    " \"balance\": \"integer\"}, \"primaryKey\": \"id\", \"indexes\": {\"byOwner\": \"owner\"}}," \
    "\"transfers\": {\"columns\": {\"id\": \"integer\", \"src\": \"integer\", \"dst\": \"integer\"," \
    " \"amount\": \"integer\", \"memo\": {\"type\": \"string\", \"nullable\": true}},"         \
    " \"primaryKey\": \"id\"}}}"

/* A fresh directory under /tmp; path gets "<dir>/<name>". */
static inline void bank_scratch(char *dir, size_t dir_size, char *path, size_t path_size, const char *name)
{
    snprintf(dir, dir_size, "/tmp/jsp_store_XXXXXX");
    if (!mkdtemp(dir))
        abort();
    snprintf(path, path_size, "%s/%s", dir, name);
}

static inline void bank_scratch_remove(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* Reads an integer field from a row's JSON text (the store writes `"name":value`). */
static inline long long bank_field(const char *row, const char *name)
{
    char key[64];
    snprintf(key, sizeof(key), "\"%s\":", name);
    const char *p = strstr(row, key);
    return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* Seeds n accounts with `balance` each, in calls of up to 1000 inserts; flushes. */
static inline int bank_seed(store *s, int n, long long balance)
{
    char row[128];
    for (int i = 0; i < n;) {
        int rc = store_call_begin(s);
        for (int k = 0; !rc && k < 1000 && i < n; k++, i++) {
            int len = snprintf(row, sizeof(row), "{\"id\":%d,\"owner\":\"owner%d\",\"balance\":%lld}",
                               i, i % 97, balance);
            rc = store_insert(s, "accounts", row, (size_t)len);
        }
        int end = store_call_end(s, rc == 0, NULL, NULL, NULL);
        if (rc || end)
            return rc ? rc : end;
    }
    return store_flush(s);
}

/* One transfer inside the open call: reads both accounts, refuses (JSP_EJS) when funds are
 * short, debits, credits and, when id > 0, records it in `transfers` with an optional memo. */
static inline int bank_transfer(store *s, long long id, int src, int dst, long long amount, const char *memo)
{
    char key[32], row[256];
    const char *text;
    int klen = snprintf(key, sizeof(key), "%d", src);
    int rc = store_get(s, "accounts", key, (size_t)klen, &text, NULL);
    if (rc || !text)
        return rc ? rc : JSP_ENOTFOUND;
    long long a = bank_field(text, "balance");
    klen = snprintf(key, sizeof(key), "%d", dst);
    if ((rc = store_get(s, "accounts", key, (size_t)klen, &text, NULL)) || !text)
        return rc ? rc : JSP_ENOTFOUND;
    long long b = bank_field(text, "balance");
    if (a < amount)
        return JSP_EJS;
    int len = snprintf(row, sizeof(row), "{\"id\":%d,\"owner\":\"owner%d\",\"balance\":%lld}", src,
                       src % 97, a - amount);
    if ((rc = store_update(s, "accounts", row, (size_t)len)))
        return rc;
    len = snprintf(row, sizeof(row), "{\"id\":%d,\"owner\":\"owner%d\",\"balance\":%lld}", dst,
                   dst % 97, b + amount);
    if ((rc = store_update(s, "accounts", row, (size_t)len)))
        return rc;
    if (id <= 0)
        return JSP_OK;
    char *rec = malloc(128 + (memo ? strlen(memo) : 0));
    if (!rec)
        return JSP_ENOMEM;
    len = sprintf(rec, "{\"id\":%lld,\"src\":%d,\"dst\":%d,\"amount\":%lld%s%s%s}", id, src, dst, amount,
                  memo ? ",\"memo\":\"" : "", memo ? memo : "", memo ? "\"" : "");
    rc = store_insert(s, "transfers", rec, (size_t)len);
    free(rec);
    return rc;
}

/* Inside an open call: the sum of all balances, and whether every balance equals its
 * seed value replayed through the recorded transfers. -1 on a store error (see
 * store_last_error). */
static inline long long bank_audit(store *s, int n, long long seed, bool *replay_ok)
{
    long long *expect = calloc((size_t)n, sizeof(*expect));
    long long sum = 0;
    *replay_ok = true;
    for (int i = 0; i < n; i++)
        expect[i] = seed;
    store_iter *it;
    const char *row;
    if (store_scan(s, "transfers", NULL, NULL, &it)) {
        free(expect);
        return -1;
    }
    int step;
    while ((step = store_iter_next(it, &row, NULL)) == 1) {
        long long src = bank_field(row, "src"), dst = bank_field(row, "dst");
        if (src < 0 || src >= n || dst < 0 || dst >= n) {
            *replay_ok = false; /* read back damaged: reported below */
            continue;
        }
        expect[src] -= bank_field(row, "amount");
        expect[dst] += bank_field(row, "amount");
    }
    store_iter_close(it);
    if (step < 0 || store_scan(s, "accounts", NULL, NULL, &it)) {
        free(expect);
        return -1;
    }
    int seen = 0;
    while ((step = store_iter_next(it, &row, NULL)) == 1) {
        long long id = bank_field(row, "id"), bal = bank_field(row, "balance");
        if (id < 0 || id >= n || expect[id] != bal)
            *replay_ok = false;
        sum += bal;
        seen++;
    }
    store_iter_close(it);
    free(expect);
    if (seen != n)
        *replay_ok = false;
    return step < 0 ? -1 : sum;
}

/* Whether transfer `id` is recorded (inside an open call). */
static inline bool bank_has_transfer(store *s, long long id)
{
    char key[32];
    const char *row = NULL;
    int len = snprintf(key, sizeof(key), "%lld", id);
    return store_get(s, "transfers", key, (size_t)len, &row, NULL) == 0 && row;
}

#endif
