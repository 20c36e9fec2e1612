/* store_rows.c — the store's two JSON formats: declarations (parsed into tables, dumped
 * back for keeping in the database) and rows (checked against column types on the way in,
 * written from backend values on the way out). Every refusal names the table and column.
 * Not for: transactions or SQL. */
#include "store/store_internal.h"

#include <jansson.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SAFE_INTEGER 9007199254740991LL

static const char *const type_names[] = {
    [STORE_T_NULL] = "null",       [STORE_T_STRING] = "string", [STORE_T_INTEGER] = "integer",
    [STORE_T_NUMBER] = "number",   [STORE_T_BOOLEAN] = "boolean", [STORE_T_BYTES] = "bytes",
    [STORE_T_JSON] = "json",
};

const char *store_type_name(int type)
{
    return type >= STORE_T_NULL && type <= STORE_T_JSON ? type_names[type] : "?";
}

int store_fail(store_error *err, int code, const char *name, const char *fmt, ...)
{
    err->code = code;
    err->name = name;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return code;
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || (s[0] >= '0' && s[0] <= '9') || strncmp(s, "_jsp", 4) == 0 ||
        strncmp(s, "sqlite_", 7) == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

static int type_from_name(const char *s)
{
    for (int t = STORE_T_STRING; t <= STORE_T_JSON; t++)
        if (strcmp(s, type_names[t]) == 0)
            return t;
    return -1;
}

int schema_column(const store_table *t, const char *name, size_t len)
{
    for (int i = 0; i < t->ncolumns; i++)
        if (strlen(t->columns[i].name) == len && memcmp(t->columns[i].name, name, len) == 0)
            return i;
    return -1;
}

static void table_free(store_table *t)
{
    for (int i = 0; i < t->ncolumns; i++)
        free(t->columns[i].name);
    for (int i = 0; i < t->nindexes; i++)
        free(t->indexes[i].name);
    free(t->columns);
    free(t->indexes);
    free(t->name);
}

void schema_free(schema *sc)
{
    for (int i = 0; i < sc->ntables; i++)
        table_free(&sc->tables[i]);
    free(sc->tables);
    free(sc->declared);
    *sc = (schema){0};
}

#define SCHEMA_FAIL(...) store_fail(err, JSP_ESCHEMA, "SchemaError", __VA_ARGS__)

static int parse_table(const char *name, json_t *decl, store_table *t, store_error *err)
{
    if (!valid_name(name))
        return SCHEMA_FAIL("table name '%.64s' is not allowed (letters, digits, _; up to 63; "
                           "not starting with a digit, _jsp or sqlite_)", name);
    if (!(t->name = strdup(name)))
        return store_fail(err, JSP_ENOMEM, "OutOfMemory", "out of memory");
    json_t *cols = json_object_get(decl, "columns");
    json_t *pk = json_object_get(decl, "primaryKey");
    json_t *ixs = json_object_get(decl, "indexes");
    if (!json_is_object(decl) || !json_is_object(cols) || json_object_size(cols) == 0)
        return SCHEMA_FAIL("table %s: needs \"columns\": an object of column name -> type", name);
    const char *key;
    json_t *v;
    json_object_foreach(decl, key, v) {
        if (strcmp(key, "columns") && strcmp(key, "primaryKey") && strcmp(key, "indexes"))
            return SCHEMA_FAIL("table %s: unknown field '%.64s'", name, key);
    }
    if (!json_is_string(pk))
        return SCHEMA_FAIL("table %s: needs \"primaryKey\": the name of one column", name);
    if (json_object_size(cols) > STORE_MAX_COLUMNS)
        return SCHEMA_FAIL("table %s: more than %d columns", name, STORE_MAX_COLUMNS);
    t->columns = calloc(json_object_size(cols), sizeof(*t->columns));
    if (!t->columns)
        return store_fail(err, JSP_ENOMEM, "OutOfMemory", "out of memory");
    json_object_foreach(cols, key, v) {
        store_column *c = &t->columns[t->ncolumns];
        if (!valid_name(key))
            return SCHEMA_FAIL("table %s: column name '%.64s' is not allowed", name, key);
        json_t *type = json_is_object(v) ? json_object_get(v, "type") : v;
        json_t *nullable = json_is_object(v) ? json_object_get(v, "nullable") : NULL;
        int ty = json_is_string(type) ? type_from_name(json_string_value(type)) : -1;
        if (ty < 0 || (nullable && !json_is_boolean(nullable)) ||
            (json_is_object(v) && json_object_size(v) != 1u + (nullable != NULL)))
            return SCHEMA_FAIL("table %s: column %s: expected a type (string, integer, number, "
                               "boolean, bytes, json) or {\"type\": ..., \"nullable\": true}",
                               name, key);
        if (!(c->name = strdup(key)))
            return store_fail(err, JSP_ENOMEM, "OutOfMemory", "out of memory");
        c->type = ty;
        c->nullable = json_is_true(nullable);
        t->ncolumns++;
    }
    t->pk = schema_column(t, json_string_value(pk), json_string_length(pk));
    if (t->pk < 0)
        return SCHEMA_FAIL("table %s: primary key '%.64s' is not a column", name, json_string_value(pk));
    if (t->columns[t->pk].nullable || t->columns[t->pk].type == STORE_T_JSON ||
        t->columns[t->pk].type == STORE_T_NUMBER)
        return SCHEMA_FAIL("table %s: primary key column %s must be a non-nullable string, "
                           "integer, boolean or bytes", name, t->columns[t->pk].name);
    if (ixs && !json_is_object(ixs))
        return SCHEMA_FAIL("table %s: \"indexes\" must be an object of index name -> column", name);
    if (json_object_size(ixs) > STORE_MAX_INDEXES)
        return SCHEMA_FAIL("table %s: more than %d indexes", name, STORE_MAX_INDEXES);
    if (ixs && !(t->indexes = calloc(json_object_size(ixs) + 1, sizeof(*t->indexes))))
        return store_fail(err, JSP_ENOMEM, "OutOfMemory", "out of memory");
    json_object_foreach(ixs, key, v) {
        int col = json_is_string(v) ? schema_column(t, json_string_value(v), json_string_length(v)) : -1;
        if (!valid_name(key))
            return SCHEMA_FAIL("table %s: index name '%.64s' is not allowed", name, key);
        if (col < 0)
            return SCHEMA_FAIL("table %s: index %s: expected the name of one column", name, key);
        if (t->columns[col].type == STORE_T_JSON)
            return SCHEMA_FAIL("table %s: index %s: column %s holds json, which has no order",
                               name, key, t->columns[col].name);
        store_index *ix = &t->indexes[t->nindexes];
        if (!(ix->name = strdup(key)))
            return store_fail(err, JSP_ENOMEM, "OutOfMemory", "out of memory");
        ix->column = col;
        t->nindexes++;
    }
    return JSP_OK;
}

int schema_parse(const char *text, size_t len, schema *out, store_error *err)
{
    *out = (schema){0};
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return store_fail(err, JSP_EJSON, "SyntaxError", "declaration is not JSON: %s (line %d)",
                          jerr.text, jerr.line);
    json_t *tables = json_object_get(root, "tables");
    int rc = JSP_OK;
    if (!json_is_object(root) || !json_is_object(tables) || json_object_size(root) != 1) {
        rc = SCHEMA_FAIL("declaration must be {\"tables\": {name: {columns, primaryKey, indexes}}}");
        goto done;
    }
    if (json_object_size(tables) > STORE_MAX_TABLES) {
        rc = SCHEMA_FAIL("more than %d tables", STORE_MAX_TABLES);
        goto done;
    }
    size_t n = json_object_size(tables);
    out->tables = calloc(n + 1, sizeof(*out->tables));
    out->declared = calloc(n + 1, sizeof(*out->declared));
    if (!out->tables || !out->declared) {
        rc = store_fail(err, JSP_ENOMEM, "OutOfMemory", "out of memory");
        goto done;
    }
    const char *key;
    json_t *v;
    json_object_foreach(tables, key, v) {
        out->declared[out->ntables] = true;
        rc = parse_table(key, v, &out->tables[out->ntables], err);
        out->ntables++;
        if (rc)
            break;
    }
done:
    json_decref(root);
    if (rc)
        schema_free(out);
    return rc;
}

char *schema_dump(const schema *sc)
{
    json_t *tables = json_object();
    for (int i = 0; tables && i < sc->ntables; i++) {
        const store_table *t = &sc->tables[i];
        json_t *cols = json_object(), *ixs = json_object();
        for (int c = 0; c < t->ncolumns; c++)
            json_object_set_new(cols, t->columns[c].name,
                                json_pack("{s:s,s:b}", "type", type_names[t->columns[c].type],
                                          "nullable", t->columns[c].nullable));
        for (int x = 0; x < t->nindexes; x++)
            json_object_set_new(ixs, t->indexes[x].name,
                                json_string(t->columns[t->indexes[x].column].name));
        json_object_set_new(tables, t->name,
                            json_pack("{s:o,s:s,s:o}", "columns", cols, "primaryKey",
                                      t->columns[t->pk].name, "indexes", ixs));
    }
    json_t *root = json_pack("{s:o}", "tables", tables);
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return text;
}

#define TYPE_FAIL(...) store_fail(err, JSP_EJS, "TypeError", __VA_ARGS__)

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "non-integer number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    default: return "null";
    }
}

