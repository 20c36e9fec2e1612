/* module_transform.c — emulates ES modules on an engine without a module loader by
 * rewriting `export` forms in place and wrapping the body in a function that returns live
 * getters. It is a lexer plus an export recogniser, not a parser or a validator: syntax
 * errors pass through for the engine to report (the lexer only notes where the first
 * structural one probably is, for a precise position); import forms become reads of
 * the namespaces a linker (engine_modules.c) passes in.
 * What keeps a module from closing its wrapper early is not this file: the engine parses
 * the rewritten body on its own before evaluating the wrapper (see module_script). */
#include "engine/module_transform.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCRIPT_WRAPPER_OPEN "(function(){"
#define SCRIPT_PREFIX SCRIPT_WRAPPER_OPEN "\"use strict\";"
#define DEFAULT_LOCAL "__jsp_default"
/* A module with import forms: the linker passes `__jsp_r` (engine_modules.c). */
#define LINKED_WRAPPER_OPEN "(function(__jsp_r){"
#define LINKED_PREFIX LINKED_WRAPPER_OPEN "\"use strict\";__jsp_r.x(__jsp_x);"

/* ---------------------------------------------------------------------------------------
 * Lexer. Only as precise as needed to know where top level is and which `export` and
 * `import` words are keywords: strings, comments, templates and regexes are skipped whole.
 * ------------------------------------------------------------------------------------- */

enum tok_kind { T_END, T_IDENT, T_NUMBER, T_STRING, T_TEMPLATE, T_REGEX, T_PUNCT };

struct token {
    enum tok_kind kind;
    size_t start, end;
    size_t depth_before;     /* bracket nesting before this token opened or closed one */
    bool nl_before;          /* a line terminator precedes it: ASI may apply */
    bool after_dot;          /* follows `.`, `?.` or `#`: a property name, never a keyword */
    bool stmt_start;         /* top level, where a statement may begin */
    bool opens_substitution; /* a template part ending in `${` */
    bool regex_may_follow;   /* `}` of a block or `)` of if/while/for/with */
};

/* What each open bracket is, so closing it restores the right lexing state. */
enum opener {
    OPEN_PAREN = '(',
    OPEN_CONTROL_PAREN = 'c',
    OPEN_BRACKET = '[',
    OPEN_BLOCK = 'b',
    OPEN_OBJECT = 'o',
    OPEN_TEMPLATE = 't',
};

struct open_bracket {
    size_t pos; /* of the bracket, for "never closed" */
    char kind;  /* enum opener */
};

struct lexer {
    const char *src;
    size_t len, pos;
    struct open_bracket *stack;
    size_t depth, cap;
    struct token prev; /* kind T_END before the first token */
    bool oom;
    /* The first structural problem seen (a hint for the engine's error position) and the
     * first form that is an error in a module but not in the script the engine checks. */
    const char *hint;
    size_t hint_pos;
    bool hint_at_end;
    const char *fatal;
    size_t fatal_pos;
};

/* After these words an expression starts, so `/` begins a regex. */
static const char *const words_before_expression[] = {
    "return", "typeof", "case", "do", "else", "in", "of", "new", "delete", "void", "throw",
    "instanceof", "yield", "await", "extends", "default", NULL,
};

/* After these words `{` is an object literal rather than a block. */
static const char *const words_before_object[] = {
    "return", "typeof", "case", "in", "of", "new", "delete", "void", "throw", "instanceof",
    "yield", "await", "default", NULL,
};

static const char *const control_words[] = { "if", "while", "for", "with", NULL };

/* Words that cannot name a local binding in module (strict) code. */
static const char *const reserved_words[] = {
    "await", "break", "case", "catch", "class", "const", "continue", "debugger", "default",
    "delete", "do", "else", "enum", "export", "extends", "false", "finally", "for",
    "function", "if", "implements", "import", "in", "instanceof", "interface", "let", "new",
    "null", "package", "private", "protected", "public", "return", "static", "super",
    "switch", "this", "throw", "true", "try", "typeof", "var", "void", "while", "with",
    "yield", NULL,
};

/* Longest first, so the first match is the whole punctuator. */
static const char *const multi_char_puncts[] = {
    ">>>=", "...", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=", "?\?=", "=>", "==",
    "!=", "<=", ">=", "&&", "||", "??", "?.", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=",
    "|=", "^=", "**", "<<", ">>", NULL,
};

static unsigned char byte_at(const char *s, size_t len, size_t i)
{
    return i < len ? (unsigned char)s[i] : 0;
}

static size_t line_terminator_len(const char *s, size_t len, size_t i)
{
    unsigned char c = byte_at(s, len, i);
    if (c == '\n')
        return 1;
    if (c == '\r')
        return byte_at(s, len, i + 1) == '\n' ? 2 : 1;
    if (c == 0xE2 && byte_at(s, len, i + 1) == 0x80 &&
        (byte_at(s, len, i + 2) == 0xA8 || byte_at(s, len, i + 2) == 0xA9))
        return 3; /* U+2028, U+2029 */
    return 0;
}

/* Non-terminator white space, including the Unicode ones a module might contain. */
static size_t space_len(const char *s, size_t len, size_t i)
{
    unsigned char c = byte_at(s, len, i);
    if (c == ' ' || c == '\t' || c == '\v' || c == '\f')
        return 1;
    if (c < 0x80)
        return 0;
    unsigned char c1 = byte_at(s, len, i + 1), c2 = byte_at(s, len, i + 2);
    if (c == 0xC2 && c1 == 0xA0)
        return 2;
    if ((c == 0xEF && c1 == 0xBB && c2 == 0xBF) || (c == 0xE1 && c1 == 0x9A && c2 == 0x80) ||
        (c == 0xE2 && c1 == 0x80 && ((c2 >= 0x80 && c2 <= 0x8A) || c2 == 0xAF)) ||
        (c == 0xE2 && c1 == 0x81 && c2 == 0x9F) || (c == 0xE3 && c1 == 0x80 && c2 == 0x80))
        return 3;
    return 0;
}

/* Columns are reported by the engine in UTF-16 units, so count those, not bytes. */
static size_t utf16_units_of_byte(unsigned char c)
{
    if ((c & 0xC0) == 0x80)
        return 0;
    return c >= 0xF0 ? 2 : 1;
}

static bool is_ascii_ident_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '$' || c == '_';
}

/* Bytes taken by the identifier character at i, 0 if there is none. Any non-ASCII byte
 * that is not white space counts, which is generous but never splits a real identifier. */
