/* module_transform.c — emulates ES modules on an engine without a module loader by
 * rewriting `export` forms in place and wrapping the body in a function that returns live
 * getters. It is a lexer plus an export recogniser, not a parser or a validator: syntax
 * errors pass through for the engine to report (the lexer only notes where the first
 * structural one probably is, for a precise position); static imports are refused.
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
    const char *local; /* into the source, or DEFAULT_LOCAL */
    size_t local_len;
    size_t pos;        /* where the exported name is written, for errors */
};

struct transformer {
    struct lexer lx;
    struct token pending;
    bool has_pending;
    struct text out;
    size_t copied; /* source bytes before this are already in out */
    struct export_entry *exports;
    size_t n_exports, cap_exports;
    module_script *result;
    int status;
};

static void append(struct transformer *t, const char *bytes, size_t n)
{
    if (t->status != MODULE_TRANSFORM_OK)
        return;
    if (t->out.cap - t->out.len <= n) {
        size_t cap = t->out.cap ? t->out.cap : 256;
        while (cap - t->out.len <= n)
            cap *= 2;
        char *p = realloc(t->out.p, cap);
        if (!p) {
            t->status = MODULE_TRANSFORM_NOMEM;
            return;
        }
        t->out.p = p;
        t->out.cap = cap;
    }
    memcpy(t->out.p + t->out.len, bytes, n);
    t->out.len += n;
    t->out.p[t->out.len] = '\0';
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
        (struct export_entry){ copy, local, local_len, pos };
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
    while (t->n_exports > mark)
        free(t->exports[--t->n_exports].exported);
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

/* `export { a, b as c }` — blanked entirely, names mapped in the returned object. */
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
        fail_at(t, ex.start, "export ... from is not supported");
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
    struct token tok = next_token(t);
    if (is_word(&t->lx, &tok, "default")) {
        handle_export_default(t, ex, tok, mark);
    } else if (is_punct(&t->lx, &tok, "{")) {
        handle_export_clause(t, ex, mark);
    } else if (is_punct(&t->lx, &tok, "*")) {
        fail_at(t, ex.start, "export * is not supported");
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

/* `import(` and `import.meta` are expressions; anything else is an import statement. */
static void check_import(struct transformer *t, struct token im)
{
    bool nl;
    size_t p = peek_significant(t, &nl);
    if (p >= t->lx.len || (t->lx.src[p] != '(' && t->lx.src[p] != '.'))
        fail_at(t, im.start, "import statements are not supported");
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
        else if (tok.stmt_start && is_word(&t->lx, &tok, "import"))
            check_import(t, tok);
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
 * statement. */
static void append_exports_object(struct transformer *t)
{
    append_str(t, "\n;return {");
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
    append_str(t, "};})");
}

static int hand_over_names(struct transformer *t, module_script *out)
{
    if (t->n_exports == 0)
        return MODULE_TRANSFORM_OK;
    out->export_names = malloc(t->n_exports * sizeof *out->export_names);
    if (!out->export_names)
        return MODULE_TRANSFORM_NOMEM;
    for (size_t i = 0; i < t->n_exports; i++)
        out->export_names[i] = t->exports[i].exported;
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
    if (t.status == MODULE_TRANSFORM_OK)
        t.status = hand_over_names(&t, out);
    if (t.status == MODULE_TRANSFORM_OK) {
        out->script = t.out.p;
        out->script_len = t.out.len;
        out->line1_prefix_len = strlen(SCRIPT_PREFIX);
        out->body_start = body_start;
        out->body_end = body_end;
    } else {
        free(t.out.p);
    }
    drop_exports_from(&t, 0);
    free(t.exports);
    free(t.lx.stack);
    return t.status;
}

void module_script_free(module_script *m)
{
    if (!m)
        return;
    free(m->script);
    for (size_t i = 0; i < m->export_count; i++)
        free(m->export_names[i]);
    free(m->export_names);
    m->script = NULL;
    m->script_len = 0;
    m->export_names = NULL;
    m->export_count = 0;
}