/* Checks one JSON value against column col and fills *out. Decoded bytes go into arena 0
 * (sized up front by alloc_arenas, so pointers handed out never move; *used is its fill);
 * dumped json texts are listed in arena 1 and freed by row_input_release. */
static int convert(const store_table *t, int col, json_t *v, row_input *in, size_t *used,
                   store_value *out, store_error *err)
{
    const store_column *c = &t->columns[col];
    if (json_is_null(v)) {
        if (!c->nullable)
            return TYPE_FAIL("table %s: column %s is required (got null)", t->name, c->name);
        out->type = STORE_T_NULL;
        return JSP_OK;
    }
    out->type = c->type;
    switch (c->type) {
    case STORE_T_STRING:
        if (!json_is_string(v))
            break;
        out->p = json_string_value(v);
        out->len = json_string_length(v);
        return JSP_OK;
    case STORE_T_INTEGER:
        if (json_is_integer(v)) {
            out->i = json_integer_value(v);
        } else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
                   fabs(json_real_value(v)) <= (double)MAX_SAFE_INTEGER) {
            out->i = (int64_t)json_real_value(v);
        } else {
            break;
        }
        if (out->i > MAX_SAFE_INTEGER || out->i < -MAX_SAFE_INTEGER)
            return TYPE_FAIL("table %s: column %s expects an integer within ±(2^53-1)", t->name, c->name);
        return JSP_OK;
    case STORE_T_NUMBER:
        if (!json_is_number(v))
            break;
        out->d = json_number_value(v);
        return JSP_OK;
    case STORE_T_BOOLEAN:
        if (!json_is_boolean(v))
            break;
        out->i = json_is_true(v);
        return JSP_OK;
    case STORE_T_BYTES: {
        if (!json_is_string(v))
            break;
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (n % 4)
            return TYPE_FAIL("table %s: column %s expects bytes as base64 (length not a multiple of 4)",
                             t->name, c->name);
        unsigned char *dst = (unsigned char *)in->owned[0] + *used;
        int got = n ? EVP_DecodeBlock(dst, (const unsigned char *)s, (int)n) : 0;
        if (got < 0)
            return TYPE_FAIL("table %s: column %s expects bytes as base64", t->name, c->name);
        int pad = n && s[n - 1] == '=' ? (n > 1 && s[n - 2] == '=' ? 2 : 1) : 0;
        out->p = (const char *)dst;
        out->len = (size_t)got - (size_t)pad;
        *used += (size_t)got;
        return JSP_OK;
    }
    case STORE_T_JSON: {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!text)
            return store_fail(err, JSP_ENOMEM, "OutOfMemory", "out of memory");
        char **list = (char **)in->owned[1];
        size_t k = 0;
        while (list[k])
            k++;
        list[k] = text;
        out->p = text;
        out->len = strlen(text);
        return JSP_OK;
    }
    }
    return TYPE_FAIL("table %s: column %s expects %s, got %s", t->name, c->name,
                     type_names[c->type], json_kind(v));
}