static size_t ident_part_len(const char *s, size_t len, size_t i)
{
    unsigned char c = byte_at(s, len, i);
    if (i >= len)
        return 0;
    if (is_ascii_ident_char(c))
        return 1;
    if (c == '\\') {
        size_t j = i + 1;
        if (byte_at(s, len, j) == 'u' && byte_at(s, len, j + 1) == '{') {
            j += 2;
            while (j < len && s[j] != '}' && j - i < 16)
                j++;
        }
        return j < len ? j + 1 - i : len - i;
    }
    if (c >= 0x80 && !space_len(s, len, i) && !line_terminator_len(s, len, i))
        return 1;
    return 0;
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Skips white space and comments from pos; sets *nl if a line terminator was crossed and
 * *open_comment to the start of a block comment that the source ends in. */
static size_t skip_trivia(const char *s, size_t len, size_t pos, bool *nl, size_t *open_comment)
{
    while (pos < len) {
        size_t n = line_terminator_len(s, len, pos);
        if (n) {
            *nl = true;
            pos += n;
            continue;
        }
        n = space_len(s, len, pos);
        if (n) {
            pos += n;
            continue;
        }
        if (s[pos] != '/' || pos + 1 >= len)
            return pos;
        if (s[pos + 1] == '/') {
            pos += 2;
            while (pos < len && !line_terminator_len(s, len, pos))
                pos++;
        } else if (s[pos + 1] == '*') {
            size_t start = pos;
            pos += 2;
            while (pos < len && !(s[pos] == '*' && byte_at(s, len, pos + 1) == '/')) {
                if (line_terminator_len(s, len, pos))
                    *nl = true;
                pos++;
            }
            if (pos >= len) {
                *open_comment = start;
                return len;
            }
            pos += 2;
        } else {
            return pos;
        }
    }
    return pos;
}

static bool token_text_is(const struct lexer *lx, const struct token *tok, const char *text)
{
    size_t n = strlen(text);
    return tok->end - tok->start == n && memcmp(lx->src + tok->start, text, n) == 0;
}

static bool is_punct(const struct lexer *lx, const struct token *tok, const char *text)
{
    return tok->kind == T_PUNCT && token_text_is(lx, tok, text);
}

static bool is_word(const struct lexer *lx, const struct token *tok, const char *text)
{
    return tok->kind == T_IDENT && token_text_is(lx, tok, text);
}

static bool is_word_in(const struct lexer *lx, const struct token *tok,
                       const char *const *list)
{
    if (tok->kind != T_IDENT || tok->after_dot)
        return false;
    for (; *list; list++)
        if (token_text_is(lx, tok, *list))
            return true;
    return false;
}

static bool regex_allowed(const struct lexer *lx)
{
    const struct token *p = &lx->prev;
    switch (p->kind) {
    case T_END:
        return true;
    case T_IDENT:
        return is_word_in(lx, p, words_before_expression);
    case T_TEMPLATE:
        return p->opens_substitution;
    case T_PUNCT:
        if (is_punct(lx, p, ")") || is_punct(lx, p, "}"))
            return p->regex_may_follow;
        return !is_punct(lx, p, "]") && !is_punct(lx, p, "++") && !is_punct(lx, p, "--");
    default:
        return false;
    }
}

/* A `{` after an operator starts an object literal; after `)`, `;`, a name... a block. The
 * difference matters for what `/` means after the matching `}`. */
static bool brace_opens_object(const struct lexer *lx)
{
    const struct token *p = &lx->prev;
    switch (p->kind) {
    case T_IDENT:
        return is_word_in(lx, p, words_before_object);
    case T_TEMPLATE:
        return p->opens_substitution;
    case T_PUNCT: {
        static const char *const block_before[] = { ";", "}", ")", "]", "{", "=>", "++", "--",
                                                    NULL };
        for (const char *const *b = block_before; *b; b++)
            if (is_punct(lx, p, *b))
                return false;
        return true;
    }
    default:
        return false;
    }
}

static void note_hint(struct lexer *lx, size_t pos, const char *what, bool at_end)
{
    if (lx->hint)
        return;
    lx->hint = what;
    lx->hint_pos = pos;
    lx->hint_at_end = at_end;
}

static void push_opener(struct lexer *lx, char kind, size_t pos)
{
    if (lx->depth == lx->cap) {
        size_t cap = lx->cap ? lx->cap * 2 : 32;
        struct open_bracket *stack = realloc(lx->stack, cap * sizeof *stack);
        if (!stack) {
            lx->oom = true;
            return;
        }
        lx->stack = stack;
        lx->cap = cap;
    }
    lx->stack[lx->depth++] = (struct open_bracket){ pos, kind };
}

static char top_opener(const struct lexer *lx)
{
    return lx->depth ? lx->stack[lx->depth - 1].kind : 0;
}

/* Scans template characters from pos up to and including the closing backtick or `${`. */
static size_t scan_template_part(struct lexer *lx, size_t start, size_t pos, bool *opens)
{
    const char *s = lx->src;
    *opens = false;
    while (pos < lx->len) {
        if (s[pos] == '\\') {
            pos += 2;
        } else if (s[pos] == '`') {
            return pos + 1;
        } else if (s[pos] == '$' && byte_at(s, lx->len, pos + 1) == '{') {
            *opens = true;
            return pos + 2;
        } else {
            pos++;
        }
    }
    note_hint(lx, start, "unterminated template literal", true);
    return lx->len;
}

/* A string stops at an unescaped line terminator too, as the real lexer's error would. */
static size_t scan_string(struct lexer *lx, size_t pos)
{
    const char *s = lx->src;
    size_t start = pos;
    char quote = s[pos++];
    while (pos < lx->len) {
        if (s[pos] == quote)
            return pos + 1;
        if (s[pos] == '\\') {
            size_t n = line_terminator_len(s, lx->len, pos + 1);
            pos += 1 + (n ? n : 1);
        } else if (s[pos] == '\n' || s[pos] == '\r') {
            break;
        } else {
            pos++;
        }
    }
    note_hint(lx, start, "unterminated string literal", false);
    return pos < lx->len ? pos : lx->len;
}

static size_t scan_regex(struct lexer *lx, size_t pos)
{
    const char *s = lx->src;
    size_t start = pos;
    bool in_class = false;
    pos++;
    while (pos < lx->len && !line_terminator_len(s, lx->len, pos)) {
        char c = s[pos];
        if (c == '\\') {
            pos += line_terminator_len(s, lx->len, pos + 1) ? 1 : 2;
            continue;
        }
        pos++;
        if (c == '[') {
            in_class = true;
        } else if (c == ']') {
            in_class = false;
        } else if (c == '/' && !in_class) {
            size_t n;
            while ((n = ident_part_len(s, lx->len, pos)) > 0)
                pos += n;
            return pos;
        }
    }
    note_hint(lx, start, "unterminated regular expression literal", false);
    return pos < lx->len ? pos : lx->len;
}

static size_t scan_number(const struct lexer *lx, size_t pos)
{
    const char *s = lx->src;
    bool hex = s[pos] == '0' && (byte_at(s, lx->len, pos + 1) | 0x20) == 'x';
    size_t start = pos;
    while (pos < lx->len) {
        unsigned char c = (unsigned char)s[pos];
        bool exponent_sign = !hex && (c == '+' || c == '-') && pos > start &&
                             (s[pos - 1] | 0x20) == 'e';
        if (!is_ascii_ident_char(c) && c != '.' && !exponent_sign)
            break;
        pos++;
    }
    return pos;
}

static size_t punct_len(const struct lexer *lx, size_t pos)
{
    for (const char *const *p = multi_char_puncts; *p; p++) {
        size_t n = strlen(*p);
        if (lx->len - pos >= n && memcmp(lx->src + pos, *p, n) == 0) {
            /* `a?.5:b` is a conditional, not optional chaining. */
            if (n == 2 && (*p)[0] == '?' && (*p)[1] == '.' &&
                is_digit(byte_at(lx->src, lx->len, pos + 2)))
                continue;
            return n;
        }
    }
    return 1;
}

/* Keeps the bracket stack in step with a punctuator (or a `}` resuming a template). */
static void track_brackets(struct lexer *lx, struct token *tok)
{
    char c = lx->src[tok->start];
    if (tok->end - tok->start != 1)
        return;
    if ((c == ')' || c == ']' || c == '}') && lx->depth == 0) /* would close the wrapper's */
        note_hint(lx, tok->start,
                  c == ')' ? "unmatched ')'" : c == ']' ? "unmatched ']'" : "unmatched '}'", false);
    if (c == '(') {
        push_opener(lx, is_word_in(lx, &lx->prev, control_words) ? OPEN_CONTROL_PAREN
                                                                   : OPEN_PAREN, tok->start);
    } else if (c == '[') {
        push_opener(lx, OPEN_BRACKET, tok->start);
    } else if (c == '{') {
        push_opener(lx, brace_opens_object(lx) ? OPEN_OBJECT : OPEN_BLOCK, tok->start);
    } else if (c == ')') {
        char top = top_opener(lx);
        if (top == OPEN_PAREN || top == OPEN_CONTROL_PAREN) {
            tok->regex_may_follow = top == OPEN_CONTROL_PAREN;
            lx->depth--;
        }
    } else if (c == ']') {
        if (top_opener(lx) == OPEN_BRACKET)
            lx->depth--;
    } else if (c == '}') {
        char top = top_opener(lx);
        if (top == OPEN_TEMPLATE) {
            lx->depth--;
            bool opens;
            tok->kind = T_TEMPLATE;
            tok->end = scan_template_part(lx, lx->stack[lx->depth].pos, tok->start + 1, &opens);
            tok->opens_substitution = opens;
            if (opens)
                push_opener(lx, OPEN_TEMPLATE, lx->stack[lx->depth].pos);
            return;
        }
        tok->regex_may_follow = top != OPEN_OBJECT;
        if (top == OPEN_BLOCK || top == OPEN_OBJECT)
            lx->depth--;
    }
}

static const char *never_closed(char kind)
{
    switch (kind) {
    case OPEN_TEMPLATE:
        return "unterminated template literal";
    case OPEN_BRACKET:
        return "'[' is never closed";
    case OPEN_PAREN:
    case OPEN_CONTROL_PAREN:
        return "'(' is never closed";
    default:
        return "'{' is never closed";
    }
}

static struct token lex_next(struct lexer *lx)
{
    struct token tok = { 0 };
    const struct token *prev = &lx->prev;
    size_t open_comment = SIZE_MAX;
    size_t pos = skip_trivia(lx->src, lx->len, lx->pos, &tok.nl_before, &open_comment);
    tok.start = tok.end = pos;
    tok.depth_before = lx->depth;
    tok.after_dot = is_punct(lx, prev, ".") || is_punct(lx, prev, "?.") || is_punct(lx, prev, "#");
    tok.stmt_start = lx->depth == 0 && !tok.after_dot &&
                     (prev->kind == T_END || is_punct(lx, prev, ";") ||
                      is_punct(lx, prev, "}") || tok.nl_before);
    lx->pos = pos;
    if (pos >= lx->len) {
        if (open_comment != SIZE_MAX)
            note_hint(lx, open_comment, "unterminated comment", true);
        else if (lx->depth)
            note_hint(lx, lx->stack[lx->depth - 1].pos, never_closed(lx->stack[lx->depth - 1].kind), true);
        return tok;
    }

    unsigned char c = (unsigned char)lx->src[pos];
    size_t n;
    if ((c < '0' || c > '9') && (n = ident_part_len(lx->src, lx->len, pos)) > 0) {
        tok.kind = T_IDENT;
        tok.end = pos + n;
        while ((n = ident_part_len(lx->src, lx->len, tok.end)) > 0)
            tok.end += n;
        /* Legal inside functions only: at depth 0 no function encloses it (an arrow's
         * expression body cannot hold `return`; `await` there is a hint only). */
        if (lx->depth == 0 && !tok.after_dot) {
            if (token_text_is(lx, &tok, "return"))
                note_hint(lx, pos, "'return' outside a function (a module cannot return)", false);
            else if (token_text_is(lx, &tok, "await"))
                note_hint(lx, pos, "top-level await is not supported: use await inside an async function", false);
        }
    } else if (is_digit(c) || (c == '.' && is_digit(byte_at(lx->src, lx->len, pos + 1)))) {
        tok.kind = T_NUMBER;
        tok.end = scan_number(lx, pos);
    } else if (c == '\'' || c == '"') {
        tok.kind = T_STRING;
        tok.end = scan_string(lx, pos);
    } else if (c == '`') {
        bool opens;
        tok.kind = T_TEMPLATE;
        tok.end = scan_template_part(lx, pos, pos + 1, &opens);
        tok.opens_substitution = opens;
        if (opens)
            push_opener(lx, OPEN_TEMPLATE, pos);
    } else if (c == '/' && regex_allowed(lx)) {
        tok.kind = T_REGEX;
        tok.end = scan_regex(lx, pos);
    } else {
        tok.kind = T_PUNCT;
        tok.end = pos + punct_len(lx, pos);
        track_brackets(lx, &tok);
        /* The engine checks the body as a script, where these start a comment (Annex B);
         * in a module they do not, so the check would hide the difference. */
        if (!lx->fatal && c == '<' && lx->len - pos >= 4 && memcmp(lx->src + pos, "<!--", 4) == 0) {
            lx->fatal = "'<!--' is not allowed in a module (an HTML-like comment in scripts)";
            lx->fatal_pos = pos;
        } else if (!lx->fatal && tok.nl_before && lx->len - pos >= 3 &&
                   memcmp(lx->src + pos, "-->", 3) == 0) {
            lx->fatal = "'-->' at the start of a line is not allowed in a module (an HTML-like comment in scripts)";
            lx->fatal_pos = pos;
        }
    }
    if (tok.end > lx->len)
        tok.end = lx->len;
    lx->pos = tok.end;
    lx->prev = tok;
    return tok;
}

/* ---------------------------------------------------------------------------------------
 * Output text and export list.
 * ------------------------------------------------------------------------------------- */

struct text {
    char *p;
    size_t len, cap;
};

struct export_entry {
    char *exported;    /* malloc'd; becomes an export_names element */
    const char *local; /* into the source, or DEFAULT_LOCAL, or owned (re-exports) */
    size_t local_len;
    size_t pos;        /* where the exported name is written, for errors */
    bool owns_local;   /* local is malloc'd: `__jsp_r.m[k]["name"]` of a re-export */
};

struct transformer {
    struct lexer lx;
    struct token pending;
    bool has_pending;
    struct text out;
    size_t copied; /* source bytes before this are already in out */
    struct export_entry *exports;
    size_t n_exports, cap_exports;
    char **imports;          /* distinct specifiers of static imports, in source order */
    int *import_lines;
    size_t n_imports, cap_imports;
    size_t *stars;           /* indices into imports of `export * from` */
    size_t n_stars, cap_stars;
    bool linked;             /* an import form was seen: the linked wrapper is needed */
    bool module_syntax;      /* an import or export form was seen (`export {}` included) */
    module_script *result;
    int status;
};

/* Appends to b (the output, or a replacement being built); out of memory fails t. */
static void text_add(struct transformer *t, struct text *b, const char *s, size_t n)
{
    if (t->status != MODULE_TRANSFORM_OK)
        return;
    if (b->cap - b->len <= n) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap - b->len <= n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            t->status = MODULE_TRANSFORM_NOMEM;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void append(struct transformer *t, const char *bytes, size_t n)
{
    text_add(t, &t->out, bytes, n);
}

static void append_str(struct transformer *t, const char *s)
{
    append(t, s, strlen(s));
}

static void copy_source_until(struct transformer *t, size_t pos)
{
    if (pos > t->copied) {
        append(t, t->lx.src + t->copied, pos - t->copied);
        t->copied = pos;
    }
}

/* Line terminators are kept so every later line keeps its number. */
static void append_line_terminators_of(struct transformer *t, size_t start, size_t end)
{
    for (size_t i = start; i < end;) {
        size_t n = line_terminator_len(t->lx.src, end, i);
        if (n)
            append(t, t->lx.src + i, n);
        i += n ? n : 1;
    }
}

/* Spaces of the same width (in UTF-16 units) keep every later column where it was. */
static void blank_source(struct transformer *t, size_t start, size_t end)
{
    copy_source_until(t, start);
    for (size_t i = start; i < end;) {
        size_t n = line_terminator_len(t->lx.src, end, i);
        if (n) {
            append(t, t->lx.src + i, n);
            i += n;
            continue;
        }
        size_t units = utf16_units_of_byte((unsigned char)t->lx.src[i++]);
        append(t, "  ", units);
    }
    t->copied = end;
}

static void replace_source(struct transformer *t, size_t start, size_t end, const char *text)
{
    copy_source_until(t, start);
    append_str(t, text);
    append_line_terminators_of(t, start, end);
    t->copied = end;
}

static void insert_after(struct transformer *t, size_t pos, const char *text)
{
    copy_source_until(t, pos);
    append_str(t, text);
}

static void position_of(const char *s, size_t len, size_t pos, int *line, int *column)
{
    int l = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < pos && i < len;) {
        size_t n = line_terminator_len(s, len, i);
        if (n) {
            l++;
            i += n;
            line_start = i;
        } else {
            i++;
        }
    }
    size_t col = 1;
    for (size_t i = line_start; i < pos && i < len; i++)
        col += utf16_units_of_byte((unsigned char)s[i]);
    *line = l;
    *column = (int)col;
}

static void fail_with(struct transformer *t, int status, size_t pos, const char *what)
{
    if (t->status != MODULE_TRANSFORM_OK)
        return;
    module_script *m = t->result;
    position_of(t->lx.src, t->lx.len, pos, &m->error_line, &m->error_column);
    snprintf(m->error_message, sizeof m->error_message, "%s (line %d)", what, m->error_line);
    t->status = status;
}

static void fail_at(struct transformer *t, size_t pos, const char *what)
{
    fail_with(t, MODULE_TRANSFORM_UNSUPPORTED, pos, what);
}

static struct token next_token(struct transformer *t)
{
    if (t->has_pending) {
        t->has_pending = false;
        return t->pending;
    }
    struct token tok = lex_next(&t->lx);
    if (t->lx.oom && t->status == MODULE_TRANSFORM_OK)
        t->status = MODULE_TRANSFORM_NOMEM;
    if (t->lx.fatal)
        fail_with(t, MODULE_TRANSFORM_SYNTAX, t->lx.fatal_pos, t->lx.fatal);
    if (t->status != MODULE_TRANSFORM_OK)
        tok.kind = T_END;
    return tok;
}

/* One token of lookahead is all the recogniser needs; it never unreads twice in a row. */
static void unread(struct transformer *t, struct token tok)
{
    t->pending = tok;
    t->has_pending = true;
}

/* Looks past the next token without lexing it: only trivia lies in between. */
static size_t peek_significant(const struct transformer *t, bool *nl)
{
    size_t open_comment;
    *nl = false;
    return skip_trivia(t->lx.src, t->lx.len, t->lx.pos, nl, &open_comment);
}

static bool next_is_word_on_same_line(const struct transformer *t, const char *word)
{
    bool nl;
    if (t->has_pending)
        return false;
    size_t p = peek_significant(t, &nl);
    size_t n = strlen(word);
    return !nl && t->lx.len - p >= n && memcmp(t->lx.src + p, word, n) == 0 &&
           !ident_part_len(t->lx.src, t->lx.len, p + n);
}

static bool add_export(struct transformer *t, const char *name, size_t name_len,
                       const char *local, size_t local_len, size_t pos)
{
    if (t->status != MODULE_TRANSFORM_OK)
        return false;
    /* Both names are copied into the wrapper's tail, which the engine's body check does
     * not cover: only plain identifier text may go there (and `\u0061` would be listed
     * under its spelling, not under "a"). */
    if (memchr(local, '\\', local_len) || memchr(name, '\\', name_len)) {
        fail_at(t, pos, "escape sequences in exported identifiers are not supported");
        return false;
    }
    if (t->n_exports == t->cap_exports) {
        size_t cap = t->cap_exports ? t->cap_exports * 2 : 8;
        struct export_entry *e = realloc(t->exports, cap * sizeof *e);
        if (!e) {
            t->status = MODULE_TRANSFORM_NOMEM;
            return false;
        }
        t->exports = e;
        t->cap_exports = cap;
    }
    char *copy = malloc(name_len + 1);
    if (!copy) {
        t->status = MODULE_TRANSFORM_NOMEM;
        return false;
    }
    memcpy(copy, name, name_len);
    copy[name_len] = '\0';
    t->exports[t->n_exports++] =
        (struct export_entry){ copy, local, local_len, pos, false };
    return true;
}

static bool add_binding_export(struct transformer *t, const struct token *name)
{
    const char *text = t->lx.src + name->start;
    size_t n = name->end - name->start;
    return add_export(t, text, n, text, n, name->start);
}

/* Forgets exports of a form that turned out not to be one we understand. */
static void drop_exports_from(struct transformer *t, size_t mark)
{
    while (t->n_exports > mark) {
        struct export_entry *e = &t->exports[--t->n_exports];
        free(e->exported);
        if (e->owns_local)
            free((char *)e->local);
    }
}

/* Checked once a form is complete, so a re-export is reported as such, not as a dup. */
static bool exports_are_unique_from(struct transformer *t, size_t mark)
{
    for (size_t i = mark; i < t->n_exports; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(t->exports[i].exported, t->exports[j].exported) == 0) {
                char what[140];
                snprintf(what, sizeof what, "duplicate export '%.100s'",
                         t->exports[i].exported);
                fail_at(t, t->exports[i].pos, what);
                return false;
            }
        }
    }
    return true;
}

