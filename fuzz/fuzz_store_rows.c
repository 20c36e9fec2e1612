/* fuzz_store_rows — the store's fast parser of plain rows and keys against jansson's
 * parse tree (row_parse vs row_parse_tree, value_parse vs value_parse_tree) on the same
 * bytes, for a table of string, integer, boolean, nullable and json columns: the same
 * verdict, and on success the same values. Rows come from guest JS, keys also from
 * outside reads (jsp_store_rows' after). */
#include "store/store_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"

static schema sc;

static void same_value(const store_value *a, const store_value *b, const char *what)
{
    if (a->type != b->type || a->i != b->i || a->len != b->len ||
        (a->type == STORE_T_NUMBER && a->d != b->d) ||
        ((a->type == STORE_T_STRING || a->type == STORE_T_JSON || a->type == STORE_T_BYTES) &&
         memcmp(a->p, b->p, a->len) != 0)) {
        fprintf(stderr, "%s: the fast parser and jansson disagree on a value\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!sc.ntables) {
        static const char decl[] =
            "{\"tables\":{\"t\":{\"columns\":{\"name\":\"string\",\"n\":\"integer\",\"ok\":\"boolean\","
            "\"note\":{\"type\":\"string\",\"nullable\":true},\"doc\":{\"type\":\"json\",\"nullable\":true}},"
            "\"primaryKey\":\"name\"},\"u\":{\"columns\":{\"id\":\"integer\",\"s\":\"string\"},\"primaryKey\":\"id\"}}}";
        store_error err;
        if (schema_parse(decl, sizeof(decl) - 1, &sc, &err) != 0)
            abort();
    }
    char *text = malloc(size ? size : 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    for (int ti = 0; ti < sc.ntables; ti++) {
        const store_table *t = &sc.tables[ti];
        store_value fast[8] = {0}, tree[8] = {0};
        row_input a, b;
        store_error ea, eb;
        int ra = row_parse(t, text, size, &a, fast, &ea);
        int rb = row_parse_tree(t, text, size, &b, tree, &eb);
        if (ra != rb) {
            fprintf(stderr, "row verdicts differ: %d vs %d\n", ra, rb);
            abort();
        }
        for (int c = 0; ra == 0 && c < t->ncolumns; c++)
            same_value(&fast[c], &tree[c], "row");
        row_input_release(&a);
        row_input_release(&b);
        for (int c = 0; c < t->ncolumns; c++) {
            if (t->columns[c].type == STORE_T_JSON)
                continue;
            store_value kf = {0}, kt = {0};
            ra = value_parse(t, c, text, size, &a, &kf, &ea);
            rb = value_parse_tree(t, c, text, size, &b, &kt, &eb);
            if (ra != rb) {
                fprintf(stderr, "key verdicts differ: %d vs %d\n", ra, rb);
                abort();
            }
            if (ra == 0)
                same_value(&kf, &kt, "key");
            row_input_release(&a);
            row_input_release(&b);
        }
    }
    free(text);
    return 0;
}