/* Sizes the arenas for the values that need them: decoded base64 and dumped json. */
static int alloc_arenas(const store_table *t, json_t *values[], int count, row_input *in, store_error *err)
{
    size_t bytes = 1, jsons = 1;
    for (int i = 0; i < count; i++) {
        int ty = t->columns[i].type;
        if (values[i] && ty == STORE_T_BYTES && json_is_string(values[i]))
            bytes += json_string_length(values[i]);
        if (values[i] && ty == STORE_T_JSON)
            jsons++;
    }
    if (bytes > 1 && !(in->owned[0] = malloc(bytes)))
        return store_fail(err, JSP_ENOMEM, "OutOfMemory", "out of memory");
    if (jsons > 1 && !(in->owned[1] = calloc(jsons, sizeof(char *))))
        return store_fail(err, JSP_ENOMEM, "OutOfMemory", "out of memory");
    return JSP_OK;
}

void row_input_release(row_input *in)
{
    if (in->owned[1])
        for (char **list = (char **)in->owned[1]; *list; list++)
            free(*list);
    free(in->owned[0]);
    free(in->owned[1]);
    json_decref(in->root);
    *in = (row_input){0};
}

/* The keys a call passes most (an ASCII string without escapes, a plain integer) read
 * without building a parse tree; anything else, or a value of another column type, goes
 * through jansson, which judges it the same way. */