/* ---------------------------------------------------------------------------------------
 * Export recogniser.
 * ------------------------------------------------------------------------------------- */

static bool ends_operand(const struct lexer *lx, const struct token *tok)
{
    static const char *const not_operands[] = { "class", "function", NULL };
    switch (tok->kind) {
    case T_IDENT:
        return !is_word_in(lx, tok, words_before_expression) &&
               !is_word_in(lx, tok, not_operands);
    case T_NUMBER:
    case T_STRING:
    case T_REGEX:
        return true;
    case T_TEMPLATE:
        return !tok->opens_substitution;
    case T_PUNCT:
        return is_punct(lx, tok, ")") || is_punct(lx, tok, "]") || is_punct(lx, tok, "}") ||
               is_punct(lx, tok, "++") || is_punct(lx, tok, "--");
    default:
        return false;
    }
}

/* Whether tok, after a line break that follows a complete operand, still continues the
 * expression (so no semicolon is inserted before it). */
static bool continues_expression(const struct lexer *lx, const struct token *tok)
{
    static const char *const starts_new[] = { "{", "!", "~", "++", "--", "#", NULL };
    static const char *const binary_words[] = { "in", "instanceof", NULL };
    if (tok->kind == T_PUNCT) {
        for (const char *const *p = starts_new; *p; p++)
            if (is_punct(lx, tok, *p))
                return false;
        return true;
    }
    if (tok->kind == T_TEMPLATE)
        return true;
    return is_word_in(lx, tok, binary_words);
}

