/* json_check.c — a recursive-descent JSON recogniser (no values are built). Depth is
 * bounded so hostile input cannot exhaust the stack. */
#include "util/json_check.h"

#include <string.h>

#include "jspool.h"

/* 512 frames of value()/container() are a few tens of KB of stack on any caller thread */
enum { MAX_DEPTH = JSP_JSON_MAX_DEPTH };

typedef struct cursor {
    const char *p, *end;
} cursor;

static void skip_space(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static bool is_hex(char ch)
{
    return is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static bool literal(cursor *c, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
        return false;
    c->p += n;
    return true;
}

static bool string(cursor *c)
{
    c->p++; /* opening quote */
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p++;
        if (ch == '"')
            return true;
        if (ch < 0x20)
            return false;
        if (ch != '\\')
            continue;
        if (c->p >= c->end)
            return false;
        char esc = *c->p++;
        if (esc == 'u') {
            for (int i = 0; i < 4; i++, c->p++)
                if (c->p >= c->end || !is_hex(*c->p))
                    return false;
        } else if (!strchr("\"\\/bfnrt", esc) || esc == '\0') {
            return false;
        }
    }
    return false;
}

static bool digits(cursor *c)
{
    const char *start = c->p;
    while (c->p < c->end && is_digit(*c->p))
        c->p++;
    return c->p > start;
}

static bool number(cursor *c)
{
    if (*c->p == '-')
        c->p++;
    if (c->p < c->end && *c->p == '0')
        c->p++;
    else if (!digits(c))
        return false;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (!digits(c))
            return false;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        if (!digits(c))
            return false;
    }
    return true;
}

static bool value(cursor *c, int depth);

static bool container(cursor *c, int depth, char close, bool is_object)
{
    if (depth >= MAX_DEPTH)
        return false;
    c->p++; /* opening bracket */
    skip_space(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        return true;
    }
    for (;;) {
        skip_space(c);
        if (is_object) {
            if (c->p >= c->end || *c->p != '"' || !string(c))
                return false;
            skip_space(c);
            if (c->p >= c->end || *c->p++ != ':')
                return false;
        }
        if (!value(c, depth + 1))
            return false;
        skip_space(c);
        if (c->p >= c->end)
            return false;
        char ch = *c->p++;
        if (ch == close)
            return true;
        if (ch != ',')
            return false;
    }
}

static bool value(cursor *c, int depth)
{
    skip_space(c);
    if (c->p >= c->end)
        return false;
    switch (*c->p) {
    case '{':
        return container(c, depth, '}', true);
    case '[':
        return container(c, depth, ']', false);
    case '"':
        return string(c);
    case 't':
        return literal(c, "true");
    case 'f':
        return literal(c, "false");
    case 'n':
        return literal(c, "null");
    default:
        return (*c->p == '-' || is_digit(*c->p)) && number(c);
    }
}

/* first_depth -1 lets the outer array of an argument list not count */
static bool valid_from(const char *text, size_t len, int first_depth)
{
    cursor c = {text, text + len};
    if (!value(&c, first_depth))
        return false;
    skip_space(&c);
    return c.p == c.end;
}

bool json_is_valid(const char *text, size_t len)
{
    return valid_from(text, len, 0);
}

bool json_is_valid_arguments(const char *text, size_t len)
{
    return valid_from(text, len, -1);
}