static bool parse_plain_key(const store_column *c, const char *text, size_t len, store_value *value)
{
    if (c->type == STORE_T_STRING) {
        if (len < 2 || text[0] != '"' || text[len - 1] != '"')
            return false;
        for (size_t i = 1; i + 1 < len; i++)
            if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] > 0x7e || text[i] == '"' ||
                text[i] == '\\')
                return false;
        *value = (store_value){.type = STORE_T_STRING, .p = text + 1, .len = len - 2};
        return true;
    }
    if (c->type == STORE_T_INTEGER) {
        size_t i = text[0] == '-' ? 1 : 0;
        if (len <= i || len - i > 15 || (text[i] == '0' && len - i > 1))
            return false; /* 15 digits stay below 2^53 */
        int64_t n = 0;
        for (size_t k = i; k < len; k++) {
            if (text[k] < '0' || text[k] > '9')
                return false;
            n = n * 10 + (text[k] - '0');
        }
        *value = (store_value){.type = STORE_T_INTEGER, .i = i ? -n : n};
        return true;
    }
    return false;
}


/* A flat row of plain values (what JSON.stringify gives for strings, integers, booleans
 * and null: no escapes, no spaces), each key a column once, every required column there:
 * read without a parse tree. Anything else falls back to jansson, which then reports what
 * is wrong. */
