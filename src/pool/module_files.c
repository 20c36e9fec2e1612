/* module_files.c — jsp_module_loader_files: resolves import specifiers to files under one
 * root directory, as Node resolves ES modules (relative paths, node_modules packages with
 * package.json "exports" / "module" / "main"), and reads them. Confinement is by real
 * path: whatever the specifier, symlinks or "..", a file whose realpath() is not inside
 * the root's is refused. Not for: CommonJS (`require`), subpath patterns in "exports", import
 * maps, URLs. */
#include "jspool.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_MODULE_BYTES (64u << 20)

static char *format(const char *fmt, ...)
{
    char buf[PATH_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return strdup(buf);
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool join(char *out, const char *dir, const char *rel)
{
    return snprintf(out, PATH_MAX, "%s/%s", dir, rel) < PATH_MAX;
}

/* An "exports" value for one subpath: a string, or conditions (nested) of which
 * "import", "module", "browser" (jspool has web APIs, not Node's built-ins) and "default"
 * apply, in the object's order; with for_require, also
 * "require" and "node" (the second look, for a package that exports only CommonJS). */
static const char *exports_target(json_t *v, bool for_require)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_array(v)) { /* fallbacks: the first that is usable */
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            const char *t = exports_target(e, for_require);
            if (t)
                return t;
        }
        return NULL;
    }
    if (!json_is_object(v))
        return NULL;
    const char *key;
    json_t *e;
    json_object_foreach(v, key, e) {
        if (strcmp(key, "import") == 0 || strcmp(key, "module") == 0 ||
            strcmp(key, "browser") == 0 || strcmp(key, "default") == 0 ||
            (for_require && (strcmp(key, "require") == 0 || strcmp(key, "node") == 0))) {
            const char *t = exports_target(e, for_require);
            if (t)
                return t;
        }
    }
    return NULL;
}

/* The ES module entry when the package has one, else its CommonJS one. */
static const char *exports_entry(json_t *v)
{
    const char *t = exports_target(v, false);
    return t ? t : exports_target(v, true);
}

/* The file a package's subpath (".", or "./x") names, relative to the package dir;
 * NULL with *why when the package does not export it. */
static const char *package_entry(json_t *pkg, const char *subpath, const char **why)
{
    json_t *exports = json_object_get(pkg, "exports");
    if (exports) {
        bool has_subpaths = false;
        if (json_is_object(exports)) {
            const char *key;
            json_t *e;
            json_object_foreach(exports, key, e) {
                has_subpaths = key[0] == '.';
                break;
            }
        }
        const char *t = NULL;
        if (has_subpaths)
            t = exports_entry(json_object_get(exports, subpath));
        else if (strcmp(subpath, ".") == 0)
            t = exports_entry(exports);
        if (!t)
            *why = "the package's \"exports\" does not export this path";
        return t;
    }
    if (strcmp(subpath, ".") != 0)
        return subpath; /* no "exports": any file of the package */
    const char *fields[] = {"module", "main"};
    for (size_t i = 0; i < 2; i++) {
        json_t *f = json_object_get(pkg, fields[i]);
        if (json_is_string(f) && json_string_length(f))
            return json_string_value(f);
    }
    return "index.js";
}

static bool resolve_path(const char *path, char *out, int depth);

/* A directory as a module: its package.json's entry, else index.js / index.mjs. */
static bool resolve_directory(const char *dir, char *out, int depth)
{
    char p[PATH_MAX];
    if (join(p, dir, "package.json") && is_file(p) && depth < 4) {
        json_t *pkg = json_load_file(p, 0, NULL);
        const char *why = NULL;
        const char *entry = pkg ? package_entry(pkg, ".", &why) : NULL;
        bool ok = entry && join(p, dir, entry) && resolve_path(p, out, depth + 1);
        json_decref(pkg);
        if (ok)
            return true;
    }
    return (join(p, dir, "index.js") && resolve_path(p, out, depth + 1)) ||
           (join(p, dir, "index.mjs") && resolve_path(p, out, depth + 1));
}

/* The exact file, else with an extension added, else a directory's entry. */
static bool resolve_path(const char *path, char *out, int depth)
{
    if (is_file(path)) {
        snprintf(out, PATH_MAX, "%s", path);
        return true;
    }
    static const char *const extensions[] = {".js", ".mjs", ".json"};
    for (size_t i = 0; i < 3; i++) {
        char p[PATH_MAX];
        if (snprintf(p, sizeof p, "%s%s", path, extensions[i]) < PATH_MAX && is_file(p)) {
            snprintf(out, PATH_MAX, "%s", p);
            return true;
        }
    }
    return depth < 8 && is_dir(path) && resolve_directory(path, out, depth + 1);
}