static bool closes_enclosing(const struct lexer *lx, const struct token *tok)
{
    return is_punct(lx, tok, ")") || is_punct(lx, tok, "]") || is_punct(lx, tok, "}") ||
           (tok->kind == T_TEMPLATE && lx->src[tok->start] == '}');
}

/* Consumes an expression whose tokens sit at depth `base` and returns the already
 * consumed token after it: `,` or `;` at that depth, a bracket closing an enclosing one,
 * the token before which ASI ends the statement (if asked), or T_END. */
static struct token skip_expression(struct transformer *t, size_t base, bool stop_at_asi)
{
    bool prev_ends_operand = false;
    for (;;) {
        struct token tok = next_token(t);
        if (tok.kind == T_END)
            return tok;
        if (tok.depth_before == base) {
            if (is_punct(&t->lx, &tok, ",") || is_punct(&t->lx, &tok, ";") ||
                closes_enclosing(&t->lx, &tok))
                return tok;
            if (stop_at_asi && tok.nl_before && prev_ends_operand &&
                !continues_expression(&t->lx, &tok))
                return tok;
        }
        prev_ends_operand = ends_operand(&t->lx, &tok);
    }
}

static bool parse_binding_target(struct transformer *t, struct token tok);

/* Skips an optional `= default` inside a destructuring pattern. */
static void skip_pattern_default(struct transformer *t, size_t inner)
{
    struct token after = next_token(t);
    if (is_punct(&t->lx, &after, "="))
        after = skip_expression(t, inner, false);
    unread(t, after);
}