static bool parse_plain_row(const store_table *t, const char *p, size_t len, store_value *values)
{
    if (t->ncolumns > 64 || len < 2 || p[0] != '{' || p[len - 1] != '}')
        return false;
    uint64_t seen = 0;
    size_t i = 1;
    while (i < len - 1) {
        if (p[i] != '"')
            return false;
        size_t key = ++i;
        while (i < len && p[i] != '"') {
            if (p[i] == '\\' || (unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
                return false;
            i++;
        }
        if (i + 2 >= len || p[i + 1] != ':')
            return false;
        int col = schema_column(t, p + key, i - key);
        if (col < 0 || seen & 1ull << col)
            return false;
        seen |= 1ull << col;
        size_t value = i += 2;
        if (p[i] == '"') {
            for (i++; i < len && p[i] != '"'; i++)
                ;
            i++;
        } else {
            while (i < len && p[i] != ',' && p[i] != '}')
                i++;
        }
        if (i >= len)
            return false;
        const store_column *c = &t->columns[col];
        size_t n = i - value;
        if (n == 4 && !memcmp(p + value, "null", 4)) {
            if (!c->nullable)
                return false;
            values[col].type = STORE_T_NULL;
        } else if (c->type == STORE_T_BOOLEAN) {
            bool is_true = n == 4 && !memcmp(p + value, "true", 4);
            if (!is_true && !(n == 5 && !memcmp(p + value, "false", 5)))
                return false;
            values[col] = (store_value){.type = STORE_T_BOOLEAN, .i = is_true};
        } else if (!parse_plain_key(c, p + value, n, &values[col])) {
            return false;
        }
        if (p[i] == ',') {
            if (++i == len - 1)
                return false; /* a trailing comma: not JSON */
        } else if (i != len - 1) {
            return false;
        }
    }
    for (int c = 0; c < t->ncolumns; c++)
        if (!(seen & 1ull << c)) {
            if (!t->columns[c].nullable)
                return false;
            values[c].type = STORE_T_NULL;
        }
    return true;
}

int row_parse(const store_table *t, const char *text, size_t len, row_input *in, store_value *values,
              store_error *err)
{
    *in = (row_input){0};
    return parse_plain_row(t, text, len, values) ? JSP_OK : row_parse_tree(t, text, len, in, values, err);
}

int row_parse_tree(const store_table *t, const char *text, size_t len, row_input *in, store_value *values,
                   store_error *err)
{
    *in = (row_input){0};
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return store_fail(err, JSP_EJSON, "SyntaxError", "table %s: row is not JSON: %s", t->name, jerr.text);
    in->root = root;
    if (!json_is_object(root))
        return TYPE_FAIL("table %s: a row must be an object, got %s", t->name, json_kind(root));
    json_t *stack_slots[32];
    json_t **slots = t->ncolumns <= 32 ? stack_slots : calloc((size_t)t->ncolumns, sizeof(json_t *));
    if (!slots)
        return store_fail(err, JSP_ENOMEM, "OutOfMemory", "out of memory");
    memset(slots, 0, sizeof(json_t *) * (size_t)(t->ncolumns <= 32 ? 32 : t->ncolumns));
    int rc = JSP_OK;
    const char *key;
    size_t key_len;
    json_t *v;
    json_object_keylen_foreach(root, key, key_len, v) {
        int col = schema_column(t, key, key_len);
        if (col < 0) {
            rc = TYPE_FAIL("table %s: unknown column '%.64s'", t->name, key);
            goto done;
        }
        slots[col] = v;
    }
    if ((rc = alloc_arenas(t, slots, t->ncolumns, in, err)))
        goto done;
    size_t used = 0;
    for (int i = 0; i < t->ncolumns && !rc; i++) {
        if (!slots[i] && !t->columns[i].nullable)
            rc = TYPE_FAIL("table %s: column %s is missing", t->name, t->columns[i].name);
        else if (!slots[i])
            values[i].type = STORE_T_NULL;
        else
            rc = convert(t, i, slots[i], in, &used, &values[i], err);
    }
done:
    if (slots != stack_slots)
        free(slots);
    return rc;
}

int value_parse(const store_table *t, int column, const char *text, size_t len, row_input *in,
                store_value *value, store_error *err)
{
    *in = (row_input){0};
    return parse_plain_key(&t->columns[column], text, len, value)
               ? JSP_OK
               : value_parse_tree(t, column, text, len, in, value, err);
}

int value_parse_tree(const store_table *t, int column, const char *text, size_t len, row_input *in,
                     store_value *value, store_error *err)
{
    *in = (row_input){0};
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return store_fail(err, JSP_EJSON, "SyntaxError", "table %s: key is not JSON: %s", t->name, jerr.text);
    in->root = root;
    if (json_is_null(root))
        return TYPE_FAIL("table %s: column %s: a key or bound cannot be null", t->name,
                         t->columns[column].name);
    json_t *slots[1] = {root};
    store_table one = *t; /* size arenas for this column only */
    one.columns = &t->columns[column];
    one.ncolumns = 1;
    int rc = alloc_arenas(&one, slots, 1, in, err);
    size_t used = 0;
    return rc ? rc : convert(t, column, root, in, &used, value, err);
}

static bool out_reserve(out_buf *o, size_t more)
{
    if (o->len + more <= o->cap)
        return true;
    size_t cap = o->cap ? o->cap : 256;
    while (cap < o->len + more)
        cap *= 2;
    char *p = realloc(o->p, cap);
    if (!p)
        return false;
    o->p = p;
    o->cap = cap;
    return true;
}

static void put_string(out_buf *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char *d = o->p + o->len;
    *d++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            *d++ = '\\';
            *d++ = (char)ch;
        } else if (ch < 0x20) {
            memcpy(d, "\\u00", 4);
            d[4] = hex[ch >> 4];
            d[5] = hex[ch & 15];
            d += 6;
        } else {
            *d++ = (char)ch;
        }
    }
    *d++ = '"';
    o->len = (size_t)(d - o->p);
}

