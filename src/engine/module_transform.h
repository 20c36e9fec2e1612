/* module_transform.h — turns ES module source into a classic script that JavaScriptCore's
 * C API (which has no module loader) can evaluate. Pure text processing: no engine calls,
 * no global state, safe from any thread. */
#ifndef JSPOOL_MODULE_TRANSFORM_H
#define JSPOOL_MODULE_TRANSFORM_H

#include <stddef.h>

/* The rewritten module. Evaluating `script` as a classic script yields a function; calling
 * it with no arguments runs the module body once (strict, in its own function scope) and
 * returns an object whose getters read the live exported bindings.
 *
 * That holds only if the body cannot close the wrapper early (an unmatched `}`, a
 * top-level `return`, a source ending inside a comment or template that swallows the
 * wrapper's tail...). The lexer here is not a parser, so the guarantee is the engine's:
 * script[body_start, body_end) — the rewritten body after its "use strict" directive,
 * without the wrapper — must parse on its own as a classic script before `script` is
 * evaluated. A complete script followed by "\n;return {...};})" (linked modules:
 * "\n;function __jsp_x(){return [{...}, [...]];}})") can only be the rest of the
 * wrapper's function body. */
typedef struct module_script {
    char *script;            /* NUL-terminated classic script text (malloc'd) */
    size_t script_len;
    size_t line1_prefix_len; /* characters inserted before the original text on line 1 (so
                                column numbers on line 1 can be corrected); no newlines are
                                ever inserted before or inside the original text, so line
                                numbers of the original are preserved */
    /* Nonzero when the source has an import form (static import, export ... from,
     * import(), import.meta): `script` then yields function(__jsp_r) that expects the
     * linker's record (engine_modules.c) and returns nothing; its prefix first calls
     * __jsp_r.x(f) where f() returns [getters object, [indices of `export *` imports]]. */
    int linked;
    int module_syntax;       /* nonzero when the source has an import or export form, even
                                one that exports nothing (`export {}`): it is an ES module */
    char **imports;          /* malloc'd distinct static import specifiers, in source
                                order: the `k` of __jsp_r.g(k, names) / __jsp_r.m[k] */
    int *import_lines;       /* 1-based line of each one's first import */
    size_t import_count;
    char **export_names;     /* malloc'd array of malloc'd names, in source order, "default"
                                for the default export */
    size_t export_count;
    size_t body_start, body_end; /* the body to check on its own (see above) */
    char error_message[160]; /* set when module_transform returns UNSUPPORTED or SYNTAX */
    int error_line, error_column; /* 1-based position of the offending token, for errors */
    /* Where the lexer saw the first structural problem (unmatched bracket, top-level
     * return or await, unterminated literal or comment), or hint[0] == 0. Only a hint: it
     * may be wrong where the lexer misreads the source, so the engine uses it only to
     * place a syntax error that it found itself — on the same line, or for a problem
     * left open at the end (hint_at_end) on that line or after. Columns in UTF-16 units. */
    char hint[96];
    int hint_line, hint_column;
    int hint_at_end;   /* nonzero: "never closed" (the engine reports those at the end) */
} module_script;

enum {
    MODULE_TRANSFORM_OK = 0,
    MODULE_TRANSFORM_UNSUPPORTED = -1,
    MODULE_TRANSFORM_NOMEM = -2,
    MODULE_TRANSFORM_SYNTAX = -3,
};

/* Rewrites `len` bytes of `source` (need not be NUL-terminated) into *out, which is zeroed
 * first. Returns MODULE_TRANSFORM_UNSUPPORTED for duplicate export names and names or
 * specifiers written with escape sequences, MODULE_TRANSFORM_SYNTAX for a malformed
 * import or export-from statement, and MODULE_TRANSFORM_SYNTAX for the HTML-like
 * comments `<!--` and `-->` that a script would accept but a module must not (error_*
 * fields say where). Other syntax errors are not detected here: the text is passed
 * through and the engine reports them. */
int module_transform(const char *source, size_t len, module_script *out);

/* Copies from's findings — linked, imports, import lines, export names — into *to
 * (zeroed first), without the script text or positions: what a cached module
 * (engine_code_cache.c) hands each load. 0, or MODULE_TRANSFORM_NOMEM (*to then freed). */
int module_script_copy_meta(const module_script *from, module_script *to);

/* Frees the fields, not m; safe on a zeroed or failed one. */
void module_script_free(module_script *m);

#endif
