/* store_schema.c — migration: compares a module's declaration with the schema kept in the
 * database, refuses incompatible changes (naming table and column) before touching
 * anything, then creates tables, appends nullable columns and adjusts indexes through the
 * backend table. Not for: parsing (store_rows.c) or transactions (store.c). */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

/* Compares the declaration `want` with what the database holds (`have`), builds the merged
 * schema in *merged and applies the changes inside the current transaction. Every refusal
 * happens before the first change. */
int schema_migrate(const struct store_backend_ops *ops, store_backend *b, schema *have, schema *want,
                   schema *merged, store_error *err)
{
    int total = have->ntables + want->ntables;
    merged->tables = calloc((size_t)total + 1, sizeof(*merged->tables));
    merged->declared = calloc((size_t)total + 1, sizeof(*merged->declared));
    if (!merged->tables || !merged->declared)
        return store_fail(err, JSP_ENOMEM, "OutOfMemory", "out of memory");
    /* Pass 1: check every declared table against its stored form. */
    for (int w = 0; w < want->ntables; w++) {
        store_table *n = &want->tables[w];
        for (int h = 0; h < have->ntables; h++) {
            store_table *o = &have->tables[h];
            if (strcmp(o->name, n->name))
                continue;
            if (strcmp(o->columns[o->pk].name, n->columns[n->pk].name))
                return store_fail(err, JSP_ESCHEMA, "SchemaError",
                                  "table %s: primary key changes from %s to %s", n->name,
                                  o->columns[o->pk].name, n->columns[n->pk].name);
            for (int c = 0; c < o->ncolumns; c++) {
                const store_column *oc = &o->columns[c];
                int nc = schema_column(n, oc->name, strlen(oc->name));
                if (nc < 0)
                    return store_fail(err, JSP_ESCHEMA, "SchemaError",
                                      "table %s: column %s is missing from the declaration "
                                      "(columns are never dropped)", n->name, oc->name);
                if (n->columns[nc].type != oc->type)
                    return store_fail(err, JSP_ESCHEMA, "SchemaError",
                                      "table %s: column %s changes type (stored rows are %s)",
                                      n->name, oc->name, store_type_name(oc->type));
                if (oc->nullable && !n->columns[nc].nullable)
                    return store_fail(err, JSP_ESCHEMA, "SchemaError",
                                      "table %s: column %s becomes required, but stored rows "
                                      "may hold null", n->name, oc->name);
            }
            for (int c = 0; c < n->ncolumns; c++)
                if (schema_column(o, n->columns[c].name, strlen(n->columns[c].name)) < 0 &&
                    !n->columns[c].nullable)
                    return store_fail(err, JSP_ESCHEMA, "SchemaError",
                                      "table %s: new column %s must be nullable (stored rows "
                                      "have no value for it)", n->name, n->columns[c].name);
        }
    }
    /* The merged schema within the store-wide caps: tables kept from earlier declarations
     * count (two declarations of 200 different tables stored 400, and the store no longer
     * opened). */
    schema preview = {.tables = merged->tables, .declared = merged->declared};
    for (int h = 0; h < have->ntables; h++) {
        int w = 0;
        while (w < want->ntables && strcmp(want->tables[w].name, have->tables[h].name))
            w++;
        store_table t = have->tables[h];
        if (w < want->ntables) { /* declared again: its new columns appended, its indexes */
            for (int c = 0; c < want->tables[w].ncolumns; c++)
                t.ncolumns += schema_column(&have->tables[h], want->tables[w].columns[c].name,
                                            strlen(want->tables[w].columns[c].name)) < 0;
            t.nindexes = want->tables[w].nindexes;
        }
        preview.tables[preview.ntables++] = t;
    }
    for (int w = 0; w < want->ntables; w++) {
        bool existed = false;
        for (int h = 0; h < have->ntables; h++)
            existed |= !strcmp(have->tables[h].name, want->tables[w].name);
        if (!existed)
            preview.tables[preview.ntables++] = want->tables[w];
    }
    int capped = schema_check_totals(&preview, err);
    memset(merged->tables, 0, sizeof(*merged->tables) * (size_t)preview.ntables); /* shallow copies */
    if (capped)
        return capped;
    /* Pass 2: build the merged schema and apply the changes. Stored tables keep their
     * column order (new columns are appended); tables come in stored order, new ones last. */
    int rc = JSP_OK;
    for (int h = 0; h < have->ntables && !rc; h++) {
        store_table *o = &have->tables[h], *m = &merged->tables[merged->ntables++];
        *m = *o; /* takes ownership */
        *o = (store_table){0};
        int w = 0;
        while (w < want->ntables && strcmp(want->tables[w].name, m->name))
            w++;
        if (w == want->ntables)
            continue; /* kept, unreachable */
        merged->declared[merged->ntables - 1] = true;
        store_table *n = &want->tables[w];
        store_column *cols = realloc(m->columns, sizeof(*cols) * (size_t)(m->ncolumns + n->ncolumns));
        if (!cols)
            return store_fail(err, JSP_ENOMEM, "OutOfMemory", "out of memory");
        m->columns = cols;
        for (int c = 0; c < n->ncolumns && !rc; c++) {
            int mc = schema_column(m, n->columns[c].name, strlen(n->columns[c].name));
            if (mc >= 0) {
                m->columns[mc].nullable = n->columns[c].nullable; /* may relax */
                continue;
            }
            m->columns[m->ncolumns] = n->columns[c];
            n->columns[c].name = NULL;
            rc = ops->add_column(b, m, m->ncolumns++, err);
        }
        /* Indexes: the declaration's set, mapped onto merged column numbers. */
        for (int x = 0; x < m->nindexes && !rc; x++) {
            const char *col = m->columns[m->indexes[x].column].name;
            bool same = false;
            for (int y = 0; y < n->nindexes; y++)
                same |= !strcmp(n->indexes[y].name, m->indexes[x].name) &&
                        !strcmp(n->columns[n->indexes[y].column].name, col);
            if (!same)
                rc = ops->drop_index(b, m->name, m->indexes[x].name, err);
        }
        store_index *old = m->indexes;
        int nold = m->nindexes;
        m->indexes = n->indexes;
        m->nindexes = n->nindexes;
        n->indexes = NULL;
        n->nindexes = 0;
        for (int y = 0; y < m->nindexes; y++) {
            const char *col = n->columns[m->indexes[y].column].name;
            m->indexes[y].column = schema_column(m, col, strlen(col));
            bool existed = false;
            for (int x = 0; x < nold; x++)
                existed |= !strcmp(old[x].name, m->indexes[y].name) &&
                           !strcmp(m->columns[old[x].column].name, col);
            if (!existed && !rc)
                rc = ops->create_index(b, m, y, err);
        }
        for (int x = 0; x < nold; x++)
            free(old[x].name);
        free(old);
    }
    for (int w = 0; w < want->ntables && !rc; w++) {
        bool existed = false;
        for (int h = 0; h < merged->ntables; h++)
            existed |= merged->tables[h].name && !strcmp(merged->tables[h].name, want->tables[w].name);
        if (existed)
            continue;
        store_table *m = &merged->tables[merged->ntables];
        *m = want->tables[w];
        want->tables[w] = (store_table){0};
        merged->declared[merged->ntables++] = true;
        rc = ops->create_table(b, m, err);
        for (int y = 0; y < m->nindexes && !rc; y++)
            rc = ops->create_index(b, m, y, err);
    }
    return rc;
}