/* Appends one value; out must have room (value_room). */
static size_t value_room(const store_value *v)
{
    return 32 + (v->type == STORE_T_STRING ? v->len * 6 + 2
               : v->type == STORE_T_BYTES ? (v->len + 2) / 3 * 4 + 3
               : v->type == STORE_T_JSON ? v->len : 0);
}

static void put_value(out_buf *o, const store_value *v)
{
    char *d = o->p + o->len;
    switch (v->type) {
    case STORE_T_NULL: o->len += (size_t)sprintf(d, "null"); break;
    case STORE_T_INTEGER: o->len += (size_t)sprintf(d, "%lld", (long long)v->i); break;
    case STORE_T_BOOLEAN: o->len += (size_t)sprintf(d, v->i ? "true" : "false"); break;
    case STORE_T_NUMBER: {
        /* Shortest of %.15g / %.17g that reads back as the same double. */
        int n = sprintf(d, "%.15g", v->d);
        if (strtod(d, NULL) != v->d)
            n = sprintf(d, "%.17g", v->d);
        o->len += (size_t)n;
        break;
    }
    case STORE_T_STRING: put_string(o, v->p, v->len); break;
    case STORE_T_BYTES:
        d[0] = '"';
        o->len += 1 + (size_t)EVP_EncodeBlock((unsigned char *)d + 1, (const unsigned char *)v->p,
                                              (int)v->len);
        o->p[o->len++] = '"';
        break;
    default:
        memcpy(d, v->p, v->len);
        o->len += v->len;
        break;
    }
}

int value_to_json(const store_value *v, out_buf *o)
{
    o->len = 0;
    if (!out_reserve(o, value_room(v) + 1))
        return JSP_ENOMEM;
    put_value(o, v);
    o->p[o->len] = '\0';
    return JSP_OK;
}

int row_to_json(const store_table *t, const store_value *row, out_buf *o)
{
    o->len = 0;
    if (!out_reserve(o, 2))
        return JSP_ENOMEM;
    o->p[o->len++] = '{';
    for (int i = 0; i < t->ncolumns; i++) {
        size_t name_len = strlen(t->columns[i].name);
        if (!out_reserve(o, name_len * 6 + 8 + value_room(&row[i])))
            return JSP_ENOMEM;
        if (i)
            o->p[o->len++] = ',';
        put_string(o, t->columns[i].name, name_len);
        o->p[o->len++] = ':';
        put_value(o, &row[i]);
    }
    if (!out_reserve(o, 2))
        return JSP_ENOMEM;
    o->p[o->len++] = '}';
    o->p[o->len] = '\0';
    return JSP_OK;
}