/* "pkg/sub" or "@scope/pkg/sub" in node_modules of dir and each parent up to root. */
static bool resolve_bare(const char *root, const char *from_dir, const char *specifier,
                         char *out, char **error)
{
    const char *slash = strchr(specifier, '/');
    if (specifier[0] == '@' && slash)
        slash = strchr(slash + 1, '/');
    size_t name_len = slash ? (size_t)(slash - specifier) : strlen(specifier);
    char subpath[PATH_MAX];
    snprintf(subpath, sizeof subpath, ".%s", slash ? slash : "");
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", from_dir);
    size_t root_len = strlen(root);
    for (;;) {
        char pkg_dir[PATH_MAX];
        if (snprintf(pkg_dir, sizeof pkg_dir, "%s/node_modules/%.*s", dir, (int)name_len,
                     specifier) < PATH_MAX && is_dir(pkg_dir)) {
            char p[PATH_MAX];
            json_t *pkg = join(p, pkg_dir, "package.json") ? json_load_file(p, 0, NULL) : NULL;
            const char *why = NULL;
            const char *entry = pkg ? package_entry(pkg, subpath, &why)
                                    : strcmp(subpath, ".") == 0 ? "index.js" : subpath;
            bool ok = entry && join(p, pkg_dir, entry) && resolve_path(p, out, 0);
            json_decref(pkg);
            if (ok)
                return true;
            *error = format("package %.*s in %s: %s", (int)name_len, specifier, pkg_dir,
                            why ? why : "its entry file does not exist");
            return false;
        }
        if (strlen(dir) <= root_len) /* the root's node_modules was the last */
            break;
        char *last = strrchr(dir, '/');
        if (!last || last == dir)
            break;
        *last = '\0';
    }
    *error = format("no node_modules/%.*s in its directory or any parent up to the module root",
                    (int)name_len, specifier);
    return false;
}

static char *read_file(const char *path, size_t *len, char **error)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *error = format("cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (cap - n < 65536) {
            cap = cap ? cap * 2 : 65536;
            if (cap > MAX_MODULE_BYTES + 65536u) {
                *error = format("%s is over %u MiB", path, MAX_MODULE_BYTES >> 20);
                break;
            }
            char *p = realloc(buf, cap + 1);
            if (!p)
                break;
            buf = p;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            fclose(f);
            buf[n] = '\0';
            *len = n;
            return buf;
        }
    }
    fclose(f);
    free(buf);
    return NULL;
}

/* Only source files are modules: an import('./.env') or import('./token') once ran the
 * file as JS and its text came back in the ReferenceError (an attacker's review). So a
 * module file ends in .js, .mjs, .cjs or .json and no part of its path under the root starts
 * with a dot (.env, .git/, .npmrc). */
static bool is_module_file(const char *under_root)
{
    for (const char *c = under_root; *c; c++)
        if (c[0] == '/' && c[1] == '.')
            return false;
    const char *dot = strrchr(under_root, '.');
    return dot && strchr(dot, '/') == NULL &&
           (strcmp(dot, ".js") == 0 || strcmp(dot, ".mjs") == 0 || strcmp(dot, ".cjs") == 0 ||
            strcmp(dot, ".json") == 0);
}

/* One message for a missing file, a file outside the root and a file that is not a module,
 * so that the answer does not tell a module which paths exist outside its root. */
static char *not_a_module_file(const char *specifier)
{
    return format("'%s' is not a module file under the module root (missing, outside the module "
                  "root, a dotfile, or not .js/.mjs/.cjs/.json)", specifier);
}

int jsp_module_loader_files(void *root_dir, const char *specifier, const char *referrer,
                            char **name, char **source, size_t *source_len, char **error)
{
    *name = *source = *error = NULL;
    char root[PATH_MAX], from_dir[PATH_MAX], found[PATH_MAX], real[PATH_MAX];
    if (!root_dir || !specifier || !realpath((const char *)root_dir, root)) {
        *error = format("the module root %s cannot be used", root_dir ? (const char *)root_dir : "(none)");
        return JSP_EINVAL;
    }
    if (referrer) {
        snprintf(from_dir, sizeof from_dir, "%s", referrer);
        char *last = strrchr(from_dir, '/');
        if (last && last != from_dir)
            *last = '\0';
    } else {
        snprintf(from_dir, sizeof from_dir, "%s", root);
    }
    bool ok;
    if (specifier[0] == '.' || specifier[0] == '/') {
        char p[PATH_MAX];
        if (specifier[0] == '/')
            snprintf(p, sizeof p, "%s", specifier);
        else if (!join(p, from_dir, specifier))
            p[0] = '\0';
        ok = p[0] && resolve_path(p, found, 0);
        if (!ok)
            *error = not_a_module_file(specifier);
    } else if (strchr(specifier, ':') || specifier[0] == '\0' ||
               (specifier[0] == '@' && !strchr(specifier, '/'))) {
        *error = format("'%s' is not a relative path or package name (built-in modules and URLs are not supported)", specifier);
        ok = false;
    } else {
        ok = resolve_bare(root, from_dir, specifier, found, error);
    }
    if (!ok)
        return JSP_ENOTFOUND;
    size_t root_len = strlen(root);
    if (!realpath(found, real) ||
        !(strncmp(real, root, root_len) == 0 && (real[root_len] == '/' || root_len == 1)) ||
        !is_module_file(real + root_len)) {
        free(*error);
        *error = not_a_module_file(specifier);
        return JSP_EMODULE;
    }
    *source = read_file(real, source_len, error);
    if (!*source)
        return *error ? JSP_EMODULE : JSP_ENOMEM;
    *name = strdup(real);
    if (!*name) {
        free(*source);
        *source = NULL;
        return JSP_ENOMEM;
    }
    return 0;
}

char *jsp_module_root_for_file(const char *path)
{
    char dir[PATH_MAX], p[PATH_MAX];
    if (!path || !realpath(path, dir))
        return NULL;
    char *last = strrchr(dir, '/');
    if (last == dir)
        dir[1] = '\0'; /* a file in / */
    else if (last)
        *last = '\0';
    char candidate[PATH_MAX];
    snprintf(candidate, sizeof candidate, "%s", dir);
    for (;;) {
        if (join(p, candidate, "package.json") && is_file(p))
            return strdup(candidate);
        char *slash = strrchr(candidate, '/');
        if (!slash || slash == candidate)
            break;
        *slash = '\0';
    }
    return strdup(dir);
}