static bool parse_object_pattern(struct transformer *t, size_t inner)
{
    for (;;) {
        struct token tok = next_token(t);
        if (tok.kind == T_END)
            return false;
        if (is_punct(&t->lx, &tok, "}"))
            return true;
        if (is_punct(&t->lx, &tok, ","))
            continue;
        if (is_punct(&t->lx, &tok, "...")) {
            if (!parse_binding_target(t, next_token(t)))
                return false;
            continue;
        }
        if (tok.kind == T_IDENT) {
            struct token after = next_token(t);
            if (!is_punct(&t->lx, &after, ":")) {
                unread(t, after);
                if (!add_binding_export(t, &tok))
                    return false;
                skip_pattern_default(t, inner);
                continue;
            }
        } else if (is_punct(&t->lx, &tok, "[")) {
            /* A computed key; the `:` check below rejects anything malformed. */
            struct token close;
            do
                close = skip_expression(t, inner + 1, false);
            while (is_punct(&t->lx, &close, ","));
            struct token colon = next_token(t);
            if (!is_punct(&t->lx, &colon, ":"))
                return false;
        } else if (tok.kind == T_STRING || tok.kind == T_NUMBER) {
            struct token colon = next_token(t);
            if (!is_punct(&t->lx, &colon, ":"))
                return false;
        } else {
            return false;
        }
        if (!parse_binding_target(t, next_token(t)))
            return false;
        skip_pattern_default(t, inner);
    }
}

static bool parse_array_pattern(struct transformer *t, size_t inner)
{
    for (;;) {
        struct token tok = next_token(t);
        if (tok.kind == T_END)
            return false;
        if (is_punct(&t->lx, &tok, "]"))
            return true;
        if (is_punct(&t->lx, &tok, ","))
            continue;
        if (is_punct(&t->lx, &tok, "..."))
            tok = next_token(t);
        if (!parse_binding_target(t, tok))
            return false;
        skip_pattern_default(t, inner);
    }
}

/* A binding identifier or a destructuring pattern; every bound name is exported. */
static bool parse_binding_target(struct transformer *t, struct token tok)
{
    if (tok.kind == T_IDENT)
        return add_binding_export(t, &tok);
    if (is_punct(&t->lx, &tok, "{"))
        return parse_object_pattern(t, tok.depth_before + 1);
    if (is_punct(&t->lx, &tok, "["))
        return parse_array_pattern(t, tok.depth_before + 1);
    return false;
}

/* The declarator list after `const`/`let`/`var`. */
static bool parse_declarators(struct transformer *t)
{
    for (;;) {
        struct token target = next_token(t);
        if (!parse_binding_target(t, target))
            return false;
        struct token after = next_token(t);
        if (is_punct(&t->lx, &after, "="))
            after = skip_expression(t, after.depth_before, true);
        if (is_punct(&t->lx, &after, ","))
            continue;
        if (!is_punct(&t->lx, &after, ";"))
            unread(t, after);
        return true;
    }
}

static bool is_local_name(const struct transformer *t, const struct token *tok)
{
    return tok->kind == T_IDENT && !is_word_in(&t->lx, tok, reserved_words);
}

/* Adds `local as exported` from an export clause; a string exported name is allowed. */
static bool add_clause_export(struct transformer *t, const struct token *local,
                              const struct token *exported)
{
    const char *name = t->lx.src + exported->start;
    size_t name_len = exported->end - exported->start;
    if (exported->kind == T_STRING) {
        if (name_len < 2 || name[name_len - 1] != name[0])
            return false;
        name++;
        name_len -= 2;
        if (memchr(name, '\\', name_len)) {
            fail_at(t, exported->start, "export names with escape sequences are not supported");
            return false;
        }
    }
    return add_export(t, name, name_len, t->lx.src + local->start, local->end - local->start,
                      exported->start);
}

static long import_specifier(struct transformer *t, struct token tok);
static size_t skip_import_attributes(struct transformer *t, size_t end);
static void text_add_str(struct transformer *t, struct text *b, const char *s);
static bool add_name_literal(struct transformer *t, struct text *b, const char *name, size_t n);
static bool own_reexport_local(struct transformer *t, struct export_entry *e, long k);
static void handle_export_star(struct transformer *t, struct token ex, size_t mark);

/* `export { a, b as c }` — blanked entirely, names mapped in the returned object.
 * `export { a, default as c } from 'm'` — replaced by a check that m provides a and
 * default, the names mapped to getters reading m's namespace. */
static void handle_export_clause(struct transformer *t, struct token ex, size_t mark)
{
    bool all_locals_valid = true;
    struct token tok;
    for (;;) {
        tok = next_token(t);
        if (is_punct(&t->lx, &tok, "}"))
            break;
        struct token local = tok;
        if (local.kind != T_IDENT && local.kind != T_STRING)
            goto malformed;
        all_locals_valid = all_locals_valid && is_local_name(t, &local);
        struct token exported = local;
        tok = next_token(t);
        if (is_word(&t->lx, &tok, "as")) {
            exported = next_token(t);
            if (exported.kind != T_IDENT && exported.kind != T_STRING)
                goto malformed;
            tok = next_token(t);
        }
        if (!add_clause_export(t, &local, &exported))
            goto malformed;
        if (is_punct(&t->lx, &tok, "}"))
            break;
        if (!is_punct(&t->lx, &tok, ","))
            goto malformed;
    }
    size_t end = tok.end;
    struct token after = next_token(t);
    if (is_word(&t->lx, &after, "from")) {
        long k = import_specifier(t, next_token(t));
        if (k < 0)
            return;
        end = skip_import_attributes(t, t->lx.prev.end);
        struct text check = {0};
        char head[48];
        snprintf(head, sizeof head, "__jsp_r.g(%ld,[", k);
        text_add_str(t, &check, head);
        for (size_t i = mark; i < t->n_exports; i++) {
            struct export_entry *e = &t->exports[i];
            if (i > mark)
                text_add_str(t, &check, ",");
            if (!add_name_literal(t, &check, e->local, e->local_len) ||
                !own_reexport_local(t, e, k))
                break;
        }
        text_add_str(t, &check, "]);");
        if (t->status == MODULE_TRANSFORM_OK && exports_are_unique_from(t, mark))
            replace_source(t, ex.start, end, check.p);
        free(check.p);
        return;
    }
    if (!all_locals_valid) {
        /* Only legal with `from`; leave it for the engine's syntax error. */
        drop_exports_from(t, mark);
        unread(t, after);
        return;
    }
    if (is_punct(&t->lx, &after, ";"))
        end = after.end;
    else
        unread(t, after);
    if (exports_are_unique_from(t, mark))
        blank_source(t, ex.start, end);
    return;
malformed:
    drop_exports_from(t, mark);
    unread(t, tok);
}

/* Skips an anonymous function or class to the `}` ending its body and closes the wrapper
 * opened before it. The wrapper gives it the name "default" as a module would; the `;`
 * matters because it is an expression now, and a next line starting with `(` or `[` would
 * otherwise call or index it. */
static void close_default_wrapper(struct transformer *t, size_t base)
{
    struct token tok;
    do {
        tok = next_token(t);
        if (tok.kind == T_END)
            return;
    } while (!(is_punct(&t->lx, &tok, "{") && tok.depth_before == base));
    do {
        tok = next_token(t);
        if (tok.kind == T_END)
            return;
    } while (!(is_punct(&t->lx, &tok, "}") && tok.depth_before == base + 1));
    insert_after(t, tok.end, "}.default;");
}

