/* module_transform.h — turns ES module source into a classic script that JavaScriptCore's
 * C API (which has no module loader) can evaluate. Pure text processing: no engine calls,
 * no global state, safe from any thread. */
#ifndef JSPOOL_MODULE_TRANSFORM_H
#define JSPOOL_MODULE_TRANSFORM_H

#include <stddef.h>

/* The rewritten module. Evaluating `script` as a classic script yields a function; calling
 * it with no arguments runs the module body once (strict, in its own function scope) and
 * returns an object whose getters read the live exported bindings. */
typedef struct module_script {
    char *script;            /* NUL-terminated classic script text (malloc'd) */
    size_t script_len;
    size_t line1_prefix_len; /* characters inserted before the original text on line 1 (so
                                column numbers on line 1 can be corrected); no newlines are
                                ever inserted before or inside the original text, so line
                                numbers of the original are preserved */
    char **export_names;     /* malloc'd array of malloc'd names, in source order, "default"
                                for the default export */
    size_t export_count;
    char error_message[160]; /* set when module_transform returns MODULE_TRANSFORM_UNSUPPORTED */
    int error_line, error_column; /* 1-based position of the offending token, for errors */
} module_script;

enum { MODULE_TRANSFORM_OK = 0, MODULE_TRANSFORM_UNSUPPORTED = -1, MODULE_TRANSFORM_NOMEM = -2 };

/* Rewrites `len` bytes of `source` (need not be NUL-terminated) into *out, which is zeroed
 * first. Returns MODULE_TRANSFORM_UNSUPPORTED for static `import`, `export ... from`,
 * `export *` and duplicate export names (error_* fields say where). Syntax errors are not
 * detected here: the text is passed through and the engine reports them. */
int module_transform(const char *source, size_t len, module_script *out);

/* Frees the fields, not m; safe on a zeroed or failed one. */
void module_script_free(module_script *m);

#endif