static void handle_export_default(struct transformer *t, struct token ex, struct token kw,
                                  size_t mark)
{
    struct token tok = next_token(t);
    if (tok.kind == T_END)
        return;
    bool is_async_function =
        is_word(&t->lx, &tok, "async") && next_is_word_on_same_line(t, "function");
    bool is_declaration = is_async_function || is_word(&t->lx, &tok, "function") ||
                          is_word(&t->lx, &tok, "class");
    if (is_declaration) {
        bool is_class = is_word(&t->lx, &tok, "class");
        if (is_async_function)
            next_token(t);
        struct token name = next_token(t);
        if (!is_class && is_punct(&t->lx, &name, "*"))
            name = next_token(t);
        if (is_local_name(t, &name)) {
            const char *local = t->lx.src + name.start;
            if (add_export(t, "default", 7, local, name.end - name.start, kw.start) &&
                exports_are_unique_from(t, mark))
                blank_source(t, ex.start, kw.end);
            return;
        }
        unread(t, name);
    } else {
        unread(t, tok);
    }
    if (!add_export(t, "default", 7, DEFAULT_LOCAL, strlen(DEFAULT_LOCAL), kw.start) ||
        !exports_are_unique_from(t, mark))
        return;
    if (is_declaration) {
        replace_source(t, ex.start, kw.end, "const " DEFAULT_LOCAL " = {default:");
        close_default_wrapper(t, ex.depth_before);
    } else {
        replace_source(t, ex.start, kw.end, "const " DEFAULT_LOCAL " =");
    }
}

/* `export function|async function|class NAME` — the declaration stays, `export` goes. */
static void handle_export_declaration(struct transformer *t, struct token ex,
                                      struct token tok, size_t mark)
{
    if (is_word(&t->lx, &tok, "async")) {
        if (!next_is_word_on_same_line(t, "function")) {
            unread(t, tok);
            return;
        }
        tok = next_token(t);
    }
    bool is_class = is_word(&t->lx, &tok, "class");
    if (!is_class && !is_word(&t->lx, &tok, "function")) {
        unread(t, tok);
        return;
    }
    struct token name = next_token(t);
    if (!is_class && is_punct(&t->lx, &name, "*"))
        name = next_token(t);
    if (!is_local_name(t, &name)) {
        unread(t, name);
        return;
    }
    if (add_binding_export(t, &name) && exports_are_unique_from(t, mark))
        blank_source(t, ex.start, ex.end);
}

static void handle_export(struct transformer *t, struct token ex)
{
    size_t mark = t->n_exports;
    t->module_syntax = true;
    struct token tok = next_token(t);
    if (is_word(&t->lx, &tok, "default")) {
        handle_export_default(t, ex, tok, mark);
    } else if (is_punct(&t->lx, &tok, "{")) {
        handle_export_clause(t, ex, mark);
    } else if (is_punct(&t->lx, &tok, "*")) {
        handle_export_star(t, ex, mark);
    } else if (is_word(&t->lx, &tok, "const") || is_word(&t->lx, &tok, "let") ||
               is_word(&t->lx, &tok, "var")) {
        if (parse_declarators(t) && exports_are_unique_from(t, mark))
            blank_source(t, ex.start, ex.end);
        else
            drop_exports_from(t, mark);
    } else {
        handle_export_declaration(t, ex, tok, mark);
    }
}

/* ---------------------------------------------------------------------------------------
 * Import recogniser. Static imports become reads of the namespaces the linker
 * (engine_modules.c) hands the module function as `__jsp_r`:
 *   import d, {a, b as c} from 'm'  ->  let d, a, c; __jsp_r.b(k,["default","a","b"],
 *                                         (__jsp_v) => { ({"default": d, "a": a, "b": c} = __jsp_v); });
 *   import * as ns from 'm'          ->  const ns = __jsp_r.g(k,[]);
 *   import 'm'                       ->  __jsp_r.g(k,[]);
 * where k indexes the module's distinct specifiers (module_script.imports), evaluated
 * before the body runs; g and b check that m provides the names, and b sets them
 * through the arrow function: when the statement runs, and again when m finishes if m
 * was still running (an import cycle), so a name not yet initialised then is bound
 * once it is. `import(x)` becomes `__jsp_r.d(x)` and `import.meta` `__jsp_r.meta`.
 * Imported names are otherwise a snapshot, not live bindings; `* as ns` is the live
 * namespace.
 * ------------------------------------------------------------------------------------- */

static void text_add_str(struct transformer *t, struct text *b, const char *s)
{
    text_add(t, b, s, strlen(s));
}

/* An import or export name as a JS string literal: a string token as written, an
 * identifier quoted. Escapes are refused: the text lands outside the checked body. */
static bool add_name_literal(struct transformer *t, struct text *b, const char *name, size_t n)
{
    if (memchr(name, '\\', n) || n == 0) {
        fail_at(t, (size_t)(name - t->lx.src), "escape sequences in imported names are not supported");
        return false;
    }
    if (name[0] == '"' || name[0] == '\'') {
        text_add_str(t, b, "\"");
        text_add(t, b, name + 1, n - 2);
        text_add_str(t, b, "\"");
        return !memchr(name + 1, '"', n - 2) || (fail_at(t, (size_t)(name - t->lx.src), "quotes in imported names are not supported"), false);
    }
    text_add_str(t, b, "\"");
    text_add(t, b, name, n);
    text_add_str(t, b, "\"");
    return true;
}

/* A re-export's getter reads the dependency's namespace: `__jsp_r.m[k]["name"]`. */
static bool own_reexport_local(struct transformer *t, struct export_entry *e, long k)
{
    struct text b = {0};
    char head[40];
    snprintf(head, sizeof head, "__jsp_r.m[%ld][", k);
    text_add_str(t, &b, head);
    if (e->local_len && !add_name_literal(t, &b, e->local, e->local_len)) {
        free(b.p);
        return false;
    }
    if (e->local_len)
        text_add_str(t, &b, "]");
    else /* `export * as ns`: the namespace itself */
        b.len--, b.p[b.len] = '\0';
    if (t->status != MODULE_TRANSFORM_OK) {
        free(b.p);
        return false;
    }
    e->local = b.p;
    e->local_len = b.len;
    e->owns_local = true;
    return true;
}

/* The index of a static import's specifier (a string token), added if new; -1 on error. */
static long import_specifier(struct transformer *t, struct token tok)
{
    if (t->status != MODULE_TRANSFORM_OK)
        return -1;
    const char *text = t->lx.src + tok.start;
    size_t n = tok.end - tok.start;
    if (tok.kind != T_STRING || n < 2 || text[n - 1] != text[0]) {
        fail_with(t, MODULE_TRANSFORM_SYNTAX, tok.start, "expected a module specifier string");
        return -1;
    }
    text++;
    n -= 2;
    if (memchr(text, '\\', n) || memchr(text, '\0', n) || n == 0) {
        fail_at(t, tok.start, "module specifiers must be non-empty and without escape sequences");
        return -1;
    }
    t->linked = true;
    for (size_t i = 0; i < t->n_imports; i++)
        if (strlen(t->imports[i]) == n && memcmp(t->imports[i], text, n) == 0)
            return (long)i;
    if (t->n_imports == t->cap_imports) {
        size_t cap = t->cap_imports ? t->cap_imports * 2 : 8;
        char **v = realloc(t->imports, cap * sizeof *v);
        if (v)
            t->imports = v;
        int *lines = v ? realloc(t->import_lines, cap * sizeof *lines) : NULL;
        if (!lines) {
            t->status = MODULE_TRANSFORM_NOMEM;
            return -1;
        }
        t->import_lines = lines;
        t->cap_imports = cap;
    }
    int column;
    position_of(t->lx.src, t->lx.len, tok.start, &t->import_lines[t->n_imports], &column);
    char *copy = malloc(n + 1);
    if (!copy) {
        t->status = MODULE_TRANSFORM_NOMEM;
        return -1;
    }
    memcpy(copy, text, n);
    copy[n] = '\0';
    t->imports[t->n_imports] = copy;
    return (long)t->n_imports++;
}

/* Skips `with { type: "json" }` (or the older `assert {...}`) and a `;` after the
 * specifier; returns the end of the statement. The attributes are not checked: a JSON
 * module is recognised by its resolved name (.json). */
static size_t skip_import_attributes(struct transformer *t, size_t end)
{
    struct token tok = next_token(t);
    if ((is_word(&t->lx, &tok, "with") || is_word(&t->lx, &tok, "assert")) && !tok.nl_before) {
        struct token open = next_token(t);
        if (!is_punct(&t->lx, &open, "{")) {
            unread(t, open);
            return end;
        }
        do {
            tok = next_token(t);
        } while (tok.kind != T_END && !(is_punct(&t->lx, &tok, "}") &&
                                        tok.depth_before == open.depth_before + 1));
        end = tok.end;
        tok = next_token(t);
    }
    if (is_punct(&t->lx, &tok, ";"))
        return tok.end;
    unread(t, tok);
    return end;
}

static bool is_binding_name(const struct transformer *t, const struct token *tok)
{
    return tok->kind == T_IDENT && !is_word_in(&t->lx, tok, reserved_words) &&
           !memchr(t->lx.src + tok->start, '\\', tok->end - tok->start);
}

static void append_binding(struct transformer *t, struct text *b, const struct token *tok)
{
    text_add(t, b, t->lx.src + tok->start, tok->end - tok->start);
}

/* `import ...` at statement start, not `import(` or `import.meta`. */
static void handle_import_statement(struct transformer *t, struct token im)
{
    struct text pattern = {0}, names = {0}, locals = {0}; /* `"a": b, ...`, `"a",...`, `b, ...` */
    struct token ns = {0}, tok = next_token(t);
    bool has_ns = false;
    if (tok.kind == T_STRING) { /* import 'm' */
        long k = import_specifier(t, tok);
        size_t end = skip_import_attributes(t, tok.end);
        if (k >= 0) {
            char text[48];
            snprintf(text, sizeof text, "__jsp_r.g(%ld,[]);", k);
            replace_source(t, im.start, end, text);
        }
        return;
    }
    if (is_binding_name(t, &tok)) { /* default binding */
        text_add_str(t, &pattern, "\"default\": ");
        append_binding(t, &pattern, &tok);
        append_binding(t, &locals, &tok);
        text_add_str(t, &names, "\"default\"");
        tok = next_token(t);
        if (!is_punct(&t->lx, &tok, ","))
            goto from;
        tok = next_token(t);
    }
    if (is_punct(&t->lx, &tok, "*")) {
        tok = next_token(t);
        if (!is_word(&t->lx, &tok, "as"))
            goto malformed;
        ns = next_token(t);
        if (!is_binding_name(t, &ns))
            goto malformed;
        has_ns = true;
        tok = next_token(t);
    } else if (is_punct(&t->lx, &tok, "{")) {
        for (;;) {
            tok = next_token(t);
            if (is_punct(&t->lx, &tok, "}"))
                break;
            struct token imported = tok, local = tok;
            if (imported.kind != T_IDENT && imported.kind != T_STRING)
                goto malformed;
            tok = next_token(t);
            if (is_word(&t->lx, &tok, "as")) {
                local = next_token(t);
                tok = next_token(t);
            }
            if (!is_binding_name(t, &local))
                goto malformed;
            if (pattern.len) {
                text_add_str(t, &pattern, ", ");
                text_add_str(t, &locals, ", ");
            }
            if (names.len)
                text_add_str(t, &names, ",");
            if (!add_name_literal(t, &pattern, t->lx.src + imported.start, imported.end - imported.start) ||
                !add_name_literal(t, &names, t->lx.src + imported.start, imported.end - imported.start))
                goto done;
            text_add_str(t, &pattern, ": ");
            append_binding(t, &pattern, &local);
            append_binding(t, &locals, &local);
            if (is_punct(&t->lx, &tok, "}"))
                break;
            if (!is_punct(&t->lx, &tok, ","))
                goto malformed;
        }
        tok = next_token(t);
    } else if (!pattern.len) {
        goto malformed;
    }
from:
    if (!is_word(&t->lx, &tok, "from"))
        goto malformed;
    tok = next_token(t);
    long k = import_specifier(t, tok);
    if (k < 0)
        goto done;
    size_t end = skip_import_attributes(t, tok.end);
    struct text out = {0};
    char call[64];
    if (has_ns) {
        text_add_str(t, &out, "const ");
        append_binding(t, &out, &ns);
        snprintf(call, sizeof call, " = __jsp_r.g(%ld,[]);", k);
        text_add_str(t, &out, call);
    }
    if (pattern.len) {
        text_add_str(t, &out, "let ");
        text_add(t, &out, locals.p, locals.len);
        snprintf(call, sizeof call, "; __jsp_r.b(%ld,[", k);
        text_add_str(t, &out, call);
        text_add(t, &out, names.p, names.len);
        text_add_str(t, &out, "], (__jsp_v) => { ({");
        text_add(t, &out, pattern.p, pattern.len);
        text_add_str(t, &out, "} = __jsp_v); });");
    } else if (!has_ns) { /* import {} from 'm' */
        snprintf(call, sizeof call, "__jsp_r.g(%ld,[]);", k);
        text_add_str(t, &out, call);
    }
    if (t->status == MODULE_TRANSFORM_OK)
        replace_source(t, im.start, end, out.p);
    free(out.p);
    goto done;
malformed:
    fail_with(t, MODULE_TRANSFORM_SYNTAX, tok.start < t->lx.len ? tok.start : im.start,
              "malformed import statement");
done:
    free(pattern.p);
    free(names.p);
    free(locals.p);
}

/* `export * from 'm'` and `export * as ns from 'm'`. */
static void handle_export_star(struct transformer *t, struct token ex, size_t mark)
{
    struct token tok = next_token(t), name = {0};
    bool has_name = false;
    if (is_word(&t->lx, &tok, "as")) {
        name = next_token(t);
        if (name.kind != T_IDENT && name.kind != T_STRING)
            goto malformed;
        has_name = true;
        tok = next_token(t);
    }
    if (!is_word(&t->lx, &tok, "from"))
        goto malformed;
    tok = next_token(t);
    long k = import_specifier(t, tok);
    if (k < 0)
        return;
    size_t end = skip_import_attributes(t, tok.end);
    if (has_name) {
        if (!add_clause_export(t, &name, &name) || !exports_are_unique_from(t, mark))
            return;
        t->exports[t->n_exports - 1].local_len = 0;
        if (!own_reexport_local(t, &t->exports[t->n_exports - 1], k))
            return;
    } else {
        if (t->n_stars == t->cap_stars) {
            size_t cap = t->cap_stars ? t->cap_stars * 2 : 4;
            size_t *v = realloc(t->stars, cap * sizeof *v);
            if (!v) {
                t->status = MODULE_TRANSFORM_NOMEM;
                return;
            }
            t->stars = v;
            t->cap_stars = cap;
        }
        t->stars[t->n_stars++] = (size_t)k;
    }
    char text[48];
    snprintf(text, sizeof text, "__jsp_r.g(%ld,[]);", k);
    replace_source(t, ex.start, end, text);
    return;
malformed:
    fail_with(t, MODULE_TRANSFORM_SYNTAX, tok.start, "malformed export * statement");
}

/* `import(...) {` is a method named import (`class K { static import() {} }`): looks
 * ahead to the `)` closing the parameters and back again. */
static bool import_names_a_method(struct transformer *t)
{
    struct lexer saved = t->lx;
    struct token open = lex_next(&t->lx), tok;
    do {
        tok = lex_next(&t->lx);
    } while (tok.kind != T_END && !(is_punct(&t->lx, &tok, ")") &&
                                    tok.depth_before == open.depth_before + 1));
    tok = lex_next(&t->lx);
    bool is_method = is_punct(&t->lx, &tok, "{");
    struct open_bracket *stack = t->lx.stack; /* may have moved; its contents below
                                                 saved.depth are untouched */
    size_t cap = t->lx.cap;
    bool oom = t->lx.oom;
    t->lx = saved;
    t->lx.stack = stack;
    t->lx.cap = cap;
    t->lx.oom = oom;
    return is_method;
}

/* `import(` anywhere is a dynamic import, `import.meta` the module's meta object; at
 * statement start anything else is an import statement. */
static void handle_import(struct transformer *t, struct token im)
{
    bool nl;
    size_t p = peek_significant(t, &nl);
    char next = p < t->lx.len && !t->has_pending ? t->lx.src[p] : 0;
    if (next == '(' && import_names_a_method(t)) {
        return;
    } else if (next == '(') {
        t->linked = true;
        replace_source(t, im.start, im.end, "__jsp_r.d");
    } else if (next == '.') {
        t->linked = true;
        replace_source(t, im.start, im.end, "__jsp_r");
    } else if (im.stmt_start) {
        handle_import_statement(t, im);
    }
}

static void transform_body(struct transformer *t)
{
    /* A hashbang is legal at the start of a module but not inside a function. */
    if (t->lx.len >= 2 && t->lx.src[0] == '#' && t->lx.src[1] == '!') {
        size_t eol = 2;
        while (eol < t->lx.len && !line_terminator_len(t->lx.src, t->lx.len, eol))
            eol++;
        blank_source(t, 0, eol);
        t->lx.pos = eol;
    }
    for (;;) {
        struct token tok = next_token(t);
        if (tok.kind == T_END)
            break;
        if (tok.stmt_start && is_word(&t->lx, &tok, "export"))
            handle_export(t, tok);
        else if (!tok.after_dot && is_word(&t->lx, &tok, "import"))
            handle_import(t, tok);
    }
    copy_source_until(t, t->lx.len);
}

/* Names are identifiers or escape-free strings, so only a quote can need escaping. */
static void append_quoted(struct transformer *t, const char *s)
{
    append(t, "\"", 1);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            append(t, "\\", 1);
        append(t, s, 1);
    }
    append(t, "\"", 1);
}

/* The leading newline ends a trailing `//` comment; the `;` ends an unterminated
 * statement. Linked modules define their getters in a hoisted function the prefix hands
 * to the linker before the body runs (so a module in an import cycle sees the names of
 * one still running), with the indices of their `export *` dependencies. */
static void append_exports_object(struct transformer *t)
{
    append_str(t, t->linked ? "\n;function __jsp_x(){return [{" : "\n;return {");
    for (size_t i = 0; i < t->n_exports; i++) {
        const struct export_entry *e = &t->exports[i];
        if (i)
            append_str(t, ", ");
        append_str(t, "get ");
        append_quoted(t, e->exported);
        append_str(t, "(){return ");
        append(t, e->local, e->local_len);
        append_str(t, ";}");
    }
    if (!t->linked) {
        append_str(t, "};})");
        return;
    }
    append_str(t, "}, [");
    for (size_t i = 0; i < t->n_stars; i++) {
        char k[24];
        snprintf(k, sizeof k, "%s%zu", i ? "," : "", t->stars[i]);
        append_str(t, k);
    }
    append_str(t, "]];}})");
}

static int hand_over_names(struct transformer *t, module_script *out)
{
    if (t->n_exports == 0)
        return MODULE_TRANSFORM_OK;
    out->export_names = malloc(t->n_exports * sizeof *out->export_names);
    if (!out->export_names)
        return MODULE_TRANSFORM_NOMEM;
    for (size_t i = 0; i < t->n_exports; i++) {
        out->export_names[i] = t->exports[i].exported;
        if (t->exports[i].owns_local)
            free((char *)t->exports[i].local);
    }
    out->export_count = t->n_exports;
    t->n_exports = 0;
    return MODULE_TRANSFORM_OK;
}

int module_transform(const char *source, size_t len, module_script *out)
{
    if (!out)
        return MODULE_TRANSFORM_UNSUPPORTED;
    memset(out, 0, sizeof *out);
    if (!source) {
        source = "";
        len = 0;
    }
    struct transformer t = { .lx = { .src = source, .len = len }, .result = out };
    append_str(&t, SCRIPT_PREFIX);
    size_t body_start = strlen(SCRIPT_WRAPPER_OPEN);
    transform_body(&t);
    size_t body_end = t.out.len;
    append_exports_object(&t);
    if (t.lx.hint) {
        position_of(source, len, t.lx.hint_pos, &out->hint_line, &out->hint_column);
        snprintf(out->hint, sizeof out->hint, "%s", t.lx.hint);
        out->hint_at_end = t.lx.hint_at_end;
    }
    if (t.status == MODULE_TRANSFORM_OK && t.linked) {
        /* Same body, the linked wrapper's prefix: only line 1's columns move. */
        size_t old_prefix = strlen(SCRIPT_PREFIX), new_prefix = strlen(LINKED_PREFIX);
        char *p = malloc(t.out.len - old_prefix + new_prefix + 1);
        if (p) {
            memcpy(p, LINKED_PREFIX, new_prefix);
            memcpy(p + new_prefix, t.out.p + old_prefix, t.out.len - old_prefix + 1);
            free(t.out.p);
            t.out.p = p;
            t.out.len = t.out.len - old_prefix + new_prefix;
            body_start = strlen(LINKED_WRAPPER_OPEN);
            body_end = body_end - old_prefix + new_prefix;
        } else {
            t.status = MODULE_TRANSFORM_NOMEM;
        }
    }
    if (t.status == MODULE_TRANSFORM_OK)
        t.status = hand_over_names(&t, out);
    if (t.status == MODULE_TRANSFORM_OK) {
        out->script = t.out.p;
        out->script_len = t.out.len;
        out->line1_prefix_len = strlen(t.linked ? LINKED_PREFIX : SCRIPT_PREFIX);
        out->body_start = body_start;
        out->body_end = body_end;
        out->linked = t.linked;
        out->module_syntax = t.linked || t.module_syntax;
        out->imports = t.imports;
        out->import_lines = t.import_lines;
        out->import_count = t.n_imports;
        t.imports = NULL;
        t.import_lines = NULL;
        t.n_imports = 0;
    } else {
        free(t.out.p);
    }
    drop_exports_from(&t, 0);
    for (size_t i = 0; i < t.n_imports; i++)
        free(t.imports[i]);
    free(t.imports);
    free(t.import_lines);
    free(t.stars);
    free(t.exports);
    free(t.lx.stack);
    return t.status;
}

static char **copy_strings(char *const *from, size_t count)
{
    char **to = calloc(count ? count : 1, sizeof *to);
    for (size_t i = 0; to && i < count; i++)
        if (!(to[i] = strdup(from[i]))) {
            while (i--)
                free(to[i]);
            free(to);
            return NULL;
        }
    return to;
}

int module_script_copy_meta(const module_script *from, module_script *to)
{
    memset(to, 0, sizeof *to);
    to->linked = from->linked;
    to->module_syntax = from->module_syntax;
    to->imports = copy_strings(from->imports, from->import_count);
    to->import_count = to->imports ? from->import_count : 0;
    to->import_lines = malloc((from->import_count ? from->import_count : 1) * sizeof(int));
    to->export_names = copy_strings(from->export_names, from->export_count);
    to->export_count = to->export_names ? from->export_count : 0;
    if (!to->imports || !to->import_lines || !to->export_names) {
        module_script_free(to);
        return MODULE_TRANSFORM_NOMEM;
    }
    if (from->import_count)
        memcpy(to->import_lines, from->import_lines, from->import_count * sizeof(int));
    return MODULE_TRANSFORM_OK;
}

void module_script_free(module_script *m)
{
    if (!m)
        return;
    free(m->script);
    for (size_t i = 0; i < m->export_count; i++)
        free(m->export_names[i]);
    free(m->export_names);
    for (size_t i = 0; i < m->import_count; i++)
        free(m->imports[i]);
    free(m->imports);
    free(m->import_lines);
    m->imports = NULL;
    m->import_lines = NULL;
    m->import_count = 0;
    m->script = NULL;
    m->script_len = 0;
    m->export_names = NULL;
    m->export_count = 0;
}
